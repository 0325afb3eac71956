"""Cypher behind GET /v1/entities/{id}/neighbourhood and GET /v1/paths.

Visibility is applied inside every statement with the fragments of `service.access.visibility`
(parameter `$viewer`): a traversal only steps over relationships the caller may know exist
(`rel_known`) onto nodes the caller may know exist (`node_known`). Confidential items of other
agencies therefore neither appear nor connect anything. Stubs (restricted items of others) are
known to exist, so traversal continues through them; only their values stay hidden
(`node_view` / `rel_view` return stub maps for them).

Relationship types are spliced in only from `graph_schema` (the whitelist). Two integers shape
the statements and are spliced too, because Cypher accepts no parameter there: a path
quantifier's upper bound (`paths`, 1..8) and the number of breadth-first levels
(`neighbourhood`, 1..3); both are forced to `int` and range-checked here. Every value is a
parameter.

Each endpoint is one statement (one round trip): under load, round trips cost more than the
traversal itself. `_neighbourhood(raw=True)` is the same statement without any visibility
predicate — a baseline of bench/baselines.py.
"""

from __future__ import annotations

from functools import lru_cache

from graph_schema import get_schema
from service.access.visibility import node_evaluated, node_known, node_view, rel_evaluated, rel_known, rel_view


def rel_types(types: tuple[str, ...] | None) -> str:
    """`A|B|C` from the whitelist; all schema relationship types when `types` is empty."""
    return get_schema().relationship_pattern(list(types) if types else None)


def active(var: str) -> str:
    """Link `var` was active in the window `$since`..`$until` (UTC datetimes, both included), as far
    as its time properties say: `first`/`last` (an aggregate's, or a pushed datetime), `date` (that
    day), `since` (from then on). A link without any is timeless (a membership, a phone's user) and
    always passes: what it does not date, the window cannot rule out. Pushed values are ISO text,
    derived ones DATETIMEs; `datetime()` reads both."""
    return (f"(coalesce(datetime({var}.first) <= $until, true) AND coalesce(datetime({var}.last) >= $since, true) "
            f"AND coalesce(date({var}.date) >= date($since) AND date({var}.date) <= date($until), true) "
            f"AND coalesce(date({var}.since) <= date($until), true))")


def _neighbourhood(depth: int, types: tuple[str, ...] | None, raw: bool, evaluated: bool = False,
                   windowed: bool = False) -> str:
    d = int(depth)
    if not 1 <= d <= 3:
        raise ValueError("depth must be in 1..3")
    rels = rel_types(types)
    known_r = "true" if raw else rel_known("r")
    known_b = "true" if raw else node_known("b")
    if evaluated and not raw:  # min_reliability / min_accuracy: only items seen in full meeting them
        known_r += f" AND {rel_evaluated('r')}"
        known_b += f" AND {node_evaluated('b')}"
    if windowed and not raw:  # since / until: only links active in the window
        known_r += f" AND {active('r')}"
    parts = ["MATCH (s:Node {id: $id})" + ("" if raw else f" WHERE {node_known('s')}"),
             "WITH [s] AS l0, false AS truncated"]
    carried = ["l0"]
    for k in range(1, d + 1):
        seen = " + ".join(f"l{i}" for i in range(k))
        outer = ", ".join(carried)
        parts.append(f"""CALL ({outer}) {{
  WITH {seen} AS seen, l{k - 1} AS frontier
  UNWIND frontier AS a
  MATCH (a)-[r:{rels}]-(b:Node)
  WHERE NOT b IN seen AND {known_r} AND {known_b}
  WITH DISTINCT b LIMIT $limit
  RETURN collect(b) AS found
}}
WITH {outer}, found[..($limit - size({seen}))] AS l{k},
     truncated OR size(found) > $limit - size({seen}) AS truncated""")
        carried.append(f"l{k}")
    every = " + ".join(carried)
    inner = " + ".join(carried[:-1])
    view_r = ("{props: properties(r), type: type(r), source: startNode(r).id, target: endNode(r).id}"
              if raw else rel_view("r"))
    view_x = "properties(x)" if raw else node_view("x")
    parts.append(f"""WITH {every} AS every, {inner} AS inner, truncated
CALL (every, inner) {{
  UNWIND inner AS a
  MATCH (a)-[r:{rels}]-(b:Node)
  WHERE b IN every AND {known_r} AND {known_b} AND (startNode(r) = a OR NOT b IN inner)
  WITH r LIMIT $edge_cap
  RETURN collect({view_r}) AS edges
}}
RETURN [x IN every | {view_x}] AS nodes, edges, truncated""")
    return "\n".join(parts) + "\n"


