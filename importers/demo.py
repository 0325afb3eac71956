"""A synthetic but realistic scenario: trafficking networks across French cities and ports, seen
by police, gendarmerie and customs, each pushing its own cases — with the same phones, bank
accounts and plates turning up in more than one agency's data, so deconfliction has work.

    for agency, batch, nodes in generate(size=10_000, seed=7):
        ...  # batch is a POST /v1/ingest body for that agency's token

The world is cut into *scenes*: one criminal network and its surroundings (import channel
through a port or airport, wholesale/logistics, retail deal points, laundering cell). Every
tenth scene is an import channel; the scenes after it buy from it (a supplier's phone in
their call records) or launder for it (its bank account in their transfers). Each scene is
investigated by one to three agencies; each agency pushes its own *view*: its own refs and
spelling of the same people, a subset of the identifiers, written in its own format.

Everything is a pure function of (seed, scene index): the same seed gives the same batches,
any scene can name another scene's identifier without keeping it in memory, and memory stays
bounded whatever the size (one scene at a time, plus the batches being filled).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

AGENCIES = ("police", "gendarmerie", "douane")
CASE_PREFIX = {"police": "PN", "gendarmerie": "GN", "douane": "DNRED"}
PERSON_PREFIX = {"police": "PN-IND", "gendarmerie": "GN-PERS", "douane": "DNRED-PP"}
SOURCE_SYSTEM = {"police": "LRPPN", "gendarmerie": "LRPGN", "douane": "SILCF"}


@dataclass(frozen=True)
class City:
    name: str
    insee: str
    lat: float
    lon: float
    jirs: str
    port: str = ""  # a seaport or airport of import, when the city has one
    airport: bool = False

    @property
    def department(self) -> str:
        """The département code: two characters of the INSEE code (2A, 2B for Corsica), three overseas (972)."""
        return self.insee[:3] if self.insee.startswith("97") else self.insee[:2]


CITIES: tuple[City, ...] = (
    City("Marseille", "13055", 43.2965, 5.3698, "JIRS de Marseille", "Grand port maritime de Marseille-Fos"),
    City("Le Havre", "76351", 49.4944, 0.1079, "JIRS de Rennes", "Port du Havre"),
    City("Dunkerque", "59183", 51.0344, 2.3768, "JIRS de Lille", "Port de Dunkerque"),
    City("Saint-Nazaire", "44184", 47.2735, -2.2138, "JIRS de Rennes", "Port de Nantes-Saint-Nazaire"),
    City("Fort-de-France", "97209", 14.6161, -61.0588, "JIRS de Fort-de-France", "Port de Fort-de-France"),
    City("Roissy-en-France", "95527", 49.0097, 2.5479, "JIRS de Paris", "Aéroport Paris-Charles-de-Gaulle",
         airport=True),
    City("Lille", "59350", 50.6292, 3.0573, "JIRS de Lille"),
    City("Roubaix", "59512", 50.6942, 3.1746, "JIRS de Lille"),
    City("Lyon", "69123", 45.7640, 4.8357, "JIRS de Lyon"),
    City("Vénissieux", "69259", 45.6975, 4.8867, "JIRS de Lyon"),
    City("Grenoble", "38185", 45.1885, 5.7245, "JIRS de Lyon"),
    City("Paris", "75056", 48.8566, 2.3522, "JIRS de Paris"),
    City("Saint-Denis", "93066", 48.9362, 2.3574, "JIRS de Paris"),
    City("Sevran", "93071", 48.9386, 2.5275, "JIRS de Paris"),
    City("Aubervilliers", "93001", 48.9146, 2.3821, "JIRS de Paris"),
    City("Toulouse", "31555", 43.6047, 1.4442, "JIRS de Bordeaux"),
    City("Bordeaux", "33063", 44.8378, -0.5792, "JIRS de Bordeaux"),
    City("Nantes", "44109", 47.2184, -1.5536, "JIRS de Rennes"),
    City("Rennes", "35238", 48.1173, -1.6778, "JIRS de Rennes"),
    City("Nîmes", "30189", 43.8367, 4.3601, "JIRS de Marseille"),
    City("Montpellier", "34172", 43.6108, 3.8767, "JIRS de Marseille"),
    City("Nice", "06088", 43.7102, 7.2620, "JIRS de Marseille"),
    City("Perpignan", "66136", 42.6887, 2.8948, "JIRS de Marseille"),
    City("Strasbourg", "67482", 48.5734, 7.7521, "JIRS de Nancy"),
)
PORT_CITIES = tuple(c for c in CITIES if c.port)
RETAIL_CITIES = tuple(c for c in CITIES if not c.port)

FIRST_NAMES = (
    "Karim", "Mehdi", "Yanis", "Sofiane", "Nabil", "Kevin", "Thomas", "Jordan", "Mamadou", "Moussa",
    "Ibrahim", "Lucas", "Nicolas", "Julien", "Rachid", "Samir", "Bilal", "Ilyes", "Anthony", "Dylan",
    "Sarah", "Inès", "Nadia", "Laura", "Fatou", "Amina", "Jessica", "Yasmine", "Kamel", "Farid",
    "Younes", "Hamza", "Enzo", "Mathieu", "Stéphane", "Olivier", "Rui", "Diego", "Pablo", "Jérôme",
    "Sébastien", "Abdel", "Ousmane", "Cédric", "Ludovic", "Nordine", "Adama", "Rayan", "Wassim", "Océane",
)
LAST_NAMES = (
    "Benali", "Haddad", "Martin", "Bernard", "Dubois", "Diallo", "Traoré", "Cissé", "Petit", "Moreau",
    "Mansouri", "Bouzid", "Cherif", "Garcia", "Fernandez", "Lopez", "Rodriguez", "Da Silva", "Pereira",
    "Lefebvre", "Leroy", "Roux", "Fontaine", "Mercier", "Belkacem", "Amrani", "Zerrouki", "Koné", "Camara",
    "N'Diaye", "Rossi", "Santini", "Colonna", "Meziane", "Boukhari", "Laurent", "Girard", "Bonnet", "Sanchez",
    "Ait Ahmed", "Kaddour", "Hamidi", "Guerin", "Vasseur", "Caron", "Ferreira", "Lambert", "Chevalier",
)
ALIASES = (
    "Le Chat", "Tonton", "Le Gros", "Bébé", "Cheval", "La Fouine", "Le Grec", "Mimi", "Kiki", "Le Blanc",
    "Pitbull", "Le Vieux", "Petit Prince", "Tata", "Le Comptable", "Sniper", "La Gazelle", "Le Roi",
    "Titi", "Le Marin", "Lunettes", "Le Chauve", "Pirate", "Le Docteur", "Bambino", "Le Boss",
)
PLACE_NAMES = (
    "Cité des Acacias", "Résidence Les Lilas", "Allée des Peupliers", "Cité du Moulin", "Square des Tilleuls",
    "Tour 12, Les Hauts-Champs", "Résidence du Parc", "Cité des Fleurs", "Place du Marché", "Les Jardins du Canal",
    "Cité de la Gare", "Résidence Bellevue", "Hall 4, Les Érables", "Parking du centre commercial",
    "Passage des Artisans", "Cité des Castors", "Les Terrasses du Sud", "Rue des Cerisiers",
)
STREETS = ("rue de la République", "avenue Jean-Jaurès", "boulevard Victor-Hugo", "rue Pasteur", "rue du Port",
           "avenue de la Gare", "rue des Écoles", "chemin des Vignes", "quai de la Marine", "rue Gambetta")
COMPANY_WORDS = ("Transports", "Import-Export", "Négoce", "Services", "Logistique", "Holding", "Auto",
                 "BTP", "Primeurs", "Textile", "Bazar", "Snack", "Location", "Conseil", "Nettoyage")
COMPANY_NAMES = ("Atlas", "Méditerranée", "Horizon", "Phénix", "Azur", "Nord", "Océan", "Étoile",
                 "Sud-Express", "Alpha", "Delta", "Rivage", "Capitale", "Oasis", "Levant", "Ponant")
BANKS = ("30004", "30003", "30002", "10278", "20041", "16006", "17515", "11306", "18206", "13335")
FOREIGN_ACCOUNTS = (("ES", "21000418", 10), ("BE", "539", 7), ("LU", "001", 13))
CONTAINER_OWNERS = ("MSC", "CMA", "MAE", "HLX", "CSQ", "ONE", "EVR", "ZIM")
JURISDICTION_LABEL = "Tribunal judiciaire — "

PHONE_STYLES = {  # how each agency's system writes a French mobile number
    "police": lambda d: f"0{d[0]} {d[1:3]} {d[3:5]} {d[5:7]} {d[7:9]}",
    "gendarmerie": lambda d: f"+33 {d[0]} {d[1:3]} {d[3:5]} {d[5:7]} {d[7:9]}",
    "douane": lambda d: f"0033{d}",
}

LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"  # SIV plates use no I, O, U
_PRIME = 2_147_483_647


class DemoBatch(NamedTuple):
    agency: str
    batch: dict[str, Any]
    nodes: int  # how many distinct new nodes this batch brings (its share of the size budget)


# -- identifiers: pure functions of (seed, scene, k), unique per (scene, k) ---------------------

def _perm(seed: int, scene: int, k: int, space: int, salt: int, stride: int = 64) -> int:
    """A bijection of scene*stride+k onto [0, space): distinct (scene, k) never collide.
    (Phones: 10**8 / 64 = 1.5 million scenes, about 50 million nodes.)"""
    x = scene * stride + k
    if x >= space:
        raise ValueError("demo identifier space exhausted: use a smaller size")
    return (x * _PRIME + seed * 7919 + salt * 104_729) % space


def phone_digits(seed: int, scene: int, k: int) -> str:
    mobile = "67"[k % 2]
    return f"{mobile}{_perm(seed, scene, k, 10**8, 1):08d}"


def phone(seed: int, scene: int, k: int, agency: str) -> str:
    return PHONE_STYLES[agency](phone_digits(seed, scene, k))


def fr_iban(bank: str, branch: str, account: str) -> str:
    key = 97 - ((89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97)
    bban = f"{bank}{branch}{account}{key:02d}"
    number = int("".join(str(int(c, 36)) for c in bban + "FR00"))
    return f"FR{98 - number % 97:02d}{bban}"


def iban(seed: int, scene: int, k: int, foreign: bool = False) -> str:
    """A valid IBAN, compact. Foreign ones (for laundering) in Spain, Belgium, Luxembourg."""
    n = _perm(seed, scene, k, 10**11, 2)
    if foreign:
        country, bank, width = FOREIGN_ACCOUNTS[n % len(FOREIGN_ACCOUNTS)]
        account = f"{n:0{width}d}"[-width:]
        bban = f"{bank}{account}"
        if country == "BE":
            bban += f"{(int(bban) % 97) or 97:02d}"
        elif country == "ES":
            bban = f"{bank}{_es_check(bank, account)}{account}"
        number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
        return f"{country}{98 - number % 97:02d}{bban}"
    return fr_iban(BANKS[n % len(BANKS)], f"{n % 99991:05d}", f"{n:011d}")


def _es_check(bank: str, account: str) -> str:
    weights = (1, 2, 4, 8, 5, 10, 9, 7, 3, 6)

    def digit(digits: str) -> int:
        total = sum(int(d) * w for d, w in zip(digits.rjust(10, "0"), weights, strict=True))
        value = 11 - total % 11
        return {10: 1, 11: 0}.get(value, value)

    return f"{digit('00' + bank)}{digit(account)}"


def spaced(value: str) -> str:
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4))


def plate(seed: int, scene: int, k: int) -> str:
    """A French SIV plate AA-123-AA."""
    space = len(LETTERS) ** 4 * 999
    n = _perm(seed, scene, k, space, 3)
    digits, n = n % 999 + 1, n // 999
    letters = ""
    for _ in range(4):
        letters += LETTERS[n % len(LETTERS)]
        n //= len(LETTERS)
    return f"{letters[:2]}-{digits:03d}-{letters[2:]}"


def container(seed: int, scene: int, k: int) -> str:
    """An ISO 6346 container number with its check digit."""
    n = _perm(seed, scene, k - 60, 10**6 * len(CONTAINER_OWNERS), 4, stride=4)  # k is 60..62
    code = CONTAINER_OWNERS[n % len(CONTAINER_OWNERS)] + "U" + f"{n // len(CONTAINER_OWNERS):06d}"
    values = []
    for ch in code:
        if ch.isdigit():
            values.append(int(ch))
        else:
            v = ord(ch) - ord("A") + 10
            values.append(v + (v - 1) // 10)  # multiples of 11 are skipped in ISO 6346
    check = sum(v * 2**i for i, v in enumerate(values)) % 11 % 10
    return f"{code}{check}"


def wallet(seed: int, scene: int, k: int) -> str:
    digest = hashlib.sha256(f"{seed}:{scene}:{k}".encode()).hexdigest()
    return "0x" + digest[:40]


def email(seed: int, scene: int, k: int, first: str, last: str) -> str:
    n = _perm(seed, scene, k, 10**8, 5)
    simple = "".join(c for c in f"{first}.{last}".lower() if c.isascii() and (c.isalnum() or c == "."))
    domain = ("protonmail.com", "gmail.com", "outlook.fr", "tutanota.com")[n % 4]
    return f"{simple}{n}@{domain}"


# -- a scene, then each agency's view of it ---------------------------------------------------

@dataclass
class Member:
    key: int
    first: str
    last: str
    birth: str
    aliases: list[str]
    nationality: str
    role: str
    phones: list[int]
    vehicle: int | None = None
    account: int | None = None
    wallet: int | None = None
    email: bool = False


@dataclass
class Scene:
    index: int
    kind: str  # import_channel, wholesale, retail_point, laundering_cell
    city: City
    agencies: list[str]
    name: str
    members: list[Member]
    opened: dt.date
    line_phones: list[int] = field(default_factory=list)
    companies: list[tuple[str, str]] = field(default_factory=list)  # (name, SIREN)
    company_accounts: list[int] = field(default_factory=list)
    foreign_accounts: list[int] = field(default_factory=list)
    containers: list[int] = field(default_factory=list)
    supplier: int | None = None


def scene_kind(index: int) -> str:
    slot = index % 10
    if slot == 0:
        return "import_channel"
    if slot == 5:
        return "wholesale"
    if slot in (3, 8):
        return "laundering_cell"
    return "retail_point"


def supplier_of(index: int) -> int | None:
    """Retail buys from the wholesale of its decade (or the import channel before it); wholesale
    and laundering work for the import channel of their decade."""
    kind, base = scene_kind(index), index - index % 10
    if kind == "import_channel":
        return None
    if kind == "retail_point" and index % 10 > 5:
        return base + 5
    return base


def _siren(n: int) -> str:
    digits = f"{n % 10**8:08d}"
    return digits + _luhn_digit(digits)


def _luhn_digit(digits: str) -> str:
    """The check digit (rightmost, not doubled) that makes `digits` + it pass Luhn (SIREN, IMEI)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _agencies(rng: random.Random, kind: str) -> list[str]:
    weights = {
        "import_channel": (15, 10, 75),
        "wholesale": (30, 50, 20),
        "retail_point": (75, 25, 0),
        "laundering_cell": (40, 25, 35),
    }[kind]
    primary = rng.choices(AGENCIES, weights=weights)[0]
    chosen = [primary]
    p_second = {"import_channel": 0.5, "wholesale": 0.35, "retail_point": 0.15, "laundering_cell": 0.4}[kind]
    if rng.random() < p_second:
        chosen.append(rng.choice([a for a in AGENCIES if a != primary]))
        if rng.random() < 0.25:
            chosen.append(next(a for a in AGENCIES if a not in chosen))
    return chosen


