"""FollowTheMoney (FtM) entities onto the ofast-graph schema.

Input: JSON lines of FtM entities (`{"id", "schema", "properties"}`, as `proxy.to_dict()` and the
`ftm` tools write them). The FtM entity id becomes our `ref`, so importing a file twice
changes nothing. Two passes over the file: the first learns what every id becomes (a link
such as Ownership names its ends by id, possibly further down the file), the second maps and
pushes.

| FtM | ofast-graph |
| --- | --- |
| Person | Person (firstName/lastName, else `name` split; alias, weakAlias, more names -> aliases; |
|        | birthDate; nationality) |
| Company, Organization | Company (name, registrationNumber, country/jurisdiction) |
| Organization with a `crime*` topic | Network (name, kind other) |
| BankAccount | BankAccount identifier (iban, else accountNumber) |
| Vehicle, Vessel, Airplane | Vehicle identifier (registrationNumber, Vessel imoNumber; kind car/boat/aircraft) |
| Address | Location (kind address, label = full, lat/lon) |
| phone, email of a Person (or Network) | Phone, Email identifiers + USES |
| addressEntity, address | Location + LOCATED_AT |
| Ownership | OWNS owner -> asset, share = percentage / 100, since/until = startDate/endDate |
|           | (HOLDS when the asset is a bank account) |
| Directorship | CONTROLS director -> organization, role, since/until = startDate/endDate |
| Membership | MEMBER_OF, only when the organization is a Network |
| Payment | a `transfer` event (POST /v1/events) payerAccount -> beneficiaryAccount (or the |
|         | payer's/beneficiary's only account), at its date, amountEur (else an amount in EUR) |
| Vehicle.owner | OWNS owner -> Vehicle |

A payment is a dated record of money moving, as a bank's: an event, so money flows and the
laundering indicators see it with the transfers of bank statements (the TRANSFERRED link between
the two accounts is the service's aggregate of them). A transfer names accounts or wallets only
and needs a date and an amount in euros: a payment without them is reported as not mapped. An
ownership or a directorship is a state that lasts, not an instant: it stays the OWNS / CONTROLS
link patrimony walks, its start and end dates kept on the link (`since`, `until`).

The correspondences both directions share (schemata, ends, same-meaning properties) are
declared in graph_schema.ftm, which the export uses too. Whether a link may join two types is
read from graph_schema (e.g. USES does not allow Company -> Phone, so a company's phone is
reported as not mapped). Everything that is not
mapped — a whole entity, a link whose ends are unknown, a value that is not valid, an FtM
property we have no place for — is counted per schema and reported, never silently dropped.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from followthemoney import model
from followthemoney.exc import FollowTheMoneyException
from followthemoney.proxy import EntityProxy

from graph_schema import Schema, get_schema
from graph_schema.ftm import LINKS as FTM_LINKS
from graph_schema.ftm import NODES as FTM_NODES
from graph_schema.ftm import FtmLink
from graph_schema.normalise import IdentifierError, normalise
from importers.loader import BatchWriter, CountingLines, ImportSummary, numbered

ROLE_WORDS = {
    "head": "head", "chef": "head", "leader": "head", "boss": "head",
    "lieutenant": "lieutenant", "courier": "courier", "mule": "courier", "lookout": "lookout",
    "guetteur": "lookout", "stash_keeper": "stash_keeper", "nourrice": "stash_keeper",
    "seller": "seller", "dealer": "seller", "vendeur": "seller", "launderer": "launderer",
}
VEHICLE_KINDS = {"Vessel": "boat", "Airplane": "aircraft"}
CAR_WORDS = ("car", "voiture", "van", "truck", "camion", "motorcycle", "moto", "suv")
# The FtM interval schemata this import reads, as graph_schema.ftm declares them.
OWNERSHIP, DIRECTORSHIP = FTM_LINKS["OWNS"], FTM_LINKS["CONTROLS"]
MEMBERSHIP, PAYMENT = FTM_LINKS["MEMBER_OF"], FTM_LINKS["TRANSFERRED"]
TRANSFER = "transfer"  # the event kind a Payment becomes (graph_schema: events)


@dataclass(frozen=True)
class End:
    type: str
    ref: str

    def as_end(self) -> dict[str, str]:
        return {"type": self.type, "ref": self.ref}


@dataclass
class FtmStats:
    """Per FtM schema: how many were read, mapped and not; why; which properties had no place."""

    seen: Counter[str] = field(default_factory=Counter)
    mapped: Counter[str] = field(default_factory=Counter)
    unmapped: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    parts: Counter[str] = field(default_factory=Counter)
    dropped_properties: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"seen": dict(self.seen), "mapped": dict(self.mapped), "unmapped": dict(self.unmapped),
                "reasons": dict(self.reasons), "parts": dict(self.parts),
                "dropped_properties": dict(self.dropped_properties)}


def _get(proxy: EntityProxy, prop: str) -> list[str]:
    """The values of a property; [] when this schema has no such property (Vehicle vs Vessel)."""
    values: list[str] = proxy.get(prop, quiet=True)
    return values


def _first(proxy: EntityProxy, prop: str) -> str | None:
    value: str | None = proxy.first(prop, quiet=True)
    return value


def _values(proxy: EntityProxy, props: tuple[str, ...]) -> list[str]:
    """The values of several properties, in their order."""
    return [value for prop in props for value in _get(proxy, prop)]


def _same(proxy: EntityProxy, type_: str) -> dict[str, Any]:
    """Our properties of `type_` that an FtM property means the same as: its first value each."""
    return {ours: _first(proxy, theirs) for ours, theirs in FTM_NODES[type_].properties.items()}


def _date(values: list[str]) -> str | None:
    """The first full date (YYYY-MM-DD); FtM also has partial ones ("1991", "1991-03")."""
    for value in values:
        try:
            return dt.date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            continue
    return None


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.replace(",", ".").replace(" ", ""))
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def split_name(name: str) -> tuple[str | None, str | None]:
    """"Karim Benali" -> (Karim, Benali); "BENALI Karim" -> (Karim, BENALI); "Benali" -> (None, Benali)."""
    tokens = name.split()
    if not tokens:
        return None, None
    upper = [t for t in tokens if len(t) > 1 and t.isupper()]
    if upper and len(upper) < len(tokens):
        return " ".join(t for t in tokens if t not in upper), " ".join(upper)
    if len(tokens) == 1:
        return None, tokens[0]
    return tokens[0], " ".join(tokens[1:])


class FtmMapper:
    """Maps FtM proxies to ingest items. Call `learn` on every entity first, then `map`."""

    # FtM properties each schema's mapping reads; any other property with a value is reported.
    CARRIED: dict[str, frozenset[str]] = {
        "Person": frozenset({"name", "firstName", "lastName", "alias", "weakAlias", "birthDate", "nationality",
                             "citizenship", "phone", "email", "addressEntity", "address"}),
        "Company": frozenset({"name", "alias", "registrationNumber", "country", "jurisdiction", "phone", "email",
                              "addressEntity", "address"}),
        "BankAccount": frozenset({"iban", "accountNumber"}),
        "Vehicle": frozenset({"registrationNumber", "imoNumber", "type", "owner"}),
        "Address": frozenset({"full", "street", "postalCode", "city", "country", "latitude", "longitude"}),
        "Ownership": frozenset({"owner", "asset", "percentage", "role", "startDate", "endDate"}),
        "Directorship": frozenset({"director", "organization", "role", "startDate", "endDate"}),
        "Membership": frozenset({"member", "organization", "role"}),
        "Payment": frozenset({"payer", "beneficiary", "payerAccount", "beneficiaryAccount", "amount",
                              "amountEur", "currency", "date", "startDate", "purpose"}),
    }

    def __init__(self, schema: Schema | None = None, stats: FtmStats | None = None) -> None:
        self.schema = schema or get_schema()
        self.stats = stats or FtmStats()
        self.index: dict[str, End | None] = {}
        self.accounts: dict[str, list[str]] = defaultdict(list)  # holder FtM id -> account FtM ids

    # -- pass 1 ----------------------------------------------------------------------------
    def learn(self, proxy: EntityProxy) -> None:
        """Record what this entity becomes, so links further on can name it."""
        if proxy.id is None:
            return
        end = self._node_end(proxy)[0]
        self.index[proxy.id] = end
        if proxy.schema.is_a(OWNERSHIP.schema):
            for asset in _get(proxy, OWNERSHIP.target):
                for owner in _get(proxy, OWNERSHIP.source):
                    self.accounts[owner].append(asset)

    def _family(self, proxy: EntityProxy) -> str:
        """Which of our mappings applies: the FtM schema itself or the ancestor we map."""
        for name in ("Person", "Company", "Organization", "BankAccount", "Vehicle", "Address",
                     "Ownership", "Directorship", "Membership", "Payment"):
            if proxy.schema.is_a(name):
                return name
        return proxy.schema.name

    def _node_end(self, proxy: EntityProxy) -> tuple[End | None, str]:
        """(our node, "") or (None, why not) for a node-like FtM entity."""
        family = self._family(proxy)
        pid = proxy.id or ""
        if family == "Person":
            return End("Person", pid), ""
        if family == "Organization" and not proxy.schema.is_a("Company"):
            topics = _get(proxy, "topics")
            if any(t == "crime" or t.startswith("crime.") for t in topics):
                return End("Network", pid), ""
            return End("Company", pid), ""
        if family in ("Company", "Organization"):
            return End("Company", pid), ""
        if family in ("BankAccount", "Vehicle"):
            return self._identifier(family, _values(proxy, FTM_NODES[family].value))
        if family == "Address":
            return End("Location", pid), ""
        return None, f"no mapping for FtM schema {proxy.schema.name}"

    def _identifier(self, type_: str, values: list[str]) -> tuple[End | None, str]:
        node = self.schema.node(type_)
        if not values:
            return None, f"no value to key the {type_} on"
        try:
            return End(type_, normalise(node.normaliser or "", values[0])), ""
        except IdentifierError as exc:
            return None, f"{values[0]!r} is not a valid {type_}: {exc}"

    # -- pass 2 ----------------------------------------------------------------------------
    def map(self, proxy: EntityProxy, sharing: str | None
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """The entities, links and events this FtM entity becomes (any may be empty)."""
        schema_name = proxy.schema.name
        self.stats.seen[schema_name] += 1
        family = self._family(proxy)
        self._report_dropped(proxy, family)
        out = _Out(sharing, self.schema)
        if proxy.schema.edge or family in ("Ownership", "Directorship", "Membership", "Payment"):
            ok, reason = self._map_edge(proxy, family, out)
        else:
            ok, reason = self._map_node(proxy, family, out)
        if ok:
            self.stats.mapped[schema_name] += 1
        else:
            self.stats.unmapped[schema_name] += 1
            self.stats.reasons[f"{schema_name}: {reason}"] += 1
        return out.entities, out.links, out.events

    def _report_dropped(self, proxy: EntityProxy, family: str) -> None:
        carried = self.CARRIED.get("Company" if family == "Organization" else family)
        if carried is None:
            return  # the whole entity is reported as not mapped
        for prop in proxy.iterprops():
            if prop.name not in carried and prop.name != "topics" and proxy.get(prop):
                self.stats.dropped_properties[f"{proxy.schema.name}.{prop.name}"] += 1

    def _unmapped_part(self, proxy: EntityProxy, what: str, reason: str) -> None:
        self.stats.reasons[f"{proxy.schema.name}.{what}: {reason}"] += 1

    def _map_node(self, proxy: EntityProxy, family: str, out: _Out) -> tuple[bool, str]:
        end, reason = self._node_end(proxy)
        if end is None:
            return False, reason
        props: dict[str, Any] = {}
        if end.type == "Person":
            props = self._person(proxy)
        elif end.type in ("Company", "Network"):
            props = _same(proxy, end.type)
            if end.type == "Company":
                country = props["country"] or _first(proxy, "country")
                props["country"] = country.upper() if country else None
                extra = _get(proxy, "name")[1:] + _get(proxy, "alias")
                if extra:
                    self._unmapped_part(proxy, "alias", "Company has no alias property")
            else:
                props["kind"] = "other"
        elif end.type == "Location":
            props = self._address(proxy)
        elif end.type == "Vehicle":
            kind = VEHICLE_KINDS.get(proxy.schema.name)
            vtype = (_first(proxy, FTM_NODES["Vehicle"].properties["kind"]) or "").lower()
            if kind is None and any(word in vtype for word in CAR_WORDS):
                kind = "car"
            props = {"kind": kind}
        props = {k: v for k, v in props.items() if v not in (None, "", [])}
        out.entity(end, props)
        self.stats.parts[f"{proxy.schema.name} -> {end.type}"] += 1
        self._contacts(proxy, end, out)
        self._places(proxy, end, out)
        if end.type == "Vehicle":
            for owner_id in _get(proxy, "owner"):
                self._link(proxy, "OWNS", owner_id, end, {}, out, what="owner")
        return True, ""

    def _person(self, proxy: EntityProxy) -> dict[str, Any]:
        same = FTM_NODES["Person"].properties
        names = _get(proxy, "name")
        first, last = _first(proxy, same["first_name"]), _first(proxy, same["last_name"])
        if not first and not last and names:
            first, last = split_name(names[0])
            names = names[1:]
        elif names:
            # The full name is redundant with first/last; only further names are aliases.
            names = [n for n in names if n != " ".join(p for p in (first, last) if p)]
        aliases: list[str] = []
        for alias in _get(proxy, same["aliases"]) + _get(proxy, "weakAlias") + names:
            if alias not in aliases:
                aliases.append(alias)
        nationality = _first(proxy, same["nationality"]) or _first(proxy, "citizenship")
        birth = _get(proxy, same["birth_date"])
        if birth and _date(birth) is None:
            self._unmapped_part(proxy, same["birth_date"], "not a full date (YYYY-MM-DD)")
        return {"first_name": first, "last_name": last, "aliases": aliases[:100], "birth_date": _date(birth),
                "nationality": nationality.upper() if nationality else None}

    @staticmethod
    def _address(proxy: EntityProxy) -> dict[str, Any]:
        same = _same(proxy, "Location")
        label = same["label"]
        if not label:
            town = " ".join(p for p in (_first(proxy, "postalCode"), _first(proxy, "city")) if p)
            parts = [_first(proxy, "street"), town]
            label = ", ".join(p for p in parts if p) or proxy.caption
        return {"kind": "address", "label": label, "lat": _float(same["lat"]), "lon": _float(same["lon"])}

    def _contacts(self, proxy: EntityProxy, end: End, out: _Out) -> None:
        """phone / email -> identifier + USES, when the schema lets this type use one."""
        uses = self.schema.relationships.get("USES")
        for prop, type_ in (("phone", "Phone"), ("email", "Email")):
            for value in _get(proxy, prop):
                if uses is None or not uses.allows(end.type, type_):
                    self._unmapped_part(proxy, prop, f"USES does not allow {end.type} -> {type_}")
                    continue
                ident, reason = self._identifier(type_, [value])
                if ident is None:
                    self._unmapped_part(proxy, prop, reason)
                    continue
                out.entity(ident, {})
                out.link("USES", end, ident, {})
                self.stats.parts[f"{proxy.schema.name}.{prop} -> {type_} + USES"] += 1

    def _places(self, proxy: EntityProxy, end: End, out: _Out) -> None:
        """addressEntity / address text -> Location + LOCATED_AT, when the schema allows it."""
        located = self.schema.relationships.get("LOCATED_AT")
        if not _get(proxy, "addressEntity") and not _get(proxy, "address"):
            return
        if located is None or not located.allows(end.type, "Location"):
            for prop in ("addressEntity", "address"):
                if _get(proxy, prop):
                    self._unmapped_part(proxy, prop, f"LOCATED_AT does not allow {end.type} -> Location")
            return
        for address_id in _get(proxy, "addressEntity"):
            self._link(proxy, "LOCATED_AT", end, address_id, {}, out, what="addressEntity")
        if not _get(proxy, "addressEntity"):
            for n, text in enumerate(_get(proxy, "address")):
                place = End("Location", f"{proxy.id}#address-{n}")
                out.entity(place, {"kind": "address", "label": text})
                out.link("LOCATED_AT", end, place, {})
                self.stats.parts[f"{proxy.schema.name}.address -> Location + LOCATED_AT"] += 1

    def _resolve(self, ref: End | str) -> tuple[End | None, str]:
        if isinstance(ref, End):
            return ref, ""
        if ref not in self.index:
            return None, f"{ref!r} is not in the file"
        end = self.index[ref]
        if end is None:
            return None, f"{ref!r} is not mapped"
        return end, ""

    def _link(self, proxy: EntityProxy, rel: str, source: End | str, target: End | str,
              props: dict[str, Any], out: _Out, *, what: str, link_ref: str | None = None,
              fallback: str | None = None) -> tuple[bool, str]:
        src, why_src = self._resolve(source)
        dst, why_dst = self._resolve(target)
        if src is None or dst is None:
            reason = why_src or why_dst
            if what != "edge":  # an edge entity's own failure is counted by `map`
                self._unmapped_part(proxy, what, reason)
            return False, reason
        rel_type = self.schema.relationships.get(rel)
        if rel_type is None or not rel_type.allows(src.type, dst.type):
            if fallback and (alt := self.schema.relationships.get(fallback)) and alt.allows(src.type, dst.type):
                rel, props = fallback, {}
            else:
                reason = f"{rel} does not allow {src.type} -> {dst.type}"
                if what != "edge":
                    self._unmapped_part(proxy, what, reason)
                return False, reason
        props = {k: v for k, v in props.items() if v not in (None, "")}
        out.link(rel, src, dst, props, link_ref)
        self.stats.parts[f"{proxy.schema.name} -> {rel}"] += 1
        return True, ""

    def _map_edge(self, proxy: EntityProxy, family: str, out: _Out) -> tuple[bool, str]:
        pid = proxy.id or ""

        def first(prop: str) -> str | None:
            return _first(proxy, prop)
        if family == OWNERSHIP.schema:
            owner, asset = first(OWNERSHIP.source), first(OWNERSHIP.target)
            if not owner or not asset:
                return False, f"{OWNERSHIP.source} or {OWNERSHIP.target} missing"
            share = _float(first(OWNERSHIP.percent["share"]))
            share = share / 100 if share is not None and 0 <= share <= 100 else None
            return self._link(proxy, "OWNS", owner, asset, {"share": share, **self._interval(proxy, OWNERSHIP)}, out,
                              what="edge", link_ref=pid, fallback="HOLDS")
        if family == DIRECTORSHIP.schema:
            director, org = first(DIRECTORSHIP.source), first(DIRECTORSHIP.target)
            if not director or not org:
                return False, f"{DIRECTORSHIP.source} or {DIRECTORSHIP.target} missing"
            props = {"role": first(DIRECTORSHIP.properties["role"]), **self._interval(proxy, DIRECTORSHIP)}
            return self._link(proxy, "CONTROLS", director, org, props, out, what="edge", link_ref=pid)
        if family == MEMBERSHIP.schema:
            member, org = first(MEMBERSHIP.source), first(MEMBERSHIP.target)
            if not member or not org:
                return False, f"{MEMBERSHIP.source} or {MEMBERSHIP.target} missing"
            org_end, reason = self._resolve(org)
            if org_end is None:
                return False, f"organization {reason}"
            if org_end.type != "Network":
                return False, f"organization maps to {org_end.type}, not a Network"
            written = first(MEMBERSHIP.properties["role"])
            role = ROLE_WORDS.get((written or "").strip().lower().replace(" ", "_"))
            role = role or ("other" if written else None)
            return self._link(proxy, "MEMBER_OF", member, org_end, {"role": role}, out, what="edge", link_ref=pid)
        if family == PAYMENT.schema:
            return self._transfer(proxy, out)
        return False, f"no mapping for FtM schema {proxy.schema.name}"

    def _interval(self, proxy: EntityProxy, link: FtmLink) -> dict[str, str | None]:
        """An Ownership's or Directorship's start and end dates, as our `since` / `until` (full dates only)."""
        dates = {}
        for ours in ("since", "until"):
            theirs = link.properties[ours]
            written = _get(proxy, theirs)
            dates[ours] = _date(written)
            if written and dates[ours] is None:
                self._unmapped_part(proxy, theirs, "not a full date (YYYY-MM-DD)")
        return dates

    def _transfer(self, proxy: EntityProxy, out: _Out) -> tuple[bool, str]:
        """A Payment as one `transfer` event between two accounts, its id the event's ref (importing
        the file again changes nothing)."""
        payer = self._account(_first(proxy, PAYMENT.source), _first(proxy, "payer"))
        beneficiary = self._account(_first(proxy, PAYMENT.target), _first(proxy, "beneficiary"))
        if payer is None or beneficiary is None:
            return False, "payer or beneficiary account not resolvable"
        (src, why_src), (dst, why_dst) = self._resolve(payer), self._resolve(beneficiary)
        if src is None or dst is None:
            return False, why_src or why_dst
        parties = self.schema.events[TRANSFER].parties
        for end, side in ((src, "from"), (dst, "to")):
            if end.type not in parties[side].types:
                return False, f"a transfer's {side} is one of {', '.join(parties[side].types)}, not a {end.type}"
        amount = _float(_first(proxy, PAYMENT.properties["amount_eur"]))
        if amount is None and (_first(proxy, "currency") or "EUR").upper() == "EUR":
            amount = _float(_first(proxy, "amount"))
        if amount is None or amount <= 0:
            return False, "no amount in EUR above 0 (amountEur, or amount in currency EUR)"
        at = _date(_get(proxy, PAYMENT.properties["date"]) + _get(proxy, "startDate"))
        if at is None:
            return False, "no full date (YYYY-MM-DD): a transfer event needs one"
        event = {"kind": TRANSFER, "ref": (proxy.id or "")[:256], "at": at, "from": src.as_end(),
                 "to": dst.as_end(), "amount_eur": amount, "reference": _first(proxy, "purpose")}
        out.event({k: v for k, v in event.items() if v is not None})
        self.stats.parts[f"{proxy.schema.name} -> {TRANSFER} event"] += 1
        return True, ""

    def _account(self, account_id: str | None, party_id: str | None) -> str | None:
        """An FtM BankAccount id: the one named, else the party's only account in the file."""
        if account_id:
            return account_id
        if party_id:
            held = [a for a in self.accounts.get(party_id, []) if (e := self.index.get(a)) and e.type == "BankAccount"]
            if len(set(held)) == 1:
                return held[0]
        return None