@lru_cache
def neighbourhood(depth: int, types: tuple[str, ...] | None, evaluated: bool = False, windowed: bool = False) -> str:
    """The nodes within `depth` hops of `$id` and the links between them, in one statement.

    Breadth-first, one `CALL` per level: level k expands from the nodes of level k-1 onto
    nodes not yet seen, over relationships the caller may know exist onto nodes it may know
    exist (stubs included: their existence is known, so traversal continues through them).
    `DISTINCT ... LIMIT $limit` streams, so a hub with thousands of neighbours costs at most
    `$limit` rows per level; each level keeps what still fits under `$limit` nodes and flags
    `truncated` when it found more. Edges are those leaving a node inside the radius (edges
    between two nodes of the outermost level would take depth+1 hops), each counted once,
    at most `$edge_cap`. Empty when the start node is unknown to the caller (→ 404).
    `depth` is spliced as an int in 1..3: it shapes the statement (one CALL per level).

    `evaluated`: the traversal also requires every relationship and entity it steps over to be
    seen in full with evaluation codes at least `$min_reliability` and `$min_accuracy`
    (`service.access.visibility.node_evaluated`); identifiers have no codes and pass. The start node is
    always returned. Stubs cannot show they meet a minimum: a filtered neighbourhood leaves them out.

    `windowed`: the traversal only steps over links active between `$since` and `$until` (`active`).
    """
    return _neighbourhood(depth, types, raw=False, evaluated=evaluated, windowed=windowed)


@lru_cache
def paths(max_hops: int, types: tuple[str, ...] | None, windowed: bool = False) -> str:
    """All shortest paths of at most `max_hops` hops that only cross what the caller may know.

    One round trip: whether each end is known to the caller (else the router answers 404) and
    the paths. The predicates are inline in the quantified path pattern, so Neo4j's
    shortest-path search (bidirectional BFS, `StatefulShortestPath`) prunes invisible
    relationships and nodes while it expands instead of filtering whole paths afterwards.
    `max_hops` is spliced because a quantifier takes no parameter: it is forced to an `int`
    in 1..8 here, whatever the caller passed. `windowed`: only links active between `$since` and
    `$until` (`active`) are crossed.
    """
    hops = int(max_hops)
    if not 1 <= hops <= 8:
        raise ValueError("max_hops must be in 1..8")
    when = f" AND {active('r')}" if windowed else ""
    return f"""
OPTIONAL MATCH (a:Node {{id: $source}}) WHERE {node_known('a')}
OPTIONAL MATCH (b:Node {{id: $target}}) WHERE {node_known('b')}
CALL (a, b) {{
  WITH a, b WHERE a IS NOT NULL AND b IS NOT NULL
  MATCH p = ALL SHORTEST (a)(()-[r:{rel_types(types)} WHERE {rel_known('r')}{when}]-
                             (n:Node WHERE {node_known('n')})){{1,{hops}}}(b)
  WITH p LIMIT $limit
  RETURN collect({{nodes: [x IN nodes(p) | {node_view('x')}],
                   edges: [e IN relationships(p) | {rel_view('e')}]}}) AS paths
}}
RETURN a IS NOT NULL AS source_known, b IS NOT NULL AS target_known, paths
"""
