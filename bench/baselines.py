"""The baselines of bench/explore.py: each read endpoint's Cypher without any visibility predicate.

Same statements, same shapes, same parameters (the `$viewer` the endpoints take is passed and
ignored), plain properties instead of views: the difference to the endpoint's own Cypher is
what the visibility rules cost.
"""

from __future__ import annotations

from functools import lru_cache

from graph_schema import get_schema
from graph_schema.migrations import FULLTEXT_INDEX
from service.queries.explore import _neighbourhood, rel_types


@lru_cache
def raw_neighbourhood(depth: int, types: tuple[str, ...] | None) -> str:
    return _neighbourhood(depth, types, raw=True)


@lru_cache
def raw_paths(max_hops: int, types: tuple[str, ...] | None) -> str:
    hops = int(max_hops)
    if not 1 <= hops <= 8:
        raise ValueError("max_hops must be in 1..8")
    return f"""
OPTIONAL MATCH (a:Node {{id: $source}})
OPTIONAL MATCH (b:Node {{id: $target}})
CALL (a, b) {{
  WITH a, b WHERE a IS NOT NULL AND b IS NOT NULL
  MATCH p = ALL SHORTEST (a)(()-[r:{rel_types(types)}]-(n:Node)){{1,{hops}}}(b)
  WITH p LIMIT $limit
  RETURN collect({{nodes: [x IN nodes(p) | properties(x)],
                   edges: [e IN relationships(p) | {{props: properties(e), type: type(e),
                                                     source: startNode(e).id, target: endNode(e).id}}]}}) AS paths
}}
RETURN a IS NOT NULL AS source_known, b IS NOT NULL AS target_known, paths
"""


RAW_SEARCH = f"""
CALL db.index.fulltext.queryNodes('{FULLTEXT_INDEX}', $lucene) YIELD node, score
WHERE node:Entity AND node.type IN $types
WITH node, score ORDER BY score DESC, node.id
WITH collect({{n: node, s: score}}) AS hits
RETURN size(hits) AS total, [h IN hits[$offset..($offset + $limit)] | {{node: properties(h.n), score: h.s}}] AS page
"""

RAW_LOOKUP = """
OPTIONAL MATCH (i:Node {id: $id})
WHERE i:Identifier
OPTIONAL MATCH (i)-[r]-(o:Node)
WITH i, collect(DISTINCT r.owner_agency) + collect(DISTINCT o.owner_agency) AS owners
RETURN i.id AS id, [a IN owners WHERE a IS NOT NULL] AS owners
"""

# Key players: the same subgraph shape (members, then 1-2 hops over schema relationships, the
# network node left out).
RAW_KP_NETWORK = "MATCH (n:Node {id: $id}) WHERE n:Network RETURN properties(n) AS network"
RAW_KP_MEMBERS = "MATCH (n:Node {id: $id})<-[r:MEMBER_OF]-(p:Person) RETURN p.id AS id, r.role AS role"
RAW_KP_PERSONS = ("UNWIND $ids AS pid MATCH (p:Node {id: pid}) WHERE p:Person "
                  "RETURN p.id AS id, properties(p) AS person")


@lru_cache
def raw_kp_edges() -> str:
    rels = get_schema().relationship_pattern()
    return f"""
MATCH (n:Node {{id: $id}})<-[:MEMBER_OF]-(m:Person)
MATCH path = (m)-[:{rels}*1..2]-(:Node)
WHERE all(y IN nodes(path) WHERE y:Node AND y <> n)
UNWIND relationships(path) AS r
WITH DISTINCT r
LIMIT $max_edges
WITH r, startNode(r) AS a, endNode(r) AS b
RETURN a.id AS source, a:Person AS source_person, b.id AS target, b:Person AS target_person
"""
