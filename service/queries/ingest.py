"""Cypher behind POST /v1/ingest.

Labels, relationship types and property names are spliced in only from `graph_schema` (the
whitelist); every value is a parameter. One statement per type group, each an `UNWIND` over
the group's rows with `MERGE` on the indexed `id`: no per-row round trips.
"""

from __future__ import annotations

from functools import lru_cache

from graph_schema import get_schema
from service.access.visibility import event_holders, node_hit, rel_known, viewer_of
from service.queries import FIRST_PLAN
from service.queries.review import review_due

# The nodes a batch names without writing them: ids given by the caller (another agency's
# entity is refused) and owned link ends not in the batch (they must be the caller's, stored).
PROBE_NODES = FIRST_PLAN + """
UNWIND $ids AS id
MATCH (n:Node {id: id})
RETURN n.id AS id, n:Identifier AS identifier, n.owner_agency AS owner
"""

# The stored values of properties that only move forward (graph_schema: `progression`), for the
# batch's items of such types: their write locks first (the SET changes nothing), then the read
# in a second statement, so a concurrent batch moving the same item waits and is judged against
# what the first committed, never against what it read before.
LOCK_PROGRESSING = FIRST_PLAN + """
UNWIND $ids AS id
MATCH (n:Node {id: id})
SET n.type = n.type
"""

READ_PROGRESSING = FIRST_PLAN + """
UNWIND $ids AS id
MATCH (n:Node {id: id})
RETURN n.id AS id, [k IN $props | n[k]] AS stored
"""


# The upserts return one record: the ids they created and those they updated; rows not listed
# were unchanged. Rows carry `p`, the full map of what changes (every declared property, null
# when absent — `SET += null` removes it — and sharing, search text, content hash), so the
# properties are replaced as a whole while what other features store on the node (grantees…)
# stays. A new item is written whole by ON CREATE (the common case costs one SET); a stored one
# is rewritten only when its content hash differs, so a concurrent identical write is a no-op,
# not a second version. `batch_id = $batch` right after the MERGE means "created just now".
_STATUSES = """
RETURN collect(CASE WHEN created THEN r.id END) AS created, collect(CASE WHEN changed THEN r.id END) AS updated
"""


# A Person's `minor` flag (`r.minor`: under 18 on the service clock's today) is set at creation
# and re-evaluated whenever the person's data changes; it stays true while the birth date stays
# the same (data collected on a minor remains data on a minor once the person turns 18), and a
# corrected birth date re-evaluates it. It is assigned before `n += r.p` so it reads the old birth date.
_MINOR_ON_CREATE = ", n.minor = r.minor"
_MINOR_ON_CHANGE = ("n.minor = r.minor OR (coalesce(n.minor, false) AND coalesce(n.birth_date = r.p.birth_date, "
                    "false)), ")


@lru_cache
def upsert_entities(type_name: str) -> str:
    """Create or update owned entities of one type. An entity created or changed is due for review
    anew (`$due`, or `$minor_due` for a minor: `service.domain.lifecycle.retention.review_dates`), in
    the same statement: no second walk over the batch's entities."""
    get_schema().node(type_name)  # whitelist check
    person = type_name == "Person"
    return f"""{FIRST_PLAN}
UNWIND $rows AS r
MERGE (n:Node {{id: r.id}})
ON CREATE SET n:Entity:{type_name}, n += r.p, n.type = '{type_name}', n.ref = r.ref, n.owner_agency = $agency,
              n.owner_unit = $unit, n.created_at = $now, n.updated_at = $now, n.version = 1,
              n.source_system = $source, n.batch_id = $batch{_MINOR_ON_CREATE if person else ""}
WITH n, r, n.batch_id = $batch AS created
WITH n, r, created, NOT created AND coalesce(n.content_hash, '') <> r.p.content_hash AS changed
WHERE created OR changed
FOREACH (_ IN CASE WHEN changed THEN [1] ELSE [] END |
  SET {_MINOR_ON_CHANGE if person else ""}n += r.p, n.version = coalesce(n.version, 0) + 1,
      n.source_system = $source, n.updated_at = $now, n.batch_id = $batch)
SET n.review_due = {review_due('n')}
{_STATUSES}"""


@lru_cache
def upsert_identifiers(type_name: str) -> str:
    """Merge identifiers of one type on their id; given properties are added, never removed
    (an identifier is shared: one agency's push does not erase what another said of it)."""
    get_schema().node(type_name)  # whitelist check
    return f"""{FIRST_PLAN}
UNWIND $rows AS r
MERGE (n:Node {{id: r.id}})
ON CREATE SET n:Identifier:{type_name}, n += r.p, n.type = '{type_name}', n.value = r.value,
              n.search_text = r.value, n.created_at = $now, n.updated_at = $now, n.batch_id = $batch
WITH n, r, n.batch_id = $batch AS created
WITH n, r, created, NOT created AND any(k IN keys(r.p) WHERE n[k] IS NULL OR n[k] <> r.p[k]) AS changed
WHERE created OR changed
FOREACH (_ IN CASE WHEN changed THEN [1] ELSE [] END | SET n += r.p, n.updated_at = $now, n.batch_id = $batch)
{_STATUSES}"""


@lru_cache
def upsert_links(rel_type: str) -> str:
    """Create or update links of one type between ends matched by their indexed id. Replanned as
    the graph grows, unlike the other ingest statements (`service.queries.FIRST_PLAN` says why)."""
    get_schema().relationship(rel_type)  # whitelist check
    return owned_upsert(f"""
UNWIND $rows AS r
MATCH (a:Node {{id: r.src}})
MATCH (b:Node {{id: r.dst}})
MERGE (a)-[l:{rel_type} {{id: r.id}}]->(b)""", "l")


