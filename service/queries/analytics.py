"""Cypher behind /v1/analytics: key players of a network, bridges between networks.

Neo4j Community has no graph algorithms library: these queries only fetch the caller's visible
subgraph (visibility applied in the query with `$viewer`), and the router computes centralities
in Python (`service.domain.analytics.centrality`). Relationship types come from the schema (the whitelist), so
workflow links (objectives, priority targets) are never walked.
"""

from __future__ import annotations

from functools import lru_cache

from graph_schema import get_schema
from service.access.visibility import node_known, node_view, rel_full, rel_known
from service.queries.networks import NETWORK as NETWORK  # the network reads as on its own page

MEMBERS = f"""
MATCH (n:Node {{id: $id}})<-[r:MEMBER_OF]-(p:Person)
WHERE {rel_known('r')} AND {node_known('p')}
RETURN p.id AS id, CASE WHEN {rel_full('r')} THEN r.role END AS role
"""


@lru_cache
def subgraph_edges() -> str:
    """Known relationships on known paths of 1-2 hops from the network's known members.

    The network node itself is left out: every member is tied to it by definition, so it would
    sit on every shortest path and hide who really connects whom.
    """
    rels = get_schema().relationship_pattern()
    return f"""
MATCH (n:Node {{id: $id}})<-[mr:MEMBER_OF]-(m:Person)
WHERE {rel_known('mr')} AND {node_known('m')}
MATCH path = (m)-[:{rels}*1..2]-(:Node)
WHERE all(y IN nodes(path) WHERE y:Node AND y <> n AND {node_known('y')})
  AND all(r IN relationships(path) WHERE {rel_known('r')})
UNWIND relationships(path) AS r
WITH DISTINCT r
LIMIT $max_edges
WITH r, startNode(r) AS a, endNode(r) AS b
RETURN a.id AS source, a:Person AS source_person, b.id AS target, b:Person AS target_person
"""


PERSON_VIEWS = f"""
UNWIND $ids AS pid
MATCH (p:Node {{id: pid}})
WHERE p:Person AND {node_known('p')}
RETURN p.id AS id, {node_view('p')} AS person
"""

# A bridge is a person member of two or more networks, or an identifier used, held or owned by
# two or more networks or by members of two or more networks. Every node and relationship on
# the way must be known to the caller.
BRIDGES = f"""
CALL () {{
  MATCH (x:Person)-[r:MEMBER_OF]->(n:Network)
  WHERE {node_known('x')} AND {rel_known('r')} AND {node_known('n')}
  RETURN x, n
  UNION
  MATCH (n:Network)-[r:USES|OWNS]->(x:Identifier)
  WHERE {node_known('n')} AND {rel_known('r')}
  RETURN x, n
  UNION
  MATCH (n:Network)<-[m:MEMBER_OF]-(p:Person)-[r:USES|HOLDS|OWNS]->(x:Identifier)
  WHERE {node_known('n')} AND {rel_known('m')} AND {node_known('p')} AND {rel_known('r')}
  RETURN x, n
}}
WITH x, collect(DISTINCT n) AS nets
WHERE size(nets) >= 2
WITH x, nets
ORDER BY size(nets) DESC, x.id
WITH collect({{x: x, nets: nets}}) AS found
WITH size(found) AS total, found[$offset..($offset + $limit)] AS page
UNWIND (CASE WHEN page = [] THEN [null] ELSE page END) AS row
WITH total, row.x AS x, row.nets AS nets
RETURN total,
       CASE WHEN x IS NULL THEN null ELSE {node_view('x')} END AS node,
       x:Person AS is_person,
       [n IN coalesce(nets, []) | {node_view('n')}] AS networks
"""