ROLES = {
    "import_channel": ("head", "lieutenant", "courier", "courier", "logistics", "launderer"),
    "wholesale": ("head", "lieutenant", "courier", "courier", "stash_keeper"),
    "retail_point": ("head", "lieutenant", "seller", "seller", "lookout", "lookout", "stash_keeper"),
    "laundering_cell": ("head", "launderer", "launderer", "courier"),
}
MEMBER_COUNT = {"import_channel": (4, 8), "wholesale": (3, 7), "retail_point": (5, 12), "laundering_cell": (3, 6)}


def build_scene(seed: int, index: int) -> Scene:
    rng = random.Random(f"ofast-demo:{seed}:{index}")
    kind = scene_kind(index)
    city = rng.choice(PORT_CITIES if kind == "import_channel" else CITIES if kind != "retail_point"
                      else RETAIL_CITIES)
    family = rng.choice(LAST_NAMES)
    name = {
        "import_channel": f"Filière {family} ({city.port})",
        "wholesale": f"Réseau {family} — semi-grossistes {city.name}",
        "retail_point": f"Point de deal {rng.choice(PLACE_NAMES)} ({city.name})",
        "laundering_cell": f"Cellule de blanchiment {rng.choice(COMPANY_NAMES)} ({city.name})",
    }[kind]
    lo, hi = MEMBER_COUNT[kind]
    members: list[Member] = []
    roles = ROLES[kind]
    for i in range(rng.randint(lo, hi)):
        role = roles[i] if i < len(roles) else rng.choice(roles[1:])
        role = role if role != "logistics" else "courier"
        last = family if i == 0 or rng.random() < 0.2 else rng.choice(LAST_NAMES)
        age = rng.randint(17, 55) if role != "head" else rng.randint(28, 60)
        birth = dt.date(2025 - age, rng.randint(1, 12), rng.randint(1, 28)).isoformat()
        aliases = rng.sample(ALIASES, rng.choice((0, 1, 1, 2)))
        nationality = rng.choices(("FR", "DZ", "MA", "ES", "SN", "NL", "CO", "BE"),
                                  weights=(70, 8, 8, 4, 3, 3, 2, 2))[0]
        phones = [i] + ([20 + i] if rng.random() < 0.35 else [])  # a second "burner" line
        member = Member(i, rng.choice(FIRST_NAMES), last, birth, aliases, nationality, role, phones)
        if rng.random() < (0.6 if kind in ("import_channel", "wholesale") else 0.3):
            member.vehicle = i
        if role in ("head", "launderer") or rng.random() < 0.25:
            member.account = i
        if kind == "laundering_cell" and rng.random() < 0.4:
            member.wallet = i
        member.email = rng.random() < 0.2
        members.append(member)
    opened = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randint(0, 6 * 365))
    scene = Scene(index, kind, city, _agencies(rng, kind), name, members, opened, supplier=supplier_of(index))
    if kind in ("retail_point", "wholesale"):
        scene.line_phones = [40 + j for j in range(rng.randint(1, 2))]  # the "ligne" customers call
    if kind in ("laundering_cell", "import_channel") or rng.random() < 0.1:
        n_companies = rng.randint(1, 3) if kind == "laundering_cell" else 1
        for j in range(n_companies):
            words = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_NAMES)}"
            scene.companies.append((f"SARL {words}" if j % 2 == 0 else f"SAS {words}",
                                    _siren(_perm(seed, index, 50 + j, 10**8, 6))))
            scene.company_accounts.append(50 + j)
    if kind == "laundering_cell":
        scene.foreign_accounts = [56 + j for j in range(rng.randint(1, 3))]
    if kind == "import_channel":
        scene.containers = [60 + j for j in range(rng.randint(1, 3))]
    # A supplier's identifiers must be pushed by its own scene: keep its first phone and account.
    scene.members[0].phones = sorted(set(scene.members[0].phones) | {0})
    scene.members[0].account = 0
    return scene


