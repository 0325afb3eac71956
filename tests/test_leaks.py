"""The property-based leak test: no read endpoint shows an agency what it may not see.

Hypothesis generates small multi-agency graphs — entities of several types owned by police,
gendarmerie and douane with random sharing, links with random sharing, identifiers shared
between agencies, random grants and disseminations, objectives and priority targets — pushes them through the
API, then asks every read endpoint, as every agency, everything it can think of. Property
values and refs are unique marker strings, so a leak is a substring of the raw response body:

- no marker (ref, entity property, link property) of an entity or link the agency may not see
  in full appears anywhere in any of its responses;
- no id of an entity or link the agency may not know exists (confidential, no grant), nor of a
  link with such an end, appears at all — except an id the request itself named (a 404 may
  echo it).

Entities and links carry random handling codes (H3 with a marker note: content, never in a
stub) and evaluation codes; some Persons are minors (born 15 years ago), known to their owner
only: for every other agency, the central agency included (checked as a viewer whenever the
graph holds a minor), a minor is like a confidential item without grant — lookup's hit / no-hit
names the holder, and that is all. Stubs must show their handling code.

Events (calls, plate reads, transfers pushed through POST /v1/events, on the world's identifiers
and a few of their own, at shared cells and readers) follow the link rules: the ref, the handling
note, the transfer wording and the time (each one unique, a marker) of an event the agency may
not see in full never appear, nor its id — another agency's restricted events only count.

Watches: before the data is pushed, every agency watches every identifier and, by one of its
name markers, every other agency's entity; once the entities are in, every one it may know of.
The `watch_hit` alerts that the pushes raise are read like any alert (no marker, no unknown id),
and each must be owed to an item its agency may know exists, written by the agency it names
(`check_watch_hits`); an open or restricted item on a watched identifier must have raised one.
A watch's own words (its search, a marker) are echoed to its agency by GET /v1/watches only.

Webhooks: before the push, every agency's admin subscribes to every alert kind, to a receiver on
127.0.0.1; once the world is in, every due delivery is made (`check_webhook_payloads`). Each
agency's receiver gets each of its alerts exactly once (told apart by the signature), and no
payload holds a marker or an id its agency may not know — the read endpoints' property.

Read endpoints are listed in READ_ENDPOINTS; those not registered in the app are not exercised
(not skipped: they are simply not among the existing routes), and any other GET route under
/v1 is exercised generically, so a new endpoint is covered before anyone lists it.
`OFAST_GRAPH_LEAK_EXAMPLES` sets the number of generated graphs (default 12: each costs about fifteen
seconds on the 2-core machine and the whole test command has a 20-minute budget; generation is not
derandomised, so every run tries other worlds, and a nightly run can ask for hundreds).
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import itertools
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import neo4j
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph_schema import get_schema
from graph_schema.normalise import normalise
from service.api.routers.webhooks import KINDS as WEBHOOK_KINDS
from service.core import ids as core_ids
from service.domain.notifications import webhooks
from tests.builders import Auth, push
from tests.conftest import LEAK_REPORT, LeakReport, wipe
from tests.test_auth import api_routes
from tests.test_webhooks import Receiver

OWNERS = ("police", "gendarmerie", "douane")
VIEWERS = ("police", "gendarmerie", "douane")  # the central agency sees everything: nothing to leak
CENTRAL = "ofast"
SHARING = ("open", "restricted", "confidential")
EXAMPLES = int(os.environ.get("OFAST_GRAPH_LEAK_EXAMPLES", "12"))
SCHEMA = get_schema()
ENTITY_TYPES = sorted(SCHEMA.entity_types)
IDENT_VALUES = {  # raw values as partners write them; normalised server-side
    "Phone": lambda k: f"06 12 34 56 {k:02d}",
    "BankAccount": lambda k: f"ACCT-{k:06d}",
    "Vehicle": lambda k: f"AB-{k:03d}-CD",
    "Email": lambda k: f"contact{k}@example.org",
    "CryptoWallet": lambda k: f"0x{k:040x}",
}
IDENT_TYPES = sorted(t for t in SCHEMA.identifier_types if t in IDENT_VALUES)
STRING_TYPES = ("string", "text", "list[string]")
HANDLING = ("H0", "H1", "H2", "H3")
_today = dt.date.today()
MINOR_BIRTH_DATE = _today.replace(year=_today.year - 15, day=min(_today.day, 28)).isoformat()


def codes(handling: str, note: str) -> dict[str, Any]:
    """Handling code (H3 with its note) and evaluation codes derived from it, so every code is pushed."""
    k = HANDLING.index(handling)
    return {"handling": handling, "reliability": "ABCX"[k], "accuracy": str(k + 1),
            **({"handling_note": note} if handling == "H3" else {})}


# --- the generated world ----------------------------------------------------------------------


@dataclass
class Ent:
    type: str
    owner: str
    sharing: str
    ref: str = ""
    props: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    handling: str = "H0"
    minor: bool = False
    note: str = ""  # handling note (H3), a marker: content

    @property
    def markers(self) -> list[str]:
        out = [self.ref] + ([self.note] if self.note else [])
        for name, v in self.props.items():
            if name != "birth_date":  # a minor's: not a unique marker
                out += v if isinstance(v, list) else [v]
        return out


@dataclass
class Ident:
    type: str
    raw: str
    value: str = ""
    id: str = ""


@dataclass
class Link:
    type: str
    source: tuple[str, int]  # ("e", entity index) or ("i", identifier index)
    target: tuple[str, int]
    owner: str
    sharing: str
    props: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    handling: str = "H0"
    note: str = ""

    @property
    def markers(self) -> list[str]:
        out = [self.note] if self.note else []
        for v in self.props.values():
            out += v if isinstance(v, list) else [v]
        return out


@dataclass
class Event:
    kind: str
    owner: str
    sharing: str
    parties: dict[str, tuple[str, str]]  # party name -> (identifier type, raw value)
    at: str = ""  # unique in the world: a marker
    place: str | None = None  # a cell or reader ref, shared by events: not a marker
    handling: str = "H0"
    ref: str = ""
    note: str = ""
    reference: str = ""  # a transfer's wording
    id: str = ""

    @property
    def markers(self) -> list[str]:
        return [m for m in (self.ref, self.note, self.reference, self.at[:19]) if m]

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "ref": self.ref, "at": self.at, "sharing": self.sharing,
                               **codes(self.handling, self.note)}
        for name, (type_, raw) in self.parties.items():
            out[name] = raw if name in ("vehicle", "handset") else {"type": type_, "ref": raw}
        if self.kind == "call":
            out |= {"mode": "voice", "duration_s": 60}
            if self.place:
                out["cell"] = {"ref": self.place}
        elif self.kind == "plate_read":
            out["reader"] = {"ref": f"LAPI-{self.place}" if self.place else "LAPI-0"}  # a cell ref is no reader
        else:
            out |= {"amount_eur": 100.0, "reference": self.reference}
        return out


IMEIS = ("352099001761481", "352099001761499", "353322110000115")
PLACES = ("CELL-1", "cell-1", "CELL-2")  # the first two are one place (refs are compared normalised)
EVENT_PARTIES = {"call": (("from", "Phone"), ("to", "Phone")), "plate_read": (("vehicle", "Vehicle"),),
                 "transfer": (("from", "BankAccount"), ("to", "BankAccount"))}


def party_id(type_: str, raw: str) -> str:
    return core_ids.identifier_id(type_, normalise(SCHEMA.node(type_).normaliser or "", raw))


@dataclass
class World:
    ents: list[Ent]
    idents: list[Ident]
    links: list[Link]
    grants: list[tuple[int, str]]
    pairs: list[tuple[int, int]]
    objectives: list[tuple[int, str]]
    targets: list[tuple[int, bool]]
    disseminations: list[tuple[list[int], list[str]]]
    events: list[Event] = field(default_factory=list)
    # Watches made while pushing: id -> (agency, kind, index of the ident or entity watched), and
    # the words each agency typed as searches (its own, echoed by GET /v1/watches).
    watches: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    typed: dict[str, set[str]] = field(default_factory=dict)

    def node(self, end: tuple[str, int]) -> Ent | Ident:
        return self.ents[end[1]] if end[0] == "e" else self.idents[end[1]]

    @property
    def node_ids(self) -> list[str]:
        return [e.id for e in self.ents] + [i.id for i in self.idents]

    def event_party_ids(self, *types: str) -> list[str]:
        """Ids of the identifiers the events name, of the given types, in a stable order."""
        found = {party_id(t, raw) for ev in self.events for t, raw in ev.parties.values() if t in types}
        return sorted(found)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    ents = [Ent(draw(st.sampled_from(ENTITY_TYPES)), draw(st.sampled_from(OWNERS)), draw(st.sampled_from(SHARING)),
                handling=draw(st.sampled_from(HANDLING)))
            for _ in range(draw(st.integers(2, 8)))]
    for e in ents:
        e.minor = e.type == "Person" and draw(st.booleans())
    kinds = draw(st.lists(st.sampled_from(IDENT_TYPES), min_size=1, max_size=5))
    idents = [Ident(t, IDENT_VALUES[t](k)) for k, t in enumerate(kinds)]
    candidates: list[tuple[str, tuple[str, int], tuple[str, int], str | None]] = []
    for i, a in enumerate(ents):
        for j, b in enumerate(ents):  # an agency links its own entities only
            if i != j and a.owner == b.owner:
                candidates += [(r, ("e", i), ("e", j), a.owner) for r, rel in SCHEMA.relationships.items()
                               if rel.allows(a.type, b.type)]
        for j, x in enumerate(idents):
            candidates += [(r, ("e", i), ("i", j), a.owner) for r, rel in SCHEMA.relationships.items()
                           if rel.allows(a.type, x.type)]
    for i, x in enumerate(idents):
        for j, y in enumerate(idents):
            if i != j:
                candidates += [(r, ("i", i), ("i", j), None) for r, rel in SCHEMA.relationships.items()
                               if rel.allows(x.type, y.type)]
    # Links make the graph worth exploring: at least a few whenever the schema allows any.
    chosen = draw(st.lists(st.sampled_from(range(len(candidates))), unique=True, max_size=12,
                           min_size=min(3, len(candidates)))) if candidates else []
    links = [Link(candidates[c][0], candidates[c][1], candidates[c][2],
                  candidates[c][3] or draw(st.sampled_from(OWNERS)), draw(st.sampled_from(SHARING)),
                  handling=draw(st.sampled_from(HANDLING)))
             for c in chosen]
    n = len(ents) + len(idents)
    grants = draw(st.lists(st.tuples(st.integers(0, len(ents) - 1), st.sampled_from(OWNERS)), max_size=4, unique=True))
    grants = [(e, a) for e, a in grants if ents[e].owner != a and not ents[e].minor]  # a minor: 422
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=1, max_size=5))
    objectives = draw(st.lists(st.tuples(st.integers(0, n - 1), st.sampled_from(OWNERS)), max_size=3, unique=True))
    targets = draw(st.lists(st.tuples(st.integers(0, len(ents) - 1), st.booleans()), max_size=2,
                            unique_by=lambda t: t[0]))
    disseminations = draw(st.lists(st.tuples(
        st.lists(st.integers(0, len(ents) - 1), min_size=1, max_size=3, unique=True),
        st.lists(st.sampled_from(OWNERS), min_size=1, max_size=2, unique=True)), max_size=1))
    # The central agency may not disseminate H2 items (403) nor minors, which it does not know (422).
    disseminations = [(kept, agencies) for indexes, agencies in disseminations
                      if (kept := [i for i in indexes if ents[i].handling != "H2" and not ents[i].minor])]
    events = []
    for k in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(sorted(EVENT_PARTIES)))
        parties: dict[str, tuple[str, str]] = {}
        for name, type_ in EVENT_PARTIES[kind]:
            own = [i.raw for i in idents if i.type == type_]
            pool = own + [IDENT_VALUES[type_](90 + j) for j in range(2)]
            parties[name] = (type_, draw(st.sampled_from(pool)))
        if kind == "call" and draw(st.booleans()):
            parties["handset"] = ("Handset", draw(st.sampled_from(IMEIS)))
        # Unique times a few minutes apart, so events meet at a place within a window.
        at = (dt.datetime(2026, 3, 14, 22, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=7 * k, seconds=k)).isoformat()
        events.append(Event(kind, draw(st.sampled_from(OWNERS)), draw(st.sampled_from(SHARING)), parties,
                            at.replace("+00:00", "Z"), draw(st.sampled_from(PLACES)) if kind != "transfer" else None,
                            draw(st.sampled_from(HANDLING))))
    return World(ents, idents, links, grants, pairs, objectives, targets, disseminations, events)


# --- pushing it through the API ---------------------------------------------------------------


def mark(world: World) -> None:
    """Give every ref and string property a unique marker: fixed length, never in a uuid or a date."""
    salt = uuid.uuid4().hex[:8]
    counter = iter(range(10_000))

    def marker() -> str:
        return f"zq{salt}{next(counter):04d}mq"

    for e in world.ents:
        e.ref = marker()
        e.note = marker() if e.handling == "H3" else ""
        for name, prop in SCHEMA.node(e.type).properties.items():
            if prop.type in STRING_TYPES:
                e.props[name] = [marker()] if prop.type == "list[string]" else marker()
        if e.minor:
            e.props["birth_date"] = MINOR_BIRTH_DATE
    for link in world.links:
        link.note = marker() if link.handling == "H3" else ""
        for name, prop in SCHEMA.relationship(link.type).properties.items():
            if prop.type in STRING_TYPES:
                link.props[name] = [marker()] if prop.type == "list[string]" else marker()
    for ev in world.events:
        ev.ref = marker()
        ev.note = marker() if ev.handling == "H3" else ""
        ev.reference = marker() if ev.kind == "transfer" else ""


def end_ref(world: World, end: tuple[str, int]) -> dict[str, str]:
    node = world.node(end)
    return {"type": node.type, "ref": node.ref if isinstance(node, Ent) else node.raw}


def watch(client: TestClient, auth: Auth, world: World, agency: str, kind: str, index: int,
          target: dict[str, Any]) -> None:
    """Best effort: what the agency may not know of is refused (404), and then not watched."""
    r = client.post("/v1/watches", json={"target": target, "purpose": "leak test"},
                    headers=auth(agency, "investigator", unit=f"{agency}-unit"))
    if r.status_code == 201:
        world.watches[r.json()["id"]] = (agency, kind, index)


def push_world(client: TestClient, auth: Auth, world: World) -> None:
    # Identifiers first (by police), then the watches on them and the searches for what comes,
    # then each agency's entities, the watches on them, and each agency's links.
    pushed = push(client, auth("police", "ingest"), [{"type": i.type, "ref": i.raw} for i in world.idents])
    for i, out in zip(world.idents, pushed["entities"], strict=True):
        i.id, i.value = out["id"], out["ref"]
    for agency in VIEWERS:
        for k, i in enumerate(world.idents):
            watch(client, auth, world, agency, "identifier", k, {"identifier": {"type": i.type, "value": i.raw}})
        for k, e in enumerate(world.ents):
            words = [e.props[name] for name in SCHEMA.node(e.type).search if isinstance(e.props.get(name), str)]
            if e.owner != agency and words:
                world.typed.setdefault(agency, set()).add(words[0])
                watch(client, auth, world, agency, "search", k, {"search": {"q": words[0], "type": e.type}})
    for agency in OWNERS:
        ents = [e for e in world.ents if e.owner == agency]
        if ents:
            out = push(client, auth(agency, "investigator"),
                       [{"type": e.type, "ref": e.ref, "sharing": e.sharing, "properties": e.props,
                         **codes(e.handling, e.note)} for e in ents])
            for e, o in zip(ents, out["entities"], strict=True):
                e.id = o["id"]
    for agency in VIEWERS:
        for k, e in enumerate(world.ents):
            if e.owner != agency:
                watch(client, auth, world, agency, "entity", k, {"entity_id": e.id})
    for agency in OWNERS:
        links = [link for link in world.links if link.owner == agency]
        if links:
            out = push(client, auth(agency, "investigator"), [],
                       [{"type": link.type, "from": end_ref(world, link.source), "to": end_ref(world, link.target),
                         "sharing": link.sharing, "properties": link.props, **codes(link.handling, link.note)}
                        for link in links])
            for link, o in zip(links, out["links"], strict=True):
                link.id = o["id"]
    for agency in OWNERS:
        mine = [ev for ev in world.events if ev.owner == agency]
        if mine:
            r = client.post("/v1/events", json={"events": [ev.body() for ev in mine]},
                            headers=auth(agency, "investigator"))
            assert r.status_code == 200, r.text
            for ev, out in zip(mine, r.json()["events"], strict=True):
                ev.id = out["id"]
    for index, agency in world.grants:
        ent = world.ents[index]
        r = client.post(f"/v1/entities/{ent.id}/grants", json={"agency": agency, "reason": "leak test"},
                        headers=auth(ent.owner, "investigator"))
        assert r.status_code == 201, r.text
    for entity_indexes, agencies in world.disseminations:
        r = client.post("/v1/disseminations", headers=auth(CENTRAL, "investigator"), json={
            "entity_ids": [world.ents[i].id for i in entity_indexes], "agencies": agencies, "note": "leak test"})
        assert r.status_code == 201, r.text


def setup_workflow(client: TestClient, auth: Auth, world: World, routes: set[tuple[str, str]]) -> None:
    """Objectives and priority targets, where those features exist, so their reads have content.
    Best effort: what the policy refuses (an entity the agency may not know) is refused."""
    if ("POST", "/v1/objectives") in routes:
        for n, agency in world.objectives:
            client.post("/v1/objectives", json={"entity_id": world.node_ids[n], "case_ref": f"{agency}-case"},
                        headers=auth(agency, "investigator", unit=f"{agency}-unit"))
    if ("POST", "/v1/priority-targets") in routes:
        for e, activate in world.targets:
            ent = world.ents[e]
            r = client.post("/v1/priority-targets", headers=auth(ent.owner, "investigator"),
                            json={"entity_id": ent.id, "justification": "leak test", "proposed_tier": 2})
            if r.status_code == 201 and activate and ("POST", "/v1/priority-targets/{}/transitions") in routes:
                client.post(f"/v1/priority-targets/{r.json()['id']}/transitions",
                            headers=auth(CENTRAL, "target_manager"),
                            json={"to": "active", "reason": "leak test", "lead_agency": ent.owner})
    if ("POST", "/v1/matches/{}/judgement") in routes:
        # Possible matches (persons of two agencies on a shared identifier, with similar marker
        # names): each agency judges its first one `same`, so SAME_AS links are there to be read.
        for agency in OWNERS:
            alerts = client.get("/v1/alerts", headers=auth(agency, "investigator")).json().get("items", [])
            for match in [a["match_id"] for a in alerts if a.get("match_id")][:1]:
                client.post(f"/v1/matches/{match}/judgement", json={"verdict": "same", "note": "leak test"},
                            headers=auth(agency, "investigator"))


# --- who may see what ---------------------------------------------------------------------------


def ent_full(world: World, e: Ent, agency: str) -> bool:
    if e.minor and e.owner != agency:  # a minor: hit / no-hit only, for every other agency
        return False
    return (agency == CENTRAL or e.sharing == "open" or e.owner == agency
            or any(world.ents[i] is e and a == agency for i, a in world.grants)
            or any(agency in agencies and any(world.ents[i] is e for i in indexes)
                   for indexes, agencies in world.disseminations))


def node_known(world: World, end: tuple[str, int], agency: str) -> bool:
    node = world.node(end)
    if isinstance(node, Ident):
        return True
    if node.minor and node.owner != agency:
        return False
    return node.sharing != "confidential" or ent_full(world, node, agency)


def link_full(link: Link, agency: str) -> bool:
    return agency == CENTRAL or link.sharing == "open" or link.owner == agency


def forbidden(world: World, agency: str) -> tuple[set[str], set[str]]:
    """(markers the agency may not read, ids it may not learn of)."""
    markers: set[str] = set()
    ids: set[str] = set()
    for i, e in enumerate(world.ents):
        if not ent_full(world, e, agency):
            markers.update(e.markers)
        if not node_known(world, ("e", i), agency):
            ids.add(e.id)
    for link in world.links:
        ends_known = node_known(world, link.source, agency) and node_known(world, link.target, agency)
        if not link_full(link, agency) or not ends_known:
            markers.update(link.markers)
        if not ends_known or (link.sharing == "confidential" and not link_full(link, agency)):
            ids.add(link.id)
    for ev in world.events:  # events are owned as links are; their parties are identifiers
        if not (agency == CENTRAL or ev.sharing == "open" or ev.owner == agency):
            markers.update(ev.markers)
            ids.add(ev.id)
    return markers, ids


# --- the read endpoints -----------------------------------------------------------------------

Request = tuple[str, dict[str, Any]]  # (path, query params)


def _each_node(world: World, path: str, **params: Any) -> Iterator[Request]:
    for node_id in world.node_ids:
        yield path.format(node_id), dict(params)


def _each_entity_of(world: World, types: tuple[str, ...], path: str, key: str | None = None) -> Iterator[Request]:
    for e in world.ents:
        if e.type in types:
            yield (path, {key: e.id}) if key else (path.format(e.id), {})


def _paths(world: World) -> Iterator[Request]:
    ids = world.node_ids
    for k, (a, b) in enumerate(world.pairs):
        yield "/v1/paths", {"source": ids[a], "target": ids[b], "max_hops": 6}
        if k == 0:  # the exports lay the same result out: once per graph is enough
            for fmt in ("graphml", "ftm"):
                yield "/v1/paths", {"source": ids[a], "target": ids[b], "max_hops": 6, "format": fmt}


def _search(world: World) -> Iterator[Request]:
    for k, e in enumerate(world.ents):
        yield "/v1/search", {"q": e.ref if k % 2 else e.markers[-1]}
    yield "/v1/search", {"q": "zq*"}


def _lookup(world: World) -> Iterator[Request]:
    for i in world.idents:
        yield "/v1/lookup", {"type": i.type, "value": i.raw}


def _neighbourhood(world: World) -> Iterator[Request]:
    for k, node_id in enumerate(world.node_ids):
        yield f"/v1/entities/{node_id}/neighbourhood", {"depth": 3}
        if k < 2:
            yield f"/v1/entities/{node_id}/neighbourhood", {"depth": 2, "format": ("graphml", "ftm")[k]}


WINDOW = {"since": "2026-03-14", "until": "2026-03-15T12:00:00+01:00"}


def _event_subjects(world: World, *types: str) -> list[str]:
    """The world's identifiers of these types and those its events name."""
    return sorted({i.id for i in world.idents if i.type in types} | set(world.event_party_ids(*types)))


