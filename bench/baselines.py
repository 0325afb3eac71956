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


# --- events (bench/events.py): the analyses' main statement without any predicate ------------------
# Written for calls, the only kind the events benchmark generates; party fields as the schema stores
# them (`from_id`, `to_id`), seeking the same (party id, at) and (place_ref, at) indexes.

_CALLS_OF = """
  MATCH (e:Call) WHERE e.from_id = {phone} AND e.at >= $since AND e.at <= $until RETURN e, e.to_id AS other
  UNION
  MATCH (e:Call) WHERE e.to_id = {phone} AND e.at >= $since AND e.at <= $until RETURN e, e.from_id AS other"""

RAW_EVENTS = {
    "timeline": """
UNWIND $parties AS pid
CALL (pid) {
  MATCH (e:Call) WHERE e.from_id = pid AND e.at >= $since AND e.at <= $until
  RETURN e ORDER BY e.from_id DESC, e.at DESC, e.id LIMIT $window
  UNION
  MATCH (e:Call) WHERE e.to_id = pid AND e.at >= $since AND e.at <= $until
  RETURN e ORDER BY e.to_id DESC, e.at DESC, e.id LIMIT $window
}
WITH DISTINCT e ORDER BY e.at DESC, e.id SKIP $offset LIMIT $limit
RETURN properties(e) AS event""",
    "contacts": f"""
CALL () {{{_CALLS_OF.format(phone="$phone")}
}}
WITH other, count(*) AS c, sum(coalesce(e.duration_s, 0)) AS duration, min(e.at) AS first, max(e.at) AS last,
     collect(datetime({{datetime: e.at, timezone: 'Europe/Paris'}}).hour) AS hours
ORDER BY c DESC, last DESC, other
RETURN collect({{phone: other, calls: c, duration_s: duration, first: first, last: last,
                by_hour: [h IN range(0, 23) | size([x IN hours WHERE x = h])]}})[..$limit] AS contacts""",
    "common_contacts": f"""
UNWIND $phones AS p
CALL (p) {{{_CALLS_OF.format(phone="p")}
}}
WITH p, other, count(DISTINCT e) AS c
WITH other, collect({{phone: p, calls: c}}) AS per, sum(c) AS total
WHERE size(per) = size($phones) AND NOT other IN $phones
ORDER BY total DESC, other
RETURN collect({{phone: other, calls: per}})[..$limit] AS contacts""",
    "co_location": """
MATCH (a:Call) WHERE a.from_id = $id AND a.at >= $since AND a.at <= $until AND a.place_ref IS NOT NULL
MATCH (o:Event)
WHERE o.place_ref = a.place_ref AND o.at >= a.at - $window AND o.at <= a.at + $window AND o.from_id <> $id
WITH a, o ORDER BY a.at DESC, o.at DESC, o.id
RETURN collect({other: o.from_id, place: a.place_id, at: a.at, other_at: o.at})[..$limit] AS items""",
}