class _View:
    """One agency's batch items for one scene."""

    def __init__(self, seed: int, scene: Scene, agency: str, primary: bool) -> None:
        self.seed, self.scene, self.agency = seed, scene, agency
        self.rng = random.Random(f"ofast-demo:{seed}:{scene.index}:{agency}")
        self.entities: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.primary = primary
        self.owned = 0
        self.identifiers: set[tuple[str, str]] = set()  # (type, canonical key) this view names
        self.written: dict[tuple[str, str], str] = {}
        self.link_keys: set[tuple[str, ...]] = set()
        self.tag = f"{CASE_PREFIX[agency]}-{scene.opened.year}-{scene.index:07d}"

    # items
    def entity(self, type_: str, ref: str, props: dict[str, Any], sharing: str | None = None) -> dict[str, str]:
        item: dict[str, Any] = {"type": type_, "ref": ref}
        if sharing:
            item["sharing"] = sharing
        clean = {k: v for k, v in props.items() if v is not None and v != []}
        if clean:
            item["properties"] = clean
        self.entities.append(item)
        self.owned += 1
        return {"type": type_, "ref": ref}

    def identifier(self, type_: str, ref: str, key: str, props: dict[str, Any] | None = None) -> dict[str, str]:
        # One spelling per identifier within a view, so that a repeated link is seen as such.
        written = self.written.get((type_, key))
        if written is None:
            written = self.written[(type_, key)] = ref
            self.identifiers.add((type_, key))
            item: dict[str, Any] = {"type": type_, "ref": ref}
            if props:
                item["properties"] = props
            self.entities.append(item)
        return {"type": type_, "ref": written}

    def link(self, type_: str, src: dict[str, str], dst: dict[str, str], props: dict[str, Any] | None = None,
             sharing: str | None = None, ref: str | None = None) -> None:
        # The service refuses a batch naming the same link twice: the first mention stands.
        key = (type_, src["type"], src["ref"], dst["type"], dst["ref"], ref or "")
        if key in self.link_keys:
            return
        self.link_keys.add(key)
        item: dict[str, Any] = {"type": type_, "from": src, "to": dst}
        if sharing:
            item["sharing"] = sharing
        if ref:
            item["ref"] = ref
        clean = {k: v for k, v in (props or {}).items() if v is not None}
        if clean:
            item["properties"] = clean
        self.links.append(item)

    def sharing(self, confidential: float = 0.03, open_: float = 0.07) -> str | None:
        x = self.rng.random()
        if x < confidential:
            return "confidential"
        if x < confidential + open_:
            return "open"
        return None  # the default: restricted

    # identifier helpers: each agency writes them its own way; the service normalises
    def phone(self, scene: int, k: int) -> dict[str, str]:
        style = self.agency if self.rng.random() < 0.85 else self.rng.choice(AGENCIES)
        return self.identifier("Phone", phone(self.seed, scene, k, style), f"{scene}:{k}")

    def account(self, scene: int, k: int, foreign: bool = False) -> dict[str, str]:
        value = iban(self.seed, scene, k, foreign)
        written = spaced(value) if self.agency != "douane" else value.lower()
        return self.identifier("BankAccount", written, f"{scene}:{k}")

    def vehicle(self, scene: int, k: int) -> dict[str, str]:
        value = plate(self.seed, scene, k)
        written = {"police": value, "gendarmerie": value.replace("-", " "), "douane": value.replace("-", "")}
        return self.identifier("Vehicle", written[self.agency], f"{scene}:{k}", {"kind": "car"})

    def near(self, spread: float = 0.03) -> tuple[float, float]:
        c = self.scene.city
        return (round(c.lat + self.rng.uniform(-spread, spread), 6),
                round(c.lon + self.rng.uniform(-spread, spread) / max(0.2, math.cos(math.radians(c.lat))), 6))


