"""Cypher behind POST /v1/events: events, their places, the lists kept on the identifiers they
name, the derived CALLED / TRANSFERRED links, and the alerts.

An event is one `(:Event:<label>)` node naming its parties by id (`from_id`, `to_id`, `handset_id`,
`vehicle_id`) and its place (`place_id`, `place_ref`); it has no relationship of its own, so writing
calls on a hub phone never takes the hub's relationship locks (docs/architecture.md, "Events (storage)").
Labels and relationship types come only from `graph_schema`; every value is a parameter. Each
statement is one `UNWIND` over a batch's rows, rows sorted by id (pairs by their ends), so
concurrent batches take locks in one order.
"""

from __future__ import annotations

from functools import lru_cache

from graph_schema import get_schema
from service.access.visibility import event_holders, event_known, event_known_to_all, viewer_of
from service.queries.ingest import _STATUSES, OTHER_HOLDERS, owned_upsert

# Ids given by the caller: another agency's event is refused (403).
PROBE_EVENTS = """
UNWIND $ids AS id
MATCH (e:Event {id: id})
RETURN e.id AS id, e.owner_agency AS owner
"""


@lru_cache
def upsert_events(label: str) -> str:
    """Create or update events of one kind, as ingest upserts links: written whole at creation,
    rewritten (version + 1) only when the content hash differs; `r.p` holds every stored field
    (null when absent), so an update replaces them all. `at` comes as ISO text in UTC and is stored
    as a DATETIME: the driver's own conversion of a Python datetime is pure Python and cost more
    than the rest of the statement."""
    if label not in {e.label for e in get_schema().events.values()}:  # whitelist check
        raise KeyError(label)
    return owned_upsert("UNWIND $rows AS row\nWITH row.id AS id, row.p AS p\n"
                        "WITH {id: id, p: p {.*, at: datetime(p.at)}} AS r\nMERGE (e:Event {id: r.id})", "e", label)


# Cell sites and readers: Location entities of the caller, keyed like ingest's (agency, type, ref).
# Given properties are set and absent ones kept (a CDR line without the cell's coordinates does not
# erase them); the sharing is set at creation only (the most open of the events that created it).
UPSERT_PLACES = f"""
UNWIND $rows AS r
MERGE (n:Node {{id: r.id}})
ON CREATE SET n:Entity:Location, n += r.created, n += r.given, n.type = 'Location', n.ref = r.ref,
              n.owner_agency = $agency, n.owner_unit = $unit, n.created_at = $now, n.updated_at = $now,
              n.version = 1, n.source_system = $source, n.batch_id = $batch
WITH n, r, n.batch_id = $batch AS created
WITH n, r, created, NOT created AND any(k IN keys(r.given) WHERE n[k] IS NULL OR n[k] <> r.given[k]) AS changed
WHERE created OR changed
FOREACH (_ IN CASE WHEN changed THEN [1] ELSE [] END |
  SET n += r.given, n.content_hash = null, n.version = coalesce(n.version, 0) + 1, n.source_system = $source,
      n.updated_at = $now, n.batch_id = $batch)
{_STATUSES}"""

# `$rows`: `{id, sharing}` for each (identifier, sharing level) of the batch's events. The identifier
# keeps the agencies with events naming it (`event_agencies`) and those with one every agency may
# know of (`event_agencies_known`), so lookups and alerts learn who holds events on it without
# reading a single event. Written only when the agency is not listed yet: a hub is locked once per
# agency, not once per batch.
RECORD_EVENT_AGENCIES = f"""
UNWIND $rows AS r
MATCH (i:Node {{id: r.id}})
WITH i, r, NOT $agency IN coalesce(i.event_agencies, []) AS add_any,
     {event_known_to_all("r")} AND NOT $agency IN coalesce(i.event_agencies_known, []) AS add_known
WHERE add_any OR add_known
SET i.event_agencies = [_a IN coalesce(i.event_agencies, []) WHERE _a <> $agency] + $agency,
    i.event_agencies_known = CASE WHEN add_known
      THEN [_a IN coalesce(i.event_agencies_known, []) WHERE _a <> $agency] + $agency
      ELSE i.event_agencies_known END
"""

# Shared-identifier alerts for the identifiers the batch's written events name (not those it
# created: nobody else holds data on them). Who else holds data on each, and whether we may know:
# OTHER_HOLDERS, as for ingest. Whether they may know of ours: our agency among the event holders
# they may know of (the lists above already hold this batch). Our side's entity is the identifier.
FIND_SHARED_IDENTIFIERS = f"""
UNWIND $groups AS g
MATCH (i:Node {{id: g.identifier}})
WITH i, g, {viewer_of("$agency")} AS us
{OTHER_HOLDERS}
WITH i, other, their_entity, we_may_know, {viewer_of("other")} AS them
RETURN i.id AS identifier, i.id AS entity, coalesce(their_entity, i.id) AS their_entity, other, we_may_know,
       $agency IN {event_holders("i", "them")} AS they_may_know
"""

# Late hits, first step: which of `$ids` (the identifiers the batch's written events name) have an
# unexpired memory of another agency — usually none, and then nothing more is asked.
REMEMBERED = """
UNWIND $ids AS id
MATCH (m:LookupMemory {identifier_id: id})
WHERE m.expires_at > $now AND m.agency <> $agency
RETURN DISTINCT id
"""

# Late hits: `$rows` are `{identifier, events}` (the batch's written events naming it). An unexpired
# memory of another agency is met when that agency may know one of the events exists
# (`event_known`), as a lookup by it would now answer a hit.
FIND_LATE_HITS = f"""
UNWIND $rows AS row
MATCH (m:LookupMemory {{identifier_id: row.identifier}})
WHERE m.expires_at > $now AND m.agency <> $agency
WITH m, row, {viewer_of("m.agency")} AS sv
WHERE any(eid IN row.events WHERE EXISTS {{ MATCH (e:Event {{id: eid}}) WHERE {event_known("e", "sv")} }})
RETURN DISTINCT m.id AS memory, m.agency AS searcher, m.purpose AS purpose, m.identifier_id AS identifier
"""


@lru_cache
def merge_aggregates(rel_type: str) -> str:
    """The derived `rel_type` links (CALLED, TRANSFERRED) of the events created by a batch: one per
    (owner agency, sharing and codes, source, target), its id derived from them (`r.id`), counting
    the events, their first and last time (ISO text in UTC, compared as datetimes) and, for
    transfers, their total amount. Rows come sorted by their pair of ends."""
    get_schema().relationship(rel_type)  # whitelist check
    return f"""
UNWIND $rows AS r
MATCH (a:Node {{id: r.src}})
MATCH (b:Node {{id: r.dst}})
MERGE (a)-[l:{rel_type} {{id: r.id}}]->(b)
ON CREATE SET l += r.p, l.derived = true, l.count = 0, l.owner_agency = $agency, l.owner_unit = $unit,
              l.created_at = $now, l.version = 0, l.source_system = $source
SET l.count = l.count + r.count, l.version = l.version + 1, l.updated_at = $now, l.batch_id = $batch,
    l.first = CASE WHEN l.first IS NULL OR datetime(l.first) > datetime(r.first) THEN r.first ELSE l.first END,
    l.last = CASE WHEN l.last IS NULL OR datetime(l.last) < datetime(r.last) THEN r.last ELSE l.last END,
    l.amount_eur = CASE WHEN r.amount_eur IS NULL THEN l.amount_eur
                        ELSE coalesce(l.amount_eur, 0.0) + r.amount_eur END
"""