def _timeline(world: World) -> Iterator[Request]:
    for k, node_id in enumerate(world.node_ids + world.event_party_ids("Phone", "Vehicle", "BankAccount", "Handset")):
        yield f"/v1/entities/{node_id}/timeline", ({} if k % 2 else WINDOW)
        if k == 0:
            yield f"/v1/entities/{node_id}/timeline", {"kinds": "call", "limit": 1, "offset": 1}


def _activity(world: World) -> Iterator[Request]:
    for node_id in world.node_ids + world.event_party_ids("Phone", "Vehicle", "BankAccount", "Handset"):
        yield "/v1/analytics/activity", {"id": node_id}


def _contacts(world: World) -> Iterator[Request]:
    phones = _event_subjects(world, "Phone")
    for phone in phones:
        yield "/v1/analytics/contacts", {"phone": phone}
    for a, b in itertools.pairwise(phones):
        yield "/v1/analytics/common-contacts", {"phones": f"{a},{b}"}


def _co_location(world: World) -> Iterator[Request]:
    for node_id in _event_subjects(world, "Phone", "Vehicle"):
        yield "/v1/analytics/co-location", {"id": node_id, "window_minutes": 1440}


def _handset_swaps(world: World) -> Iterator[Request]:
    for node_id in _event_subjects(world, "Phone", "Handset"):
        yield "/v1/analytics/handset-swaps", {"id": node_id}


