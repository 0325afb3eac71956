"""What the visibility predicate costs: the same traversals with and without it, same data, same run.

    python -m bench.visibility --nodes 100000 [--samples 200] [--seed 7] [--agency douane]

Generates a multi-agency graph of about N nodes straight into Neo4j, following
docs/architecture.md (cells of persons around a network, their phones, vehicles and bank
accounts — some shared between cells and agencies — cases, calls, associates; every owned item
with an owner agency and a sharing level drawn 45 % restricted / 40 % open / 15 % confidential,
a few grantees), then times, interleaved on the same start nodes and pairs:

- neighbourhood depth 2 (at most `--limit` paths) from a random entity;
- all shortest paths (at most 6 hops) between two nodes a few hops apart;

each once with the predicates of `service/access/visibility.py` inline in the traversal and their map
views (`node_view`, `rel_view`), and once as the same Cypher without them. It reports the
median and p95 of each and their ratio (goal: ≤ 1.3×). It uses the Neo4j the settings name
(OFAST_GRAPH_NEO4J_URI / OFAST_GRAPH_NEO4J_PASSWORD, else the local dev server) and WIPES ITS
DATA (schema and migrations are kept). Not a test: figures, not assertions.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import time
from collections import defaultdict
from typing import Any

import neo4j

from bench.process import migrate_schema, wipe
from graph_schema import get_schema
from service.access.visibility import node_known, node_view, rel_known, rel_view
from service.core import ids
from service.core.settings import get_settings
from service.neo4j_local.connection import connection_params

AGENCIES = ("police", "gendarmerie", "douane")
CENTRAL = "ofast"
CELL = 40  # persons per network cell

# --- the queries ---------------------------------------------------------------------------------


def neighbourhood_query(visible: bool) -> str:
    if visible:
        return f"""
MATCH (s:Node {{id: $id}}) WHERE {node_known('s')}
MATCH p = (s)(()-[r WHERE {rel_known('r')}]-(n:Node WHERE {node_known('n')})){{1,2}}(m)
WITH p LIMIT $limit
RETURN [x IN nodes(p) | {node_view('x')}] AS nodes, [e IN relationships(p) | {rel_view('e')}] AS edges
"""
    return """
MATCH (s:Node {id: $id})
MATCH p = (s)(()-[r]-(n:Node)){1,2}(m)
WITH p LIMIT $limit
RETURN [x IN nodes(p) | properties(x)] AS nodes,
       [e IN relationships(p) | {props: properties(e), type: type(e), source: startNode(e).id,
                                 target: endNode(e).id}] AS edges
"""


def paths_query(visible: bool) -> str:
    if visible:
        return f"""
MATCH (a:Node {{id: $source}}), (b:Node {{id: $target}})
WHERE {node_known('a')} AND {node_known('b')}
MATCH p = ALL SHORTEST (a)(()-[r WHERE {rel_known('r')}]-(n:Node WHERE {node_known('n')})){{1,6}}(b)
WITH p LIMIT 10
RETURN [x IN nodes(p) | {node_view('x')}] AS nodes, [e IN relationships(p) | {rel_view('e')}] AS edges
"""
    return """
MATCH (a:Node {id: $source}), (b:Node {id: $target})
MATCH p = ALL SHORTEST (a)(()-[r]-(n:Node)){1,6}(b)
WITH p LIMIT 10
RETURN [x IN nodes(p) | properties(x)] AS nodes,
       [e IN relationships(p) | {props: properties(e), type: type(e), source: startNode(e).id,
                                 target: endNode(e).id}] AS edges
