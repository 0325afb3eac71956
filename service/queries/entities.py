"""Cypher behind /v1/entities/{id}. Visibility is decided here, inside the queries."""

from __future__ import annotations

from graph_schema import get_schema
from service.access.visibility import node_full, node_known, node_view, rel_known

# Only data relationships of the schema count: workflow ones (TARGETS, DESIGNATES…) are not links.
_DATA_RELS = get_schema().relationship_pattern()

# The entity as the caller may see it (full or stub), or no row when it may not know it exists.
# Link counts only cover links the caller may know exist, to ends it may know exist; a stub
# gets none (its links are the owner's business).
GET_ENTITY = f"""
MATCH (n:Node {{id: $id}})
WHERE {node_known('n')}
WITH n, {node_full('n')} AS full
CALL (n, full) {{
  MATCH (n)-[r:{_DATA_RELS}]-(m:Node)
  WHERE full AND {rel_known('r')} AND {node_known('m')}
  WITH type(r) AS t, count(r) AS c
  RETURN collect([t, c]) AS links
}}
RETURN {node_view('n')} AS node, full, links
"""

# What the caller may learn about an item it wants to delete: nothing beyond "known".
OWNER_PROBE = f"""
MATCH (n:Node {{id: $id}})
WHERE {node_known('n')}
RETURN n:Identifier AS identifier, n.owner_agency AS owner, n.type AS type
"""

# Entries of the national priority list in a live status are public to every agency, so naming
# them tells the owner nothing it may not know; proposals are not (central agency and proposer only).
LIVE_DESIGNATIONS = """
MATCH (t:PriorityTarget)-[:DESIGNATES]->(:Node:Entity {id: $id})
WHERE t.status IN ['active', 'suspended']
RETURN t.id AS id, t.status AS status
ORDER BY id
"""

DELETE_ENTITY = """
MATCH (n:Node:Entity {id: $id})
WHERE n.owner_agency = $agency
DETACH DELETE n
RETURN count(*) AS deleted
"""