def _money_flows(world: World) -> Iterator[Request]:
    """Both ways between the accounts and wallets of the world and of its transfers, and from each
    entity that may hold or use one."""
    accounts = _event_subjects(world, "BankAccount", "CryptoWallet")
    for k, (a, b) in enumerate(itertools.pairwise(accounts)):
        yield "/v1/analytics/money-flows", {"source": a, "target": b, "max_hops": 6}
        yield "/v1/analytics/money-flows", {"source": b, "target": a, **({} if k % 2 else WINDOW)}
    for e in world.ents:
        if e.type in ("Person", "Company", "Network") and accounts:
            yield "/v1/analytics/money-flows", {"source": e.id, "target": accounts[-1]}
            yield "/v1/analytics/money-flows", {"source": accounts[0], "target": e.id}


def _laundering_indicators(world: World) -> Iterator[Request]:
    for e in world.ents:
        if e.type == "Network":
            yield "/v1/analytics/laundering-indicators", {"network": e.id}
        if e.type in ("Person", "Company", "Network"):
            yield "/v1/analytics/laundering-indicators", {"entity": e.id}
    for account in _event_subjects(world, "BankAccount", "CryptoWallet"):
        yield "/v1/analytics/laundering-indicators", {"entity": account}


def _matches(client: TestClient, auth: Auth) -> Callable[[World], Iterator[Request]]:
    """Every possible match any owner agency was alerted to, asked by every agency (a 404 for those
    that are not a party, or may not know the other person)."""
    def requests(world: World) -> Iterator[Request]:
        found: set[str] = set()
        for agency in OWNERS:
            items = client.get("/v1/alerts", headers=auth(agency, "analyst")).json().get("items", [])
            found.update(a["match_id"] for a in items if a.get("match_id"))
        print(f"leak case: {len(found)} possible match(es)", flush=True)
        for match in sorted(found):
            yield f"/v1/matches/{match}", {}

    return requests


