"""Cypher behind /v1/alerts: deconfliction alerts of the caller's agency.

Alerts are `(:Alert {id, agency, kind, created_at, entity_id, identifier_id, counterpart_agency,
counterpart_contact, acknowledged, pair_key})`, raised by ingest (`shared_identifier`) and by
objective declarations (`objective_overlap`). An agency reads and acknowledges only its own: the
filter on `agency` is in every query, and only the public fields are returned.
"""

from __future__ import annotations

FIELDS = "a {.id, .kind, .created_at, .entity_id, .counterpart_agency, .counterpart_contact, .acknowledged}"

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
