"""Cypher behind the analyses of events: timeline, contacts, activity, common contacts, co-location,
handset swaps.

Events are `(:Event:<label>)` nodes naming their parties by id (`<party>_id`) with no relationship of
their own; every statement here finds them by a composite range index on (party id, `at`) or
(`place_ref`, `at`) (migration 13), never by scanning a label. Labels and party fields come from the
`events` section of `graph_schema` (the whitelist); every value is a parameter. `$since` / `$until`
are always given (the domain fills an open window with the widest instants), so that every seek is
a bounded range on `at`.

Visibility is the link rule (`event_full` / `event_known` of `service.access.visibility`): an
event seen in full is shown; one known but not full (another agency's restricted event) only
counts, by owner agency, in `withheld` — never its time, its other party or its place; one not
known (confidential) is not there at all. Aggregates (counts, first, last, hours) are computed
over events seen in full only.

By the schema's declaration, a call's handset and cell are the caller's: the place and the
handset of an event belong to its first party (`from` of a call, `vehicle` of a plate read).
"""

from __future__ import annotations

from functools import lru_cache

from graph_schema import EventType, get_schema
from service.access.visibility import event_full, event_known, event_view, node_known, node_view, rel_known

EVENT = "Event"  # the label every event carries beside its kind's (graph_schema rejects it as a kind label)
TIME_ZONE = "Europe/Paris"  # local time of hours and weekdays (investigators read French time)


def _window(var: str) -> str:
    return f"{var}.at >= $since AND {var}.at <= $until"


def _events() -> dict[str, EventType]:
    return get_schema().events


def _holder(event: EventType) -> str:
    """The party an event's place and handset belong to: its first declared one."""
    return next(iter(event.parties.values())).stored_as


def _seeks(kinds: tuple[str, ...], var: str = "e", full_only: bool = False, page: bool = False) -> str:
    """A UNION of index seeks, one per (kind, party): the events naming `pid` in the window.

    `page`: each seek keeps the newest `$window` events it sees in full (the index gives them in
    `at` order), so a page of a hub's timeline reads about offset + limit events per seek."""
    parts = []
    for kind in kinds:
        event = _events()[kind]
        for party in event.parties.values():
            where = f"{var}.{party.stored_as} = pid AND {_window(var)}"
            if full_only:
                where += f" AND {event_full(var)}"
            # Ordered by the index's own columns, so the planner reads it backwards and stops at
            # $window rows (PartialTop), instead of sorting every event of a hub in the window.
            tail = f" ORDER BY {var}.{party.stored_as} DESC, {var}.at DESC, {var}.id LIMIT $window" if page else ""
            parts.append(f"MATCH ({var}:{event.label}) WHERE {where} RETURN {var}{tail}")
    return "\n  UNION\n  ".join(parts)


def kinds_of(names: list[str] | None) -> tuple[str, ...]:
    """The event kinds asked for, in schema order (all when none)."""
    known = list(_events())
    return tuple(k for k in known if not names or k in names)


# The node the analyses are about, as the caller may know it (no row: unknown -> 404), with the
# identifiers whose events it has: itself for an identifier; for an entity (a Person…), the
# identifiers it is linked to by links the caller may know exist — the links a neighbourhood
# would cross, so the timeline reveals no link the traversal would not.
SUBJECT = f"""
MATCH (n:Node {{id: $id}})
WHERE {node_known('n')}
RETURN n.type AS type, {node_view('n')} AS node,
       CASE WHEN n:Identifier THEN [n.id] ELSE COLLECT {{
         MATCH (n)-[r:{get_schema().relationship_pattern()}]-(x:Identifier)
         WHERE {rel_known('r')}
         RETURN DISTINCT x.id
       }} END AS parties
"""

# The nodes an answer names (parties, places), each as the caller may see it; ids it may not know
# (a confidential Location of another agency) give no row and show as null.
NODES = f"""
MATCH (x:Node) WHERE x.id IN $ids AND {node_known('x')}
RETURN x.id AS id, {node_view('x')} AS node
"""


def _withheld(full: str, owner: str) -> str:
    """RETURN items counting the rows grouped as `(full, owner, c)`: the total seen in full, and the
    withheld count per owner agency of the others."""
    return (f"sum(CASE WHEN {full} THEN c ELSE 0 END) AS total, "
            f"collect(CASE WHEN NOT {full} THEN {{owner_agency: {owner}, count: c}} END) AS withheld")