def _person_props(view: _View, m: Member) -> dict[str, Any]:
    """The agency's record of a member: spellings and completeness differ between services."""
    rng = view.rng
    first, last, aliases = m.first, m.last, list(m.aliases)
    birth: str | None = m.birth
    if view.agency == "gendarmerie":
        last = last.upper()
    if not view.primary and rng.random() < 0.3:
        first = first.encode("ascii", "ignore").decode() or first  # accents lost in another system
    if rng.random() < 0.15:
        birth = None  # unknown to this service
    if not view.primary and rng.random() < 0.3:
        aliases = aliases[:1]
    return {"first_name": first, "last_name": last, "aliases": aliases, "birth_date": birth,
            "nationality": m.nationality}


def build_view(seed: int, scene: Scene, agency: str) -> _View:
    primary = agency == scene.agencies[0]
    view = _View(seed, scene, agency, primary)
    rng, s, city = view.rng, scene.index, scene.city
    tag = view.tag
    case_sharing = "confidential" if rng.random() < 0.04 else None
    case = view.entity("Case", tag, {
        "reference": tag, "title": f"Trafic de stupéfiants — {scene.name}",
        "opened_at": (scene.opened + dt.timedelta(days=0 if primary else rng.randint(30, 400))).isoformat(),
        "status": rng.choices(("open", "judicial", "closed", "archived"), weights=(60, 28, 9, 3))[0],
        "jurisdiction": city.jirs if rng.random() < 0.7 else f"{JURISDICTION_LABEL}{city.name}",
    }, case_sharing)
    network_kind = scene.kind if scene.kind != "wholesale" or rng.random() < 0.7 else "logistics"
    network = view.entity("Network", f"{tag}-NET", {
        "name": scene.name, "kind": network_kind, "territory": f"{city.name} ({city.department})"},
        view.sharing(open_=0.15))

    # Who this agency knows: the primary most of the network, the others a part of it.
    share = 0.85 if primary else 0.5
    known = [m for m in scene.members if m.key == 0 or rng.random() < share]
    persons: dict[int, dict[str, str]] = {}
    for m in known:
        sharing = "confidential" if m.role == "head" and case_sharing else view.sharing()
        ref = f"{PERSON_PREFIX[agency]}-{s}-{m.key}"
        p = persons[m.key] = view.entity("Person", ref, _person_props(view, m), sharing)
        view.link("INVOLVED_IN", p, case, {"role": "suspect"})
        view.link("MEMBER_OF", p, network, {"role": m.role})
        for k in m.phones:
            if k == 0 or rng.random() < 0.8:
                view.link("USES", p, view.phone(s, k), {"since": (scene.opened - dt.timedelta(
                    days=rng.randint(10, 700))).isoformat()})
        if m.vehicle is not None and rng.random() < 0.8:
            vehicle = view.vehicle(s, m.vehicle)
            view.link("USES", p, vehicle)
            if rng.random() < 0.5:
                view.link("OWNS", p, vehicle)
        if m.account is not None and (m.account == 0 or rng.random() < 0.75):
            view.link("HOLDS", p, view.account(s, m.account))
        if m.wallet is not None:
            ident = view.identifier("CryptoWallet", wallet(seed, s, m.wallet), f"{s}:w{m.wallet}")
            view.link("USES", p, ident)
        if m.email:
            address = email(seed, s, m.key, m.first, m.last)
            view.link("USES", p, view.identifier("Email", address, f"{s}:e{m.key}"))
    # An informant now and then: always confidential.
    if primary and rng.random() < 0.05:
        informant = view.entity("Person", f"{PERSON_PREFIX[agency]}-{s}-SRC",
                                {"first_name": rng.choice(FIRST_NAMES), "last_name": rng.choice(LAST_NAMES)},
                                "confidential")
        view.link("INVOLVED_IN", informant, case, {"role": "informant"}, "confidential")
    keys = sorted(persons)
    for a, b in itertools.pairwise(keys):
        if rng.random() < 0.3:
            view.link("ASSOCIATE_OF", persons[a], persons[b], {"nature": rng.choice(
                ("famille", "voisinage", "détention commune", "associés", "amis d'enfance"))})

    # Phones the network answers on, and the calls that tie the scene to its supplier.
    for k in scene.line_phones:
        if primary or rng.random() < 0.5:
            view.link("USES", network, view.phone(s, k))
    head_phone = view.phone(s, 0)
    if scene.supplier is not None and (primary or rng.random() < 0.6):
        supplier_phone = view.phone(scene.supplier, 0)
        first = dt.datetime(scene.opened.year, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randint(0, 500_000))
        view.link("CALLED", head_phone, supplier_phone, {
            "count": rng.randint(3, 400), "first": first.isoformat(),
            "last": (first + dt.timedelta(days=rng.randint(1, 300))).isoformat()})
    member_phones = [(m.key, m.phones[0]) for m in known if m.key != 0]
    for _, k in rng.sample(member_phones, min(len(member_phones), 3)):
        first = dt.datetime(scene.opened.year, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randint(0, 500_000))
        view.link("CALLED", view.phone(s, k), head_phone, {
            "count": rng.randint(1, 200), "first": first.isoformat(),
            "last": (first + dt.timedelta(days=rng.randint(1, 200))).isoformat()})

    _places(view, network, persons, case)
    _companies(view, network, persons)
    _seizures(view, network, persons, case)
    _assets(view, network, persons)
    return view


