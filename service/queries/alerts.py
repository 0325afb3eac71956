"""Cypher behind /v1/alerts: deconfliction alerts of the caller's agency.

Alerts are `(:Alert {id, agency, kind, created_at, entity_id, identifier_id, counterpart_agency,
counterpart_contact, acknowledged, pair_key})`, raised by ingest (`shared_identifier`) and by
objective declarations (`objective_overlap`), by lookups and ingest (`late_hit`, with the searcher's
`purpose`) and by ingest's person matching (`possible_match`, with `reasons` and `match_id`). An
agency reads and acknowledges only its own: the filter on `agency` is in every query, and only
the public fields are returned.
"""

from __future__ import annotations

from service.access.visibility import node_full
from service.queries import FIRST_PLAN

STORED = (".id, .kind, .created_at, .entity_id, .identifier_id, .counterpart_agency, .counterpart_contact, "
           ".acknowledged, .purpose, .reasons, .match_id, .watch_id")
FIELDS = f"a {{{STORED}}}"

def entity_name(var: str) -> str:
    """The name of entity `var` (null when `var` is): a person's names, else its name, label,
    reference, value or ref. Only for an entity the recipient sees in full (`node_full`)."""
    return (f"CASE WHEN {var} IS NULL THEN null "
            f"WHEN {var}.first_name IS NOT NULL OR {var}.last_name IS NOT NULL "
            f"THEN trim(coalesce({var}.first_name, '') + ' ' + coalesce({var}.last_name, '')) "
            f"ELSE coalesce({var}.name, {var}.label, {var}.reference, {var}.value, {var}.ref, {var}.id) END")


# The triage filter (`$f`, from `AlertFilter`): every criterion is optional. `unit` is the unit
# owning the recipient's entity (the alert names the agency only); `since`/`until` compare the
# stored ISO text, which every writer produces in UTC with the same precision.
FILTER = """a.agency = $agency
  AND ($f.acknowledged IS NULL OR coalesce(a.acknowledged, false) = $f.acknowledged)
  AND ($f.kinds IS NULL OR a.kind IN $f.kinds)
  AND ($f.ids IS NULL OR a.id IN $f.ids)
  AND ($f.entity_id IS NULL OR a.entity_id = $f.entity_id)
  AND ($f.counterpart_agency IS NULL OR a.counterpart_agency = $f.counterpart_agency)
  AND ($f.since IS NULL OR a.created_at >= $f.since)
  AND ($f.until IS NULL OR a.created_at <= $f.until)"""

# Each alert with the recipient's own entity, when the caller may see it in full (it is the
# caller's own data, but the rule is applied here as on every read), and whether it touches what
# the caller's unit works on first: an active priority target or one of the unit's open FNOS
# objectives.
_MATCHED = f"""
MATCH (a:Alert) WHERE {FILTER}
OPTIONAL MATCH (e:Node {{id: a.entity_id}})
WITH a, e WHERE $f.unit IS NULL OR e.owner_unit = $f.unit
WITH a, CASE WHEN e IS NOT NULL AND {node_full("e")} THEN e END AS e
WITH a, e, {entity_name("e")} AS entity_name,
     e IS NOT NULL AND (
       EXISTS {{ MATCH (t:PriorityTarget {{entity_id: e.id}}) WHERE t.status = 'active' }} OR
       EXISTS {{ MATCH (o:Objective {{entity_id: e.id}})
                WHERE o.agency = $agency AND o.unit = $unit AND o.closed_at IS NULL }}) AS priority
"""

COUNT = f"{_MATCHED} RETURN count(a) AS total"

# The live badge: pending alerts of the agency, nothing else — an index read on `agency`.
PENDING_COUNT = """
MATCH (a:Alert) WHERE a.agency = $agency AND NOT coalesce(a.acknowledged, false)
RETURN count(a) AS total
"""

LIST = f"""{_MATCHED}
RETURN a {{{STORED}, entity_name: entity_name, priority: priority}} AS alert
ORDER BY priority DESC, a.created_at DESC, a.id
SKIP $offset LIMIT $limit
"""

# Groups by any of (own entity, counterpart agency, kind): a criterion left out of `$by` is null
# in every group. Priority groups first, then those with the most pending alerts, then the newest.
GROUPS = f"""{_MATCHED}
WITH CASE WHEN 'entity' IN $by THEN a.entity_id END AS entity_id,
     CASE WHEN 'counterpart_agency' IN $by THEN a.counterpart_agency END AS counterpart_agency,
     CASE WHEN 'kind' IN $by THEN a.kind END AS kind,
     a, entity_name, priority
ORDER BY a.created_at DESC
WITH entity_id, counterpart_agency, kind, count(a) AS count,
     sum(CASE WHEN coalesce(a.acknowledged, false) THEN 0 ELSE 1 END) AS pending,
     max(a.created_at) AS latest_at, max(CASE WHEN priority THEN 1 ELSE 0 END) = 1 AS priority,
     head(collect(entity_name)) AS entity_name,
     head(collect(a.counterpart_contact)) AS counterpart_contact,
     collect(DISTINCT a.kind) AS kinds
ORDER BY priority DESC, pending DESC, latest_at DESC, entity_id, counterpart_agency, kind
WITH collect({{entity_id: entity_id, entity_name: CASE WHEN entity_id IS NULL THEN null ELSE entity_name END,
              counterpart_agency: counterpart_agency,
              counterpart_contact: CASE WHEN counterpart_agency IS NULL THEN null ELSE counterpart_contact END,
              kind: kind, kinds: kinds, count: count, pending: pending, latest_at: latest_at,
              priority: priority}}) AS groups
RETURN size(groups) AS total, groups[$offset..$offset + $limit] AS groups
"""

ACK = f"""
MATCH (a:Alert {{id: $id}})
WHERE a.agency = $agency
SET a.acknowledged = true, a.acknowledged_at = coalesce(a.acknowledged_at, $now),
    a.acknowledged_by = coalesce(a.acknowledged_by, $sub)
RETURN {FIELDS} AS alert
"""

# Bulk acknowledgement: every pending alert of the caller's agency the filter selects, in one
# statement (a group, a kind, a period), returning the ids for the audit trail.
ACK_MATCHING = f"""{_MATCHED}
WITH a WHERE NOT coalesce(a.acknowledged, false)
SET a.acknowledged = true, a.acknowledged_at = $now, a.acknowledged_by = $sub
RETURN a.id AS id
"""

# Alerts raised by the lifecycle features (`late_hit`, `possible_match`): one statement for every
# kind, `pair_key` unique (migration 5), so a re-push, a retry or a concurrent batch never alerts
# twice. `reasons` is JSON text (a list of maps is not a Neo4j property).
RAISE = FIRST_PLAN + """
UNWIND $alerts AS a
MERGE (x:Alert {pair_key: a.pair_key})
ON CREATE SET x.id = randomUUID(), x.kind = a.kind, x.agency = a.agency, x.created_at = $now,
              x.entity_id = a.entity_id, x.identifier_id = a.identifier_id,
              x.counterpart_agency = a.counterpart_agency, x.counterpart_contact = a.counterpart_contact,
              x.purpose = a.purpose, x.reasons = a.reasons, x.match_id = a.match_id, x.watch_id = a.watch_id,
              x.acknowledged = false
"""