@lru_cache
def timeline_count(kinds: tuple[str, ...]) -> str:
    """How many events of the parties `$parties` in the window the caller sees in full, and how many
    it may only know exist, per owner agency. Distinct events: a call between two of a person's
    phones counts once."""
    return f"""
UNWIND $parties AS pid
CALL (pid) {{
  {_seeks(kinds)}
}}
WITH DISTINCT e WHERE {event_known('e')}
WITH {event_full('e')} AS full, e.owner_agency AS owner, count(*) AS c
RETURN {_withheld('full', 'owner')}
"""


@lru_cache
def timeline_page(kinds: tuple[str, ...]) -> str:
    """One page, newest first, of the events of `$parties` the caller sees in full; `$window` is
    offset + limit (no seek needs to give more)."""
    return f"""
UNWIND $parties AS pid
CALL (pid) {{
  {_seeks(kinds, full_only=True, page=True)}
}}
WITH DISTINCT e
ORDER BY e.at DESC, e.id
SKIP $offset LIMIT $limit
RETURN {event_view('e')} AS event
"""


@lru_cache
def activity(kinds: tuple[str, ...]) -> str:
    """Events of `$parties` seen in full, counted by (ISO weekday, hour) in local time; others by owner."""
    return f"""
UNWIND $parties AS pid
CALL (pid) {{
  {_seeks(kinds)}
}}
WITH DISTINCT e WHERE {event_known('e')}
WITH e, {event_full('e')} AS full
WITH full, CASE WHEN full THEN datetime({{datetime: e.at, timezone: '{TIME_ZONE}'}}) END AS local,
     CASE WHEN full THEN null ELSE e.owner_agency END AS owner
WITH full, local.dayOfWeek AS weekday, local.hour AS hour, owner, count(*) AS c
RETURN full, weekday, hour, owner, c
"""


def _calls_of(phone: str) -> str:
    """The calls of the phone `phone` (a Cypher expression) in the window, with the other party."""
    call = _events()["call"]
    frm, to = call.parties["from"].stored_as, call.parties["to"].stored_as
    return (f"MATCH (e:{call.label}) WHERE e.{frm} = {phone} AND {_window('e')} RETURN e, e.{to} AS other\n"
            f"  UNION\n"
            f"  MATCH (e:{call.label}) WHERE e.{to} = {phone} AND {_window('e')} RETURN e, e.{frm} AS other")


# The correspondents of `$phone` over its calls seen in full: calls, total duration, first, last,
# calls by local hour; most calls first. Calls known but not full count by owner agency only:
# neither their correspondent nor their time enters any other figure.
CONTACTS = f"""
CALL () {{
  {_calls_of('$phone')}
}}
WITH e, other WHERE {event_known('e')}
WITH e, other, {event_full('e')} AS full
WITH full, CASE WHEN full THEN other ELSE e.owner_agency END AS key,
     count(*) AS c, sum(coalesce(e.duration_s, 0)) AS duration, min(e.at) AS first, max(e.at) AS last,
     collect(datetime({{datetime: e.at, timezone: '{TIME_ZONE}'}}).hour) AS hours
ORDER BY c DESC, last DESC, key
WITH collect(CASE WHEN full THEN {{phone: key, calls: c, duration_s: duration, first: first, last: last,
                                  by_hour: [h IN range(0, 23) | size([x IN hours WHERE x = h])]}} END) AS contacts,
     collect(CASE WHEN NOT full THEN {{owner_agency: key, count: c}} END) AS withheld
RETURN contacts[..$limit] AS contacts, withheld
"""

# Per given phone, its calls seen in full with each correspondent; the correspondents all the
# phones share (other than the phones themselves) are kept, most calls in total first. Withheld:
# the distinct calls of the phones known but not full, by owner agency.
COMMON_CONTACTS = f"""
UNWIND $phones AS p
CALL (p) {{
  {_calls_of('p')}
}}
WITH p, e, other WHERE {event_known('e')}
WITH p, e, other, {event_full('e')} AS full
WITH full, CASE WHEN full THEN p END AS p, CASE WHEN full THEN other END AS other,
     CASE WHEN full THEN null ELSE e.owner_agency END AS owner, count(DISTINCT e) AS c
WITH full, CASE WHEN full THEN other ELSE owner END AS key, collect({{phone: p, calls: c}}) AS per, sum(c) AS total
WHERE NOT full OR (size(per) = size($phones) AND NOT key IN $phones)
ORDER BY total DESC, key
WITH collect(CASE WHEN full THEN {{phone: key, calls: per}} END) AS contacts,
     collect(CASE WHEN NOT full THEN {{owner_agency: key, count: total}} END) AS withheld
RETURN contacts[..$limit] AS contacts, withheld
"""


def _located() -> list[EventType]:
    return [e for e in _events().values() if e.place is not None]