class _Out:
    """Collects one FtM entity's items."""

    def __init__(self, sharing: str | None, schema: Schema) -> None:
        self.sharing = sharing
        self.schema = schema
        self.entities: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def entity(self, end: End, props: dict[str, Any]) -> None:
        item: dict[str, Any] = {"type": end.type, "ref": end.ref}
        if self.sharing and not self.schema.node(end.type).is_identifier:
            item["sharing"] = self.sharing
        if props:
            item["properties"] = props
        self.entities.append(item)

    def link(self, rel: str, src: End, dst: End, props: dict[str, Any], ref: str | None = None) -> None:
        item: dict[str, Any] = {"type": rel, "from": src.as_end(), "to": dst.as_end()}
        if self.sharing:
            item["sharing"] = self.sharing
        if ref:
            item["ref"] = ref[:256]
        if props:
            item["properties"] = props
        self.links.append(item)

    def event(self, event: dict[str, Any]) -> None:
        if self.sharing:
            event["sharing"] = self.sharing
        self.events.append(event)


def read_proxies(path: Path, summary: ImportSummary,
                 on_bytes: Callable[[int], None] | None = None) -> Iterator[tuple[str, EntityProxy]]:
    """(where, proxy) for each valid line; invalid lines are reported in the summary."""
    for line_no, line in numbered(CountingLines(str(path), on_bytes)):
        where = f"{path.name}:{line_no}"
        try:
            data = json.loads(line)
            proxy = model.get_proxy(data)
        except (ValueError, TypeError, FollowTheMoneyException) as exc:
            summary.problem(f"{where}: not an FtM entity: {exc}")
            continue
        if not proxy.id:
            summary.problem(f"{where}: an FtM entity without an id cannot be imported idempotently")
            continue
        yield where, proxy


def load_file(path: Path, writer: BatchWriter, stats: FtmStats, *, sharing: str | None = None,
              on_bytes: Callable[[int], None] | None = None) -> None:
    """Both passes over the file into the writer (the caller flushes it); `on_bytes` sees the
    file twice, so a progress bar's total is twice its size."""
    mapper = FtmMapper(writer.checker.schema if writer.checker else None, stats)
    scratch = ImportSummary()  # pass 1 must not report bad lines twice
    for _, proxy in read_proxies(path, scratch, on_bytes):
        mapper.learn(proxy)
    for where, proxy in read_proxies(path, writer.summary, on_bytes):
        entities, links, events = mapper.map(proxy, sharing)
        for entity in entities:
            writer.add_entity(entity, where)
        for link in links:
            writer.add_link(link, where)
        for event in events:
            writer.add_event(event, where)