def _priority_targets(client: TestClient, auth: Auth) -> Callable[[World], Iterator[Request]]:
    def requests(world: World) -> Iterator[Request]:
        yield "/v1/priority-targets", {}
        listed = client.get("/v1/priority-targets", headers=auth(CENTRAL, "target_manager")).json()
        for item in listed.get("items", []):
            for suffix in ("", "/history", "/evidence"):
                yield f"/v1/priority-targets/{item['id']}{suffix}", {}

    return requests


# Route template (parameters written `{}`) -> the requests to make for a world.
def read_endpoints(client: TestClient, auth: Auth) -> dict[str, Callable[[World], Iterator[Request]]]:
    return {
        "/v1/entities/{}": lambda w: _each_node(w, "/v1/entities/{}"),
        "/v1/entities/{}/neighbourhood": _neighbourhood,
        "/v1/paths": _paths,
        "/v1/search": _search,
        "/v1/lookup": _lookup,
        "/v1/networks/{}": lambda w: _each_entity_of(w, ("Network",), "/v1/networks/{}"),
        "/v1/analytics/key-players": lambda w: _each_entity_of(w, ("Network",), "/v1/analytics/key-players",
                                                               "network"),
        "/v1/analytics/bridges": lambda w: iter([("/v1/analytics/bridges", {})]),
        "/v1/alerts": lambda w: iter([("/v1/alerts", {})]),
        "/v1/objectives": lambda w: iter([("/v1/objectives", {})]),
        "/v1/priority-targets": _priority_targets(client, auth),
        "/v1/priority-targets/{}": lambda w: iter(()),  # requested with the list above
        "/v1/priority-targets/{}/history": lambda w: iter(()),
        "/v1/priority-targets/{}/evidence": lambda w: iter(()),
        "/v1/disseminations": lambda w: iter([("/v1/disseminations", {})]),
        "/v1/entities/{}/grants": lambda w: ((f"/v1/entities/{e.id}/grants", {}) for e in w.ents),
        "/v1/review-queue": lambda w: iter([("/v1/review-queue", {}),
                                            ("/v1/review-queue", {"due_before": "2999-12-31"})]),
        "/v1/matches/{}": _matches(client, auth),
        "/v1/entities/{}/timeline": _timeline,
        "/v1/analytics/activity": _activity,
        "/v1/analytics/contacts": _contacts,
        "/v1/analytics/common-contacts": lambda w: iter(()),  # requested with the contacts
        "/v1/analytics/co-location": _co_location,
        "/v1/analytics/handset-swaps": _handset_swaps,
        "/v1/entities/{}/patrimony": lambda w: (
            (path, {"max_depth": depth}) for path, _ in _each_entity_of(w, ("Person", "Company", "Network"),
                                                                       "/v1/entities/{}/patrimony")
            for depth in (1, 6)),
        "/v1/assets/recovery": lambda w: (("/v1/assets/recovery", {"group_by": g})
                                          for g in ("network", "departement", "year")),
        "/v1/analytics/money-flows": _money_flows,
        "/v1/analytics/laundering-indicators": _laundering_indicators,
        "/v1/watches": lambda w: iter([("/v1/watches", {}), ("/v1/watches", {"limit": 2, "offset": 1})]),
    }