def locatable_types() -> tuple[str, ...]:
    """Identifier types an event places somewhere (a call's caller, a plate read's vehicle)."""
    return tuple(dict.fromkeys(t for e in _located() for t in next(iter(e.parties.values())).types))


def _holder_of(var: str) -> str:
    whens = " ".join(f"WHEN {var}:{e.label} THEN {var}.{_holder(e)}" for e in _located())
    return f"CASE {whens} END"


@lru_cache
def co_location(type_: str) -> str:
    """Events of other phones and vehicles at the place of each event of `$id` (of identifier type
    `type_`) it sees in full, at most `$window` (a duration) before or after it, both ends
    included. The other events are found by seeking (`place_ref`, `at`) from each anchor: the
    index gives exactly those, whatever the place's traffic. Anchors and matches known but not
    full are counted in `withheld` (once each) and say nothing else."""
    anchors = [f"MATCH (a:{e.label}) WHERE a.{_holder(e)} = $id AND {_window('a')} RETURN a"
               for e in _located() if type_ in next(iter(e.parties.values())).types]
    if not anchors:
        raise ValueError(f"no event places a {type_}")
    return f"""
CALL () {{
  {(chr(10) + '  UNION' + chr(10) + '  ').join(anchors)}
}}
WITH a WHERE a.place_ref IS NOT NULL AND {event_known('a')}
WITH a, {event_full('a')} AS anchor_full
OPTIONAL CALL (a, anchor_full) {{
  WITH a WHERE anchor_full
  MATCH (o:{EVENT})
  WHERE o.place_ref = a.place_ref AND o.at >= a.at - $window AND o.at <= a.at + $window
    AND {_holder_of('o')} <> $id AND {event_known('o')}
  RETURN o, {event_full('o')} AS other_full
}}
WITH a, anchor_full, o, other_full
ORDER BY a.at DESC, o.at DESC, o.id
WITH collect(DISTINCT CASE WHEN NOT anchor_full THEN a END)
       + collect(DISTINCT CASE WHEN o IS NOT NULL AND NOT other_full THEN o END) AS hidden,
     collect(CASE WHEN other_full THEN {{other: {_holder_of('o')}, place: a.place_id, at: a.at, other_at: o.at}}
             END) AS items
CALL (hidden) {{
  UNWIND hidden AS h
  WITH h.owner_agency AS owner, count(*) AS c
  RETURN collect({{owner_agency: owner, count: c}}) AS withheld
}}
RETURN items[..$limit] AS items, size(items) AS total, withheld
"""


def _handset_tail() -> str:
    call = _events()["call"]
    phone, handset = _holder(call), call.parties["handset"].stored_as
    return f"""WITH c WHERE {event_known('c')}
WITH c, {event_full('c')} AS full
WITH full, CASE WHEN full THEN c.{phone} END AS phone, CASE WHEN full THEN c.{handset} END AS handset,
     CASE WHEN full THEN null ELSE c.owner_agency END AS owner, count(*) AS n, min(c.at) AS first, max(c.at) AS last
ORDER BY first, phone, handset
WITH collect(CASE WHEN full THEN {{phone: phone, handset: handset, first: first, last: last, calls: n}} END) AS items,
     collect(CASE WHEN NOT full THEN {{owner_agency: owner, count: n}} END) AS withheld
RETURN items, withheld
"""


@lru_cache
def handset_swaps(of_handset: bool) -> str:
    """Every (phone, handset) pair seen in the calls of a handset (`of_handset`) or of a phone and
    of every handset that phone was used in — a SIM moved to another handset, another SIM in the
    same handset — with first, last and the number of calls, over calls seen in full. A
    phone's handsets are only those of its calls seen in full: a handset named only in another
    agency's restricted record stays withheld."""
    call = _events()["call"]
    phone, handset = _holder(call), call.parties["handset"].stored_as
    if of_handset:
        calls = f"MATCH (c:{call.label}) WHERE c.{handset} = $id AND {_window('c')} RETURN c"
    else:
        calls = (f"MATCH (c:{call.label}) WHERE c.{phone} = $id AND {_window('c')} AND c.{handset} IS NOT NULL "
                 f"RETURN c\n  UNION\n"
                 f"  MATCH (x:{call.label}) WHERE x.{phone} = $id AND {_window('x')} AND x.{handset} IS NOT NULL "
                 f"AND {event_full('x')}\n"
                 f"  WITH DISTINCT x.{handset} AS h\n"
                 f"  MATCH (c:{call.label}) WHERE c.{handset} = h AND {_window('c')} RETURN c")
    return f"""
CALL () {{
  {calls}
}}
{_handset_tail()}"""