def _places(view: _View, network: dict[str, str], persons: dict[int, dict[str, str]], case: dict[str, str]) -> None:
    rng, scene, tag = view.rng, view.scene, view.tag
    city = scene.city
    if scene.kind == "import_channel":
        lat, lon = view.near(0.01)
        port = view.entity("Location", f"{tag}-PORT", {
            "kind": "airport" if city.airport else "port", "label": city.port, "lat": lat, "lon": lon,
            "insee_code": city.insee}, "open")
        view.link("OPERATES", network, port)
    if scene.kind in ("retail_point", "wholesale") or rng.random() < 0.3:
        n_points = rng.randint(1, 3) if scene.kind == "retail_point" else 1
        for j in range(n_points):
            lat, lon = view.near()
            kind = "deal_point" if scene.kind == "retail_point" else "storage"
            label = (f"{rng.choice(PLACE_NAMES)}, {city.name}" if kind == "deal_point"
                     else f"Box {rng.randint(1, 300)}, {rng.choice(STREETS)}, {city.name}")
            point = view.entity("Location", f"{tag}-LOC{j}", {
                "kind": kind, "label": label, "lat": lat, "lon": lon, "insee_code": city.insee}, view.sharing())
            view.link("OPERATES", network, point)
    for key, person in persons.items():
        if rng.random() < 0.3:
            lat, lon = view.near(0.05)
            home = view.entity("Location", f"{tag}-ADR{key}", {
                "kind": "address", "label": f"{rng.randint(1, 120)} {rng.choice(STREETS)}, {city.name}",
                "lat": lat, "lon": lon, "insee_code": city.insee})
            view.link("LOCATED_AT", person, home)


def _companies(view: _View, network: dict[str, str], persons: dict[int, dict[str, str]]) -> None:
    rng, scene, s = view.rng, view.scene, view.scene.index
    if not scene.companies:
        return
    accounts = [view.account(s, k) for k in scene.company_accounts]
    foreign = [view.account(s, k, foreign=True) for k in scene.foreign_accounts]
    for j, (name, siren) in enumerate(scene.companies):
        if not view.primary and rng.random() < 0.4:
            continue
        company = view.entity("Company", f"{view.tag}-PM{j}", {
            "name": name, "registration_number": siren, "country": "FR"}, view.sharing())
        view.link("HOLDS", company, accounts[j])
        view.link("OWNS", network, company)
        managers = [p for k, p in persons.items() if k == 0 or rng.random() < 0.3]
        for person in managers[:2]:
            view.link("CONTROLS", person, company, {"role": rng.choice(("gérant", "gérant de fait", "associé"))})
    # Money moving: the supplier's account pays in, the cell's accounts layer it, abroad it goes.
    chain = [*accounts, *foreign]
    if scene.supplier is not None and scene.kind == "laundering_cell":
        chain.insert(0, view.account(scene.supplier, 0))
    for t in range(len(chain) - 1):
        for n in range(rng.randint(1, 3)):
            day = scene.opened + dt.timedelta(days=rng.randint(0, 500))
            view.link("TRANSFERRED", chain[t], chain[t + 1], {
                "amount_eur": round(rng.uniform(2_000, 150_000), 2), "date": day.isoformat()},
                ref=f"{view.tag}-VIR{t}-{n}")