# Read routes that are not about graph data: the trail shows an agency's own users' requests,
# ids they typed included.
NOT_DATA = {"/v1/audit"}
PARAM = re.compile(r"\{[^}]*\}")


def existing_get_routes(client: TestClient) -> set[str]:
    return {PARAM.sub("{}", path) for path, methods in api_routes(client.app)
            if path.startswith("/v1") and "GET" in methods}


def route_keys(client: TestClient) -> set[tuple[str, str]]:
    return {(m, PARAM.sub("{}", p)) for p, methods in api_routes(client.app) for m in methods}


def plan(client: TestClient, auth: Auth) -> tuple[dict[str, Callable[[World], Iterator[Request]]], list[str]]:
    """The endpoints to exercise: listed ones that exist, plus any other GET route, generically."""
    existing = existing_get_routes(client)
    table = read_endpoints(client, auth)
    chosen = {k: v for k, v in table.items() if k in existing}
    for route in sorted(existing - set(table) - NOT_DATA):
        holes = route.count("{}")
        if holes == 0:
            chosen[route] = (lambda r: lambda w: iter([(r, {})]))(route)
        elif holes == 1:
            chosen[route] = (lambda r: lambda w: _each_node(w, r))(route)
    unexercised = sorted(existing - set(chosen) - NOT_DATA)
    return chosen, unexercised


