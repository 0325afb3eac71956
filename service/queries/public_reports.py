"""Cypher of the public reports (measure 16): a workflow record per report (`PublicReport`), queued
for the agency that triages it (`cross`, the CROSS of its département, else the central agency).
No client address, no reporter: the record holds the place, the description and the times only."""

from __future__ import annotations

from service.access.visibility import node_full

CREATE_REPORT = """
CREATE (r:PublicReport {id: $id, cross: $cross, departement: $departement, lat: $lat, lon: $lon,
                        address: $address, description: $description, observed_at: $observed_at,
                        received_at: $now, status: 'queued'})
"""

# The queue of one triaging agency, oldest first.
QUEUE = """
MATCH (r:PublicReport {cross: $agency})
WHERE $status IS NULL OR r.status = $status
RETURN r {.*} AS report
ORDER BY r.received_at, r.id
LIMIT $limit
"""

# One report, for its triaging agency only: another agency gets nothing (404, not 403: the queue
# of another CROSS is not the caller's to know).
REPORT_FOR = """
MATCH (r:PublicReport {id: $id, cross: $agency})
RETURN r {.*} AS report
"""

DECIDE = """
MATCH (r:PublicReport {id: $id, cross: $agency, status: 'queued'})
SET r.status = $status, r.decided_at = $now, r.decided_by = $sub, r.deal_point_id = $deal_point_id,
    r.reason = $reason
RETURN r {.*} AS report
"""

# A deal point a report may be merged into: one the triaging agency sees in full.
DEAL_POINT = f"""
MATCH (l:Location {{id: $id}})
WHERE l.kind = 'deal_point' AND {node_full('l')}
RETURN l.id AS id
"""