DRUGS = {
    "import_channel": (("cocaine", 70), ("cannabis_resin", 20), ("heroin", 5), ("synthetic_cathinones", 5)),
    "wholesale": (("cannabis_resin", 55), ("herbal_cannabis", 25), ("cocaine", 15), ("mdma", 5)),
    "retail_point": (("cannabis_resin", 40), ("herbal_cannabis", 25), ("cocaine", 20), ("crack", 7),
                     ("heroin", 4), ("mdma", 2), ("nps", 2)),
    "laundering_cell": (("cocaine", 100),),
}


def _seizures(view: _View, network: dict[str, str], persons: dict[int, dict[str, str]],
              case: dict[str, str]) -> None:
    rng, scene, s = view.rng, view.scene, view.scene.index
    if scene.kind == "laundering_cell" and rng.random() < 0.8:
        return
    drugs, weights = zip(*DRUGS[scene.kind], strict=True)
    for j in range(rng.choice((0, 1, 1, 2, 3))):
        drug = rng.choices(drugs, weights=weights)[0]
        if scene.kind == "import_channel":
            quantity, unit = round(rng.uniform(20, 2000), 1), "kg"
            method = "air" if scene.city.airport else "container"
        elif scene.kind == "wholesale":
            quantity, unit, method = round(rng.uniform(10, 3000), 1), "kg", rng.choice(("road", "road", "postal"))
        elif drug == "mdma" and rng.random() < 0.5:
            quantity, unit, method = float(rng.randint(20, 2000)), "doses", "street"
        else:
            quantity, unit, method = round(rng.uniform(5, 900), 1), "g", "street"
        day = scene.opened + dt.timedelta(days=rng.randint(0, 400))
        seizure = view.entity("Seizure", f"{view.tag}-SAI{j}", {
            "date": day.isoformat(), "drug": drug, "quantity": quantity, "unit": unit, "method": method,
            "place": scene.city.port if method in ("container", "air") else scene.city.name}, view.sharing())
        view.link("SEIZED_IN", seizure, case)
        view.link("SEIZED_FROM", seizure, network)
        if persons and rng.random() < 0.6:
            view.link("SEIZED_FROM", seizure, rng.choice(list(persons.values())))
        if method == "container" and scene.containers:
            k = rng.choice(scene.containers)
            box = view.identifier("Vehicle", container(view.seed, s, k), f"{s}:c{k}", {"kind": "container"})
            view.link("SEIZED_FROM", seizure, box)
            view.link("USES", network, box)
        elif method == "road":
            members_with_cars = [m for m in scene.members if m.vehicle is not None]
            if members_with_cars:
                m = rng.choice(members_with_cars)
                view.link("SEIZED_FROM", seizure, view.vehicle(s, m.vehicle or 0))


ASSETS = (("real_estate", 120_000, 900_000, "Appartement"), ("vehicle", 15_000, 160_000, "Véhicule de luxe"),
          ("cash", 5_000, 600_000, "Numéraire"), ("bank_balance", 1_000, 300_000, "Solde bancaire"),
          ("crypto", 2_000, 400_000, "Portefeuille crypto"), ("business", 30_000, 500_000, "Fonds de commerce"),
          ("luxury", 5_000, 120_000, "Montres et bijoux"))


def _assets(view: _View, network: dict[str, str], persons: dict[int, dict[str, str]]) -> None:
    rng, scene = view.rng, view.scene
    count = rng.choice((0, 0, 1, 2)) + (2 if scene.kind == "laundering_cell" else 0)
    for j in range(count):
        kind, lo, hi, label = rng.choice(ASSETS)
        asset = view.entity("Asset", f"{view.tag}-PAT{j}", {
            "kind": kind, "label": f"{label} — {scene.city.name}", "value_eur": round(rng.uniform(lo, hi), -2),
            "status": rng.choices(("identified", "seized", "confiscated"), weights=(55, 35, 10))[0]},
            view.sharing())
        owner = rng.choice(list(persons.values())) if persons and rng.random() < 0.7 else network
        view.link("OWNS", owner, asset)


# -- the public generator ----------------------------------------------------------------------

@dataclass
class DemoStats:
    scenes: int = 0
    nodes: int = 0
    by_agency: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    links: int = 0
    shared_in_scene: int = 0  # identifiers named by two or more agencies within a scene
    multi_agency_scenes: int = 0


def generate(size: int, seed: int = 42, *, batch_items: int = 2000,
             stats: DemoStats | None = None) -> Iterator[DemoBatch]:
    """Yield `(agency, batch, nodes)` until about `size` distinct nodes have been produced.

    Each batch is self-contained (every link's ends travel in the same batch), so batches may
    be pushed concurrently and in any order. Deterministic for a given (size, seed, batch_items).
    """
    if size < 1:
        return
    stats = stats if stats is not None else DemoStats()
    pending: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {a: ([], []) for a in AGENCIES}
    pending_nodes: Counter[str] = Counter()
    index = 0
    while stats.nodes < size:
        scene = build_scene(seed, index)
        seen: dict[tuple[str, str], set[str]] = {}
        for agency in scene.agencies:
            view = build_view(seed, scene, agency)
            new_identifiers = 0
            for key in view.identifiers:
                if key not in seen:
                    seen[key] = set()
                    # A supplier's identifiers were counted with their own scene.
                    if key[1].split(":")[0] == str(scene.index):
                        new_identifiers += 1
                seen[key].add(agency)
            nodes = view.owned + new_identifiers
            entities, links = pending[agency]
            entities.extend(view.entities)
            links.extend(view.links)
            pending_nodes[agency] += nodes
            stats.nodes += nodes
            stats.by_agency[agency] += view.owned
            stats.by_type.update(e["type"] for e in view.entities)
            stats.links += len(view.links)
            if len(entities) + len(links) >= batch_items:
                yield DemoBatch(agency, {"entities": entities, "links": links}, pending_nodes.pop(agency))
                pending[agency] = ([], [])
        stats.scenes += 1
        stats.multi_agency_scenes += len(scene.agencies) > 1
        stats.shared_in_scene += sum(1 for agencies in seen.values() if len(agencies) > 1)
        index += 1
    for agency in AGENCIES:
        entities, links = pending[agency]
        if entities or links:
            yield DemoBatch(agency, {"entities": entities, "links": links}, pending_nodes.pop(agency, 0))


# -- events: the scenes' phone records, plate reads and transfers ---------------------------------
#
# For each scene its primary agency's requisitions (CDR) over two weeks around its first seizure,
# the plate reads and transfers of whoever else investigates it. Only identifiers the primary
# agency's view already names are used (they exist once the scenes are pushed), plus what events
# bring of their own: handsets, the head's two replacement SIMs, cell sites and readers — counted
# exactly, so the demo's node accounting stays exact.