# --- the property -------------------------------------------------------------------------------


def check(client: TestClient, auth: Auth, world: World, endpoints: dict[str, Callable[[World], Iterator[Request]]],
          ) -> int:
    requests = [(name, req) for name, make in endpoints.items() for req in make(world)]
    made = 0
    # The central agency sees everything but other agencies' minors: a viewer when there are some.
    for agency in VIEWERS + ((CENTRAL,) if any(e.minor for e in world.ents) else ()):
        markers, ids = forbidden(world, agency)
        headers = {**auth(agency, "investigator", "target_manager", unit=f"{agency}-unit"),
                   "X-Purpose": "leak test"}
        for name, (path, params) in requests:
            r = client.get(path, params=params, headers=headers)
            made += 1
            assert r.status_code < 500, (name, path, params, agency, r.status_code, r.text[:500])
            body = r.text
            if path == "/v1/watches":  # the agency's own searches, as it typed them
                body = functools.reduce(lambda text, word: text.replace(word, ""), world.typed.get(agency, ()), body)
            named = set(re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                                   path + " " + " ".join(str(v) for v in params.values())))
            leaked = [m for m in markers if m in body]
            assert not leaked, f"{agency} read {leaked} via {path} {params}: {body[:1000]}"
            seen = [i for i in ids - named if i in body]
            assert not seen, f"{agency} learnt of ids {seen} via {path} {params}: {body[:1000]}"
    return made