def owned_upsert(merge: str, var: str, label: str = "") -> str:
    """The rest of an upsert of owned items (links, events) after `merge`, the clauses that bind
    `r` (a row) and `var` (the item, MERGEd on `r.id`): the owner and provenance at creation (and
    `label`), then the content replaced, version + 1, only when the content hash differs."""
    labels = f"{var}:{label}, " if label else ""
    return f"""{merge}
ON CREATE SET {labels}{var} += r.p, {var}.owner_agency = $agency, {var}.owner_unit = $unit, {var}.created_at = $now,
              {var}.updated_at = $now, {var}.version = 1, {var}.source_system = $source, {var}.batch_id = $batch
WITH {var}, r, {var}.batch_id = $batch AS created
WITH {var}, r, created, NOT created AND coalesce({var}.content_hash, '') <> r.p.content_hash AS changed
WHERE created OR changed
FOREACH (_ IN CASE WHEN changed THEN [1] ELSE [] END |
  SET {var} += r.p, {var}.version = coalesce({var}.version, 0) + 1, {var}.source_system = $source,
      {var}.updated_at = $now, {var}.batch_id = $batch)
{_STATUSES}"""


def _entity_link_types() -> str:
    """The relationship types that may link an identifier to an entity (`a|b|c`): a holder's data on
    an identifier is one of these; walking only them skips a hub phone's CALLED links to other phones."""
    schema = get_schema()
    names = [name for name, rel in schema.relationships.items()
             if any(schema.nodes[a].is_identifier != schema.nodes[b].is_identifier for a, b in rel.pairs)]
    return schema.relationship_pattern(names)


# The other agencies (than `$agency`) holding data on identifier `i`, one row per holding, and whether
# viewer `us` may know of it the way a lookup would: their links to their entities (`node_hit`,
# `rel_known`; `their_id` the entity), or their events naming `i` (`event_holders`, from the lists
# the event writer keeps on the identifier; `their_id` null). Shared by the shared-identifier
# alerts of /v1/ingest and of /v1/events.
OTHER_HOLDERS = f"""
CALL (i, us) {{
  MATCH (i)-[theirs:{_entity_link_types()}]-(o:Entity)
  WHERE o.owner_agency <> $agency
  RETURN o.owner_agency AS other, o.id AS their_id, {node_hit("o", "us")} AND {rel_known("theirs", "us")} AS known
  UNION ALL
  UNWIND [_a IN coalesce(i.event_agencies, []) WHERE _a <> $agency] AS other
  RETURN other, null AS their_id, other IN {event_holders("i", "us")} AS known
}}
WITH i, g, other, min(their_id) AS their_entity, count(CASE WHEN known THEN 1 END) > 0 AS we_may_know
"""


# Shared-identifier alerts (deconfliction). `$groups` are the identifiers this batch linked (and did
# not create), each with the batch's own entities it linked to it (`entities`, sorted). For each,
# the other agencies holding data on the identifier are found (OTHER_HOLDERS), with whether each
# side may know the other's data exists: a side is alerted only about data it may know of (another
# agency's confidential item without a grant raises nothing for it). The router keeps one alert per
# (recipient, counterpart, identifier). An alert is a hit — which agency holds data on the
# identifier, whom to call — so each side is judged as a lookup would judge it (`node_hit`: another
# agency's minor raises it, never showing it), with `us` the ingesting agency's viewer and `them`
# the other agency's. Whether we may know depends only on their side, whether they may only on
# ours: one row per (identifier, other agency), so a hub's links are walked once per batch, not once
# per entity of the batch linked to it. `entity` / `their_entity`: the smallest id of each side
# (the identifier's own when the other side holds only events).
FIND_SHARED_IDENTIFIERS = FIRST_PLAN + f"""
UNWIND $groups AS g
MATCH (i:Node {{id: g.identifier}})
WHERE COUNT {{ (i)--() }} > 1 OR i.event_agencies IS NOT NULL
WITH i, g, {viewer_of("$agency")} AS us
{OTHER_HOLDERS}
CALL (i, g, other) {{
  UNWIND g.entities AS eid
  MATCH (e:Node {{id: eid}})-[mine]-(i)
  WITH e, mine, {viewer_of("other")} AS them
  WITH e, count(CASE WHEN {node_hit("e", "them")} AND {rel_known("mine", "them")} THEN 1 END) > 0 AS known
  RETURN min(e.id) AS entity, count(CASE WHEN known THEN 1 END) > 0 AS they_may_know
}}
WITH i, other, their_entity, we_may_know, entity, they_may_know
WHERE entity IS NOT NULL
RETURN i.id AS identifier, entity, coalesce(their_entity, i.id) AS their_entity, other, we_may_know, they_may_know
"""

# `pair_key` is unique (migration 5): a re-push, a retry or a concurrent batch never alerts twice.
MERGE_ALERTS = FIRST_PLAN + """
UNWIND $alerts AS a
MERGE (x:Alert {pair_key: a.pair_key})
ON CREATE SET x.id = randomUUID(), x.kind = 'shared_identifier', x.agency = a.agency, x.created_at = $now,
              x.entity_id = a.entity_id, x.identifier_id = a.identifier_id,
              x.counterpart_agency = a.counterpart_agency, x.counterpart_contact = a.counterpart_contact,
              x.acknowledged = false
"""