# Calls by hour of the day (Paris time): quiet nights, busy evenings.
HOUR_WEIGHTS = (3, 2, 1, 1, 1, 1, 2, 3, 4, 5, 5, 6, 6, 5, 5, 6, 7, 9, 11, 13, 14, 13, 9, 5)
PARIS = "Europe/Paris"
TACS = ("35209900", "35391110", "35875605", "86753104", "35332811")  # makers' type allocation codes
OPERATORS = (("Orange", "01"), ("SFR", "10"), ("Free", "15"), ("Bouygues Telecom", "20"))
CELLS_PER_CITY = 6
WINDOW_DAYS = 14
SWAP_PHONES = (32, 33)  # phone keys of the head's replacement SIMs (free in _perm's stride)


class EventBatch(NamedTuple):
    agency: str
    events: list[dict[str, Any]]  # a POST /v1/events body's "events"


@dataclass
class EventStats:
    events: Counter[str] = field(default_factory=Counter)  # by kind
    by_agency: Counter[str] = field(default_factory=Counter)
    nodes: int = 0  # handsets, replacement SIMs, cell sites and readers the events bring


def imei(seed: int, scene: int, k: int) -> str:
    """A valid IMEI (TAC, serial, Luhn check digit), written as handsets print it."""
    n = _perm(seed, scene, k, len(TACS) * 10**6, 7)
    body = f"{TACS[n % len(TACS)]}{n // len(TACS):06d}"
    return f"{body[:2]}-{body[2:8]}-{body[8:]}-{_luhn_digit(body)}"


def cell(city: City, j: int) -> dict[str, Any]:
    """Cell site `j` of a city (j = CELLS_PER_CITY is the port's): the same everywhere it is named."""
    rng = random.Random(f"ofast-demo-cell:{city.insee}:{j}")
    name, mnc = OPERATORS[j % len(OPERATORS)]
    spread = 0.004 if j == CELLS_PER_CITY else 0.03
    return {"ref": f"208-{mnc}-{10_000 + CITIES.index(city) * 10 + j}-{rng.randint(1000, 65535)}",
            "operator": name, "lat": round(city.lat + rng.uniform(-spread, spread), 5),
            "lon": round(city.lon + rng.uniform(-spread, spread), 5), "azimuth": float(rng.choice((0, 120, 240)))}


def reader(city: City, at_port: bool) -> dict[str, Any]:
    rng = random.Random(f"ofast-demo-reader:{city.insee}:{at_port}")
    return {"ref": f"LAPI-{city.insee}-{'PORT' if at_port else 'RN'}",
            "lat": round(city.lat + rng.uniform(-0.02, 0.02), 5), "lon": round(city.lon + rng.uniform(-0.02, 0.02), 5)}


class _EventView:
    """The events of one scene, by agency."""

    def __init__(self, seed: int, scene: Scene, view: _View) -> None:
        self.seed, self.scene, self.view = seed, scene, view
        self.rng = random.Random(f"ofast-demo-events:{seed}:{scene.index}")
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.places: set[tuple[str, str]] = set()  # (agency, place ref)
        self.handsets: set[str] = set()
        self.swap_phones: set[int] = set()

    def at(self, moment: dt.datetime) -> str:
        return moment.isoformat()

    def local(self, day: dt.date, hour: int, minute: int, second: int = 0) -> dt.datetime:
        from importers.events_import import localise  # the importer's reading of local times

        naive = dt.datetime(day.year, day.month, day.day, hour, minute, second)
        try:
            return localise(naive, PARIS)
        except ValueError:  # the spring-forward hour: an hour later is the same wall clock reading
            return localise(naive + dt.timedelta(hours=1), PARIS)

    def sharing(self) -> str | None:
        x = self.rng.random()
        return "confidential" if x < 0.04 else "open" if x < 0.16 else None

    def add(self, agency: str, event: dict[str, Any]) -> None:
        sharing = self.sharing()
        if sharing:
            event["sharing"] = sharing
        place = event.get("cell") or event.get("reader")
        if place is not None:
            self.places.add((agency, place["ref"].replace(" ", "").upper()))
        self.events.setdefault(agency, []).append(event)

    def call(self, agency: str, src: tuple[int, int], dst: tuple[int, int], moment: dt.datetime,
             place: dict[str, Any] | None = None, mode: str | None = None, handset_key: int | None = None) -> None:
        """A call from phone `src` to `dst`, each (scene, k); the caller's handset and cell with it."""
        mode = mode or self.rng.choices(("voice", "sms", "data"), weights=(60, 35, 5))[0]
        event: dict[str, Any] = {
            "kind": "call", "at": self.at(moment), "mode": mode,
            "from": {"type": "Phone", "ref": phone(self.seed, *src, agency)},
            "to": {"type": "Phone", "ref": phone(self.seed, *dst, agency)}}
        if mode == "voice":
            event["duration_s"] = int(self.rng.expovariate(1 / 90)) + 3
        if src[0] == self.scene.index:  # our phones' handsets and cells; a supplier's are its own scene's
            key = src[1] if handset_key is None else handset_key
            event["handset"] = imei(self.seed, src[0], key)
            self.handsets.add(event["handset"])
            event["cell"] = place or cell(self.scene.city, self.rng.randrange(CELLS_PER_CITY))
        self.add(agency, event)


def _named(view: _View, type_: str, scene: int, k: int) -> bool:
    return (type_, f"{scene}:{k}") in view.identifiers