def link_known(world: World, link: Link, agency: str) -> bool:
    return link.sharing != "confidential" or link_full(link, agency)


def node_hit(world: World, end: tuple[str, int], agency: str) -> bool:
    """What a lookup may name a holder for: the minors rule aside, as `node_known`."""
    node = world.node(end)
    return isinstance(node, Ident) or node.sharing != "confidential" or ent_full(world, node, agency)


def owed(world: World, agency: str, kind: str, index: int, alert: dict[str, Any]) -> bool:
    """Whether a `watch_hit` alert of `agency` on its watch (`kind`, `index`) is owed to an item
    written by the agency it names that `agency` may know exists (known as its lookups,
    neighbourhoods and searches know)."""
    other = alert["counterpart_agency"]
    if other == agency:
        return False
    if kind == "search":
        e = world.ents[index]
        return alert["entity_id"] == e.id and e.owner == other and ent_full(world, e, agency)
    end = ("i" if kind == "identifier" else "e", index)
    if alert["entity_id"] != world.node(end).id:
        return False
    for link in world.links:
        if end in (link.source, link.target) and link.owner == other and link_known(world, link, agency):
            far = link.target if link.source == end else link.source
            if (node_hit(world, far, agency) if kind == "identifier"
                    else node_known(world, far, agency) and node_known(world, end, agency)):
                return True
    ident = world.idents[index].id if kind == "identifier" else None
    return any(ev.owner == other and (ev.sharing != "confidential" or agency == CENTRAL)
               and ident in {party_id(t, raw) for t, raw in ev.parties.values()} for ev in world.events)


def check_watch_hits(client: TestClient, auth: Auth, world: World) -> None:
    """Every `watch_hit` owed to an item its agency may know of; every open or restricted link of
    another agency on a watched identifier, whose far end is not confidential, raised one."""
    for agency in VIEWERS:
        r = client.get("/v1/alerts", params={"limit": 500}, headers=auth(agency, "analyst"))
        assert r.status_code == 200, r.text
        hits = [a for a in r.json()["items"] if a["kind"] == "watch_hit"]
        for alert in hits:
            assert alert["watch_id"] in world.watches, alert
            owner, kind, index = world.watches[alert["watch_id"]]
            assert owner == agency and owed(world, agency, kind, index, alert), (agency, kind, index, alert)
        raised = {(a["watch_id"], a["counterpart_agency"]) for a in hits}
        for watch_id, (owner, kind, index) in world.watches.items():
            if owner != agency or kind != "identifier":
                continue
            for link in world.links:
                if (("i", index) in (link.source, link.target) and link.owner != agency
                        and link.sharing != "confidential"):
                    far = world.node(link.target if link.source == ("i", index) else link.source)
                    if isinstance(far, Ident) or far.sharing != "confidential":
                        assert (watch_id, link.owner) in raised, (agency, index, link)


# --- webhook payloads ---------------------------------------------------------------------------


def hook_secret(agency: str) -> str:
    return f"leak-test-secret-of-{agency}"