"""


# --- the data ------------------------------------------------------------------------------------


def _sharing(rng: random.Random) -> str:
    x = rng.random()
    return "restricted" if x < 0.45 else "open" if x < 0.85 else "confidential"


def generate(n_nodes: int, seed: int) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """Nodes by label and relationships by type, as rows ready for UNWIND."""
    rng = random.Random(seed)
    nodes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rels: dict[str, list[dict[str, Any]]] = defaultdict(list)
    now = "2026-01-01T00:00:00+00:00"
    count = 0

    def entity(label: str, agency: str, ref: str, **props: Any) -> str:
        nonlocal count
        node_id = ids.entity_id(agency, label, ref)
        grantees = [a for a in AGENCIES if a != agency and rng.random() < 0.05]
        nodes[label].append({"id": node_id, "type": label, "ref": ref, "owner_agency": agency, "owner_unit": "U1",
                             "sharing": _sharing(rng), "grantees": grantees, "created_at": now, "updated_at": now,
                             "version": 1, **props})
        count += 1
        return node_id

    def identifier(label: str, value: str) -> str:
        nonlocal count
        node_id = ids.identifier_id(label, value)
        nodes[label].append({"id": node_id, "type": label, "value": value, "search_text": value,
                             "created_at": now, "updated_at": now})
        count += 1
        return node_id

    def link(rtype: str, agency: str, source: str, target: str, **props: Any) -> None:
        rels[rtype].append({"id": ids.link_id(agency, rtype, source, target), "source": source, "target": target,
                            "props": {"owner_agency": agency, "sharing": _sharing(rng), "grantees": [],
                                      "created_at": now, "updated_at": now, "version": 1, **props}})

    shared_phones: list[str] = []
    cell = 0
    while count < n_nodes:
        cell += 1
        agency = rng.choice(AGENCIES)
        net = entity("Network", agency, f"N-{cell}", name=f"Network {cell}", search_text=f"Network {cell}")
        case = entity("Case", agency, f"C-{cell}", reference=f"C-{cell}", search_text=f"C-{cell}")
        members: list[tuple[str, str]] = []
        for k in range(CELL):
            # Most of a cell is known to one agency; a few members come from another's case.
            owner = agency if rng.random() < 0.85 else rng.choice(AGENCIES)
            person = entity("Person", owner, f"P-{cell}-{k}", first_name=f"F{k}", last_name=f"L{cell}",
                            search_text=f"F{k} L{cell}")
            members.append((person, owner))
            if owner == agency:
                link("MEMBER_OF", owner, person, net, role=rng.choice(("courier", "seller", "lookout")))
                if rng.random() < 0.3:
                    link("INVOLVED_IN", owner, person, case, role="suspect")
            phone = (rng.choice(shared_phones) if shared_phones and rng.random() < 0.1
                     else identifier("Phone", f"+336{cell:04d}{k:04d}"))
            if rng.random() < 0.05:
                shared_phones.append(phone)
            link("USES", owner, person, phone)
            if rng.random() < 0.2:
                link("USES", owner, person, identifier("Vehicle", f"AB{cell}X{k}"))
            if rng.random() < 0.15:
                link("HOLDS", owner, person, identifier("BankAccount", f"ACCT{cell}X{k}"))
        for _ in range(CELL // 2):
            (a, oa), (b, ob) = rng.sample(members, 2)
            if oa == ob:
                link("ASSOCIATE_OF", oa, a, b, nature="seen together")
    phones = [n["id"] for n in nodes["Phone"]]
    for _ in range(len(phones) // 2):
        a, b = rng.sample(phones, 2)
        link("CALLED", rng.choice(AGENCIES), a, b, count=rng.randint(1, 50))
    return nodes, rels


def load(driver: neo4j.Driver, database: str, nodes: dict[str, list[dict[str, Any]]],
         rels: dict[str, list[dict[str, Any]]], batch: int = 10_000) -> None:
    schema = get_schema()
    for label, rows in nodes.items():
        kind = "Identifier" if schema.node(label).is_identifier else "Entity"
        query = f"UNWIND $rows AS row CREATE (n:Node:{kind}:{label}) SET n = row"
        for i in range(0, len(rows), batch):
            driver.execute_query(query, rows=rows[i:i + batch], database_=database)
    for rtype, rows in rels.items():
        schema.relationship(rtype)  # whitelist: the type must exist in the schema
        query = (f"UNWIND $rows AS row MATCH (a:Node {{id: row.source}}), (b:Node {{id: row.target}}) "
                 f"CREATE (a)-[r:{rtype}]->(b) SET r = row.props, r.id = row.id")
        for i in range(0, len(rows), batch):
            driver.execute_query(query, rows=rows[i:i + batch], database_=database)


# --- timing --------------------------------------------------------------------------------------


def _pairs(driver: neo4j.Driver, database: str, rng: random.Random, starts: list[str], n: int) -> list[tuple[str, str]]:
    """Pairs a few hops apart (a random walk of 2 to 5 steps), so that a path exists in the raw graph."""
    out = []
    for start in starts[: n * 2]:
        steps = rng.randint(2, 5)
        current = start
        for _ in range(steps):
            rows, _, _ = driver.execute_query(
                "MATCH (a:Node {id: $id})--(b:Node) WITH b, rand() AS r ORDER BY r LIMIT 1 RETURN b.id AS id",
                id=current, database_=database)
            if not rows:
                break
            current = rows[0]["id"]
        if current != start:
            out.append((start, current))
        if len(out) >= n:
            break
    return out


def _time(session: neo4j.Session, query: str, params: dict[str, Any]) -> float:
    started = time.perf_counter()
    result = session.run(query, params)
    for _ in result:
        pass
    return (time.perf_counter() - started) * 1000


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered), 3), "p95_ms": round(p95, 3), "n": len(ordered)}


def measure(driver: neo4j.Driver, database: str, *, samples: int, seed: int, agency: str,
            limit: int = 200) -> dict[str, Any]:
    rng = random.Random(seed + 1)
    rows, _, _ = driver.execute_query("MATCH (n:Entity) RETURN n.id AS id", database_=database)
    entity_ids = [r["id"] for r in rows]
    starts = rng.sample(entity_ids, min(samples, len(entity_ids)))
    pair_starts = rng.sample(entity_ids, min(samples * 2, len(entity_ids)))
    pairs = _pairs(driver, database, rng, pair_starts, samples)
    results: dict[str, Any] = {}
    # A partner agency's viewer prunes what it may not know (less work, smaller results); the
    # central agency's viewer gets the raw result exactly, so its ratio is the predicate's pure cost.
    viewers = {agency: {"agency": agency, "central": False}, CENTRAL: {"agency": CENTRAL, "central": True}}
    with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS) as session:
        for (name, make, param_sets), (who, viewer) in itertools.product((
            ("neighbourhood_depth2", neighbourhood_query,
             [{"id": s, "limit": limit} for s in starts]),
            ("shortest_paths_6", paths_query, [{"source": a, "target": b} for a, b in pairs]),
        ), viewers.items()):
            with_q, without_q = make(True), make(False)
            for params in param_sets[:10]:  # warm the plan cache and the page cache
                _time(session, with_q, {**params, "viewer": viewer})
                _time(session, without_q, params)
            timed: dict[str, list[float]] = {"with": [], "without": []}
            for i, params in enumerate(param_sets):
                # Interleaved, alternating which goes first, so drift and caching hit both alike.
                order = (("with", with_q), ("without", without_q))
                for label, query in order if i % 2 == 0 else order[::-1]:
                    extra = {"viewer": viewer} if label == "with" else {}
                    timed[label].append(_time(session, query, {**params, **extra}))
            w, wo = _summary(timed["with"]), _summary(timed["without"])
            results[f"{name}/{who}"] = {
                "with_visibility": w, "without_visibility": wo,
                "ratio_median": round(w["median_ms"] / wo["median_ms"], 3) if wo["median_ms"] else None,
                "ratio_p95": round(w["p95_ms"] / wo["p95_ms"], 3) if wo["p95_ms"] else None,
            }
    return results


def run(nodes: int = 100_000, samples: int = 200, seed: int = 7, agency: str = "douane",
        uri: str | None = None, user: str | None = None, password: str | None = None,
        keep: bool = False) -> dict[str, Any]:
    """Generate, load and time; returns the figures (and prints nothing)."""
    settings = get_settings()
    default_uri, default_user, default_password = connection_params(settings)
    uri, user, password = uri or default_uri, user or default_user, password or default_password
    database = settings.neo4j_database
    started = time.perf_counter()

    migrate_schema(uri, (user, password), database)
    with neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
        if not keep:
            wipe(driver, database)
            node_rows, rel_rows = generate(nodes, seed)
            load(driver, database, node_rows, rel_rows)
        counts = driver.execute_query(
            "MATCH (n:Node) WITH count(n) AS nodes MATCH ()-[r]->() RETURN nodes, count(r) AS rels",
            database_=database).records[0]
        loaded = time.perf_counter() - started
        figures = measure(driver, database, samples=samples, seed=seed, agency=agency)
    return {"nodes": counts["nodes"], "relationships": counts["rels"], "viewer_agency": agency,
            "samples": samples, "load_seconds": round(loaded, 1), **figures}


def main() -> None:  # pragma: no cover
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--agency", default="douane", help="The viewer's agency (not the central one)")
    parser.add_argument("--keep", action="store_true", help="Time the graph already loaded; do not regenerate")
    args = parser.parse_args()
    result = run(nodes=args.nodes, samples=args.samples, seed=args.seed, agency=args.agency, keep=args.keep)
    print(json.dumps(result, indent=2))
    for name in [k for k in result if "/" in k]:
        r = result[name]
        print(f"{name:30} with: median {r['with_visibility']['median_ms']:8.2f} ms  p95 "
              f"{r['with_visibility']['p95_ms']:8.2f} ms | without: median {r['without_visibility']['median_ms']:8.2f}"
              f" ms  p95 {r['without_visibility']['p95_ms']:8.2f} ms | ratio {r['ratio_median']}x / "
              f"{r['ratio_p95']}x (goal <= 1.3x)")


if __name__ == "__main__":  # pragma: no cover
    main()