def build_events(seed: int, scene: Scene) -> _EventView:
    """A scene's events: daily rhythms, a burst around each seizure, the head's two SIM changes in
    one handset, couriers at the port's cell and their vehicles at its reader within minutes, and
    repeated transfers just under the 10,000 EUR reporting threshold."""
    view = build_view(seed, scene, scene.agencies[0])
    ev = _EventView(seed, scene, view)
    rng, s = ev.rng, scene.index
    cdr_agency = scene.agencies[0]
    other_agency = scene.agencies[1] if len(scene.agencies) > 1 else cdr_agency
    seizures = sorted(dt.date.fromisoformat(e["properties"]["date"]) for e in view.entities
                      if e["type"] == "Seizure")
    anchor = seizures[0] if seizures else scene.opened + dt.timedelta(days=60)
    start = anchor - dt.timedelta(days=WINDOW_DAYS - 3)
    members = [m for m in scene.members if m.key != 0 and _named(view, "Phone", s, m.phones[0])]
    head = (s, 0)

    def head_phone(day: int) -> tuple[int, int]:
        # The head changes SIM twice in the window, keeping the handset: three numbers, one IMEI.
        third = WINDOW_DAYS // 3
        if day < third:
            return head
        key = SWAP_PHONES[0] if day < 2 * third else SWAP_PHONES[1]
        ev.swap_phones.add(key)
        return (s, key)

    def random_time(day: dt.date) -> dt.datetime:
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        return ev.local(day, hour, rng.randrange(60), rng.randrange(60))

    supplier = (scene.supplier, 0) if scene.supplier is not None and _named(view, "Phone", scene.supplier, 0) \
        else None
    for d in range(WINDOW_DAYS):
        day = start + dt.timedelta(days=d)
        for _ in range(rng.randint(1, 3) if members else 0):
            m = rng.choice(members)
            pair = ((s, m.phones[0]), head_phone(d))
            src, dst = pair if rng.random() < 0.6 else pair[::-1]
            ev.call(cdr_agency, src, dst, random_time(day), handset_key=0 if src[1] in (0, *SWAP_PHONES) else None)
        if supplier is not None and rng.random() < 0.4:
            ev.call(cdr_agency, head_phone(d), supplier, random_time(day), handset_key=0)
    # The night before each seizure in the window, and the morning after: the phones light up.
    for seizure in seizures:
        if not start <= seizure < start + dt.timedelta(days=WINDOW_DAYS):
            continue
        d = (seizure - start).days
        eve = ev.local(seizure - dt.timedelta(days=1), 21, 0)
        for n in range(rng.randint(6, 12)):
            moment = eve + dt.timedelta(minutes=rng.randint(0, 14 * 60))
            other = (s, rng.choice(members).phones[0]) if members and (supplier is None or n % 3) else supplier
            if other is not None:
                ev.call(cdr_agency, head_phone(d), other, moment, handset_key=0)
    _port_run(ev, view, members, start, cdr_agency, other_agency)
    _transfers(ev, view, start, other_agency)
    return ev


def _port_run(ev: _EventView, view: _View, members: list[Member], start: dt.date, cdr_agency: str,
              other_agency: str) -> None:
    """Couriers at the port: their phones on the port's cell minutes apart, their vehicles read by
    the port's reader minutes apart, and the reader on the road out of town later that night."""
    scene, rng, s = ev.scene, ev.rng, ev.scene.index
    if scene.kind != "import_channel":
        return
    couriers = [m for m in members if m.role == "courier"]
    port_cell = cell(scene.city, CELLS_PER_CITY)
    for night in (2, 6, 9):
        arrival = ev.local(start + dt.timedelta(days=night), 23, rng.randrange(30))
        for j, m in enumerate(couriers[:3]):
            ev.call(cdr_agency, (s, m.phones[0]), (s, 0) if j else (s, couriers[-1].phones[0]),
                    arrival + dt.timedelta(minutes=3 * j + rng.randrange(3)), place=port_cell, mode="voice")
        vehicles = [m.vehicle for m in scene.members if m.vehicle is not None and _named(view, "Vehicle", s, m.vehicle)]
        for j, k in enumerate(vehicles[:2]):
            seen = arrival + dt.timedelta(minutes=5 + 4 * j)
            for place, later in ((reader(scene.city, True), 0), (reader(scene.city, False), 40 + rng.randrange(20))):
                ev.add(other_agency, {"kind": "plate_read", "at": ev.at(seen + dt.timedelta(minutes=later)),
                                      "vehicle": plate(ev.seed, s, k), "reader": place})


def _transfers(ev: _EventView, view: _View, start: dt.date, agency: str) -> None:
    """Money moving between the scene's accounts: the same pairs again and again, often just under
    10,000 EUR; some as a value date only."""
    scene, rng, s = ev.scene, ev.rng, ev.scene.index
    accounts: list[tuple[int, int, bool]] = [(s, m.account, False) for m in scene.members
                                             if m.account is not None and _named(view, "BankAccount", s, m.account)]
    accounts += [(s, k, False) for k in scene.company_accounts if _named(view, "BankAccount", s, k)]
    accounts += [(s, k, True) for k in scene.foreign_accounts if _named(view, "BankAccount", s, k)]
    if len(accounts) < 2:
        return
    pairs = [(accounts[i], accounts[i + 1]) for i in range(len(accounts) - 1)][:3]
    for p, (src, dst) in enumerate(pairs):
        for n in range(rng.randint(3, 6)):
            day = start + dt.timedelta(days=rng.randrange(WINDOW_DAYS))
            amount = round(rng.uniform(9_000, 9_990), 2) if rng.random() < 0.7 else round(rng.uniform(500, 60_000), 2)
            at = day.isoformat() if n % 2 else ev.at(ev.local(day, rng.randint(8, 18), rng.randrange(60)))
            ev.add(agency, {"kind": "transfer", "ref": f"{view.tag}-TRF{p}-{n}", "at": at,
                            "from": {"type": "BankAccount", "ref": iban(ev.seed, *src)},
                            "to": {"type": "BankAccount", "ref": iban(ev.seed, *dst)},
                            "amount_eur": amount, "reference": rng.choice(
                                ("loyer", "facture", "prestation", "remboursement", "avance", "achat véhicule"))})


def generate_events(seed: int, scenes: int, *, batch_events: int = 2000,
                    stats: EventStats | None = None) -> Iterator[EventBatch]:
    """Yield `(agency, events)` for the first `scenes` scenes of `generate(…, seed)` (its
    `DemoStats.scenes`), in batches of about `batch_events`; deterministic per (seed, scenes)."""
    stats = stats if stats is not None else EventStats()
    pending: dict[str, list[dict[str, Any]]] = {a: [] for a in AGENCIES}
    places: set[tuple[str, str]] = set()  # cells and readers are shared by the scenes of a city
    for index in range(scenes):
        scene = build_scene(seed, index)
        ev = build_events(seed, scene)
        new_places = ev.places - places
        places |= new_places
        stats.nodes += len(new_places) + len(ev.handsets) + len(ev.swap_phones)
        for agency, events in ev.events.items():
            stats.events.update(e["kind"] for e in events)
            stats.by_agency[agency] += len(events)
            pending[agency].extend(events)
            if len(pending[agency]) >= batch_events:
                yield EventBatch(agency, pending[agency])
                pending[agency] = []
    for agency in AGENCIES:
        if pending[agency]:
            yield EventBatch(agency, pending[agency])