@pytest.fixture(scope="module")
def hook_receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def register_webhooks(client: TestClient, auth: Auth, receiver: Receiver) -> Any:
    """Every viewer agency's admin subscribes to every kind, to a receiver on 127.0.0.1 (development
    settings allow http there), before the world is pushed: its alerts are raised after the cursor.
    Returns the settings the delivery turns use (no backoff)."""
    app: Any = client.app
    shipped = app.state.settings
    dev = shipped.model_copy(update={"webhook_allow_http_localhost": True, "webhook_backoff_seconds": 0.0,
                                     "webhook_max_backoff_seconds": 0.0})
    app.state.settings = dev
    try:
        for agency in VIEWERS:
            r = client.post("/v1/webhooks", json={"url": receiver.url, "secret": hook_secret(agency),
                                                  "kinds": list(WEBHOOK_KINDS)}, headers=auth(agency, "admin"))
            assert r.status_code == 201, r.text
    finally:
        app.state.settings = shipped
    return dev


def check_webhook_payloads(client: TestClient, auth: Auth, world: World, receiver: Receiver, dev: Any) -> int:
    """Each viewer's alerts pushed exactly once (each payload told apart by its signature), and no
    payload holds a marker or an id its agency may not know — the same property as the reads."""
    app: Any = client.app
    for _ in range(50):  # every due delivery, whichever worker (this one, the app's) takes it
        report = client.portal.call(  # type: ignore[union-attr]
            functools.partial(webhooks.deliver_due, app.state.db, dev, "leak-test", 500))
        if report.delivered == 0 and report.failed == 0:
            break
    bodies: dict[str, list[bytes]] = {agency: [] for agency in VIEWERS}
    for body, headers in receiver.received:
        signer = [a for a in VIEWERS if hmac.compare_digest(headers["X-Signature"],
                                                            webhooks.sign(hook_secret(a), body))]
        assert len(signer) == 1, headers
        bodies[signer[0]].append(body)
    for agency in VIEWERS:
        markers, ids = forbidden(world, agency)
        listed = client.get("/v1/alerts", params={"limit": 500}, headers=auth(agency, "analyst")).json()["items"]
        assert sorted(json.loads(b)["id"] for b in bodies[agency]) == sorted(a["id"] for a in listed), agency
        for body in bodies[agency]:
            text = body.decode()
            leaked = [m for m in markers if m in text]
            assert not leaked, f"{agency}'s webhook received {leaked}: {text[:1000]}"
            seen = [i for i in ids if i in text]
            assert not seen, f"{agency}'s webhook learnt of ids {seen}: {text[:1000]}"
    return sum(len(b) for b in bodies.values())


def test_leak_endpoint_table_matches_routes(client: TestClient, auth: Auth) -> None:
    endpoints, unexercised = plan(client, auth)
    listed = set(read_endpoints(client, auth))
    print(f"\nleak test exercises {len(endpoints)} read endpoints: {sorted(endpoints)}")
    print(f"listed but not registered (not exercised): {sorted(listed - set(endpoints))}")
    print(f"registered GET routes not exercised: {unexercised}")
    assert "/v1/entities/{}" in endpoints
    assert not unexercised, f"GET routes the leak test cannot exercise: {unexercised}; list them"


# Each generated graph takes a few hundred requests: scale pytest-timeout's per-test limit with it.
@pytest.mark.timeout(max(600, EXAMPLES * 120))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(world=worlds())
def test_no_leaks(client: TestClient, auth: Auth, graph: neo4j.Driver, world: World,
                  request: pytest.FixtureRequest, hook_receiver: Receiver) -> None:
    wipe(graph)
    hook_receiver.received.clear()
    mark(world)
    dev = register_webhooks(client, auth, hook_receiver)
    push_world(client, auth, world)
    routes = route_keys(client)
    setup_workflow(client, auth, world, routes)
    endpoints, _ = plan(client, auth)
    made = check(client, auth, world, endpoints)
    check_watch_hits(client, auth, world)
    pushed = check_webhook_payloads(client, auth, world, hook_receiver, dev)
    # Positive control: markers are rendered verbatim, so the substring search above can find them.
    for e in world.ents:
        body = client.get(f"/v1/entities/{e.id}", headers=auth(e.owner, "analyst")).text
        assert all(m in body for m in e.markers), body[:500]
        # A stub shows the handling code (never the note: a marker, checked above).
        stub_viewer = next((a for a in VIEWERS if node_known(world, ("e", world.ents.index(e)), a)
                            and not ent_full(world, e, a)), None)
        if stub_viewer is not None:
            stub = client.get(f"/v1/entities/{e.id}", headers=auth(stub_viewer, "analyst")).json()
            assert stub["redacted"] is True and stub["handling"] == e.handling, stub
    # Said at the end of the session by tests/conftest.py's pytest_terminal_summary.
    report = request.config.stash.setdefault(LEAK_REPORT, LeakReport(examples=EXAMPLES))
    report.cases += 1
    report.endpoints = len(endpoints)
    print(f"leak case {report.cases}: {len(world.ents)} entities, {len(world.idents)} identifiers, "
          f"{len(world.links)} links, {len(world.events)} events, {made} requests, {pushed} webhook payloads: "
          "no leak", flush=True)
