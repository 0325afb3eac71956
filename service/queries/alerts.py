"""Cypher behind /v1/alerts: deconfliction alerts of the caller's agency.

Alerts are `(:Alert {id, agency, kind, created_at, entity_id, identifier_id, counterpart_agency,
counterpart_contact, acknowledged, pair_key})`, raised by ingest (`shared_identifier`) and by
objective declarations (`objective_overlap`), by lookups and ingest (`late_hit`, with the searcher's
`purpose`) and by ingest's person matching (`possible_match`, with `reasons` and `match_id`). An
agency reads and acknowledges only its own: the filter on `agency` is in every query, and only
the public fields are returned.
"""

from __future__ import annotations

FIELDS = ("a {.id, .kind, .created_at, .entity_id, .counterpart_agency, .counterpart_contact, .acknowledged, "
          ".purpose, .reasons, .match_id}")

FILTER = "a.agency = $agency AND ($acknowledged IS NULL OR coalesce(a.acknowledged, false) = $acknowledged)"

COUNT = f"MATCH (a:Alert) WHERE {FILTER} RETURN count(a) AS total"

LIST = f"""
MATCH (a:Alert) WHERE {FILTER}
RETURN {FIELDS} AS alert
ORDER BY a.created_at DESC, a.id
SKIP $offset LIMIT $limit
"""

ACK = f"""
MATCH (a:Alert {{id: $id}})
WHERE a.agency = $agency
SET a.acknowledged = true, a.acknowledged_at = coalesce(a.acknowledged_at, $now),
    a.acknowledged_by = coalesce(a.acknowledged_by, $sub)
RETURN {FIELDS} AS alert
"""

# Alerts raised by the lifecycle features (`late_hit`, `possible_match`): one statement for every
# kind, `pair_key` unique (migration 5), so a re-push, a retry or a concurrent batch never alerts
# twice. `reasons` is JSON text (a list of maps is not a Neo4j property).
RAISE = """
UNWIND $alerts AS a
MERGE (x:Alert {pair_key: a.pair_key})
ON CREATE SET x.id = randomUUID(), x.kind = a.kind, x.agency = a.agency, x.created_at = $now,
              x.entity_id = a.entity_id, x.identifier_id = a.identifier_id,
              x.counterpart_agency = a.counterpart_agency, x.counterpart_contact = a.counterpart_contact,
              x.purpose = a.purpose, x.reasons = a.reasons, x.match_id = a.match_id, x.acknowledged = false
"""
