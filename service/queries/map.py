"""Cypher behind GET /v1/map/deal-points: deal points (measure 5's unified map) as the caller may see them.

A deal point is a `(:Location {kind: 'deal_point'})`. Its coordinates are content: only deal
points the caller sees in full (`node_full`) are placed on the map. Restricted deal points of
other agencies are known to exist, so they are counted per owner agency — with no place, label
or code — for the caller to know whom to call; confidential ones of others are not counted at
all. The network that operates a deal point is attached only when both the `OPERATES` link and
the network are known to the caller, in full or as a stub (`node_view`). Every value is a
parameter (`$viewer`, `$limit`).
"""

from __future__ import annotations

from service.access.visibility import node_full, node_known, node_view, rel_known

DEAL_POINTS = f"""
MATCH (l:Location)
WHERE l.kind = 'deal_point' AND {node_full('l')} AND l.lat IS NOT NULL AND l.lon IS NOT NULL
WITH l ORDER BY l.id LIMIT $limit
CALL (l) {{
  MATCH (n:Network)-[r:OPERATES]->(l)
  WHERE {rel_known('r')} AND {node_known('n')}
  WITH n, {node_full('n')} AS full ORDER BY full DESC, n.id
  RETURN collect({node_view('n')})[0] AS network
}}
RETURN l.id AS id, l.label AS label, l.lat AS lat, l.lon AS lon, l.insee_code AS insee_code,
       l.owner_agency AS owner_agency, network
"""

# Restricted deal points of other agencies: how many, by owner agency — nothing else.
WITHHELD = f"""
MATCH (l:Location)
WHERE l.kind = 'deal_point' AND {node_known('l')} AND NOT {node_full('l')}
RETURN l.owner_agency AS owner_agency, count(l) AS deal_points
ORDER BY owner_agency
"""
