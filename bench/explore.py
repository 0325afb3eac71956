"""Read latencies: lookup, neighbourhood (depth 2), shortest paths (<= 6 hops), search, key players.

    python -m bench.explore --nodes 100000 [--samples 200] [--reuse] [--load raw|api]

1. Unless `--reuse` finds a graph of about that size already, wipes the graph and loads the
   `importers.demo` scenario of `--nodes` nodes — by default with `bench.ingest`'s UNWIND
   statements, which store exactly what the API stores, much faster; `--load api` pushes it
   through `POST /v1/ingest` instead. Requests go to a real server (`ofast-graph serve`,
   uvicorn on 127.0.0.1, in a subprocess).
2. Samples start entities, phone numbers, connected pairs, names and networks a police
   investigator may know of (non-central caller, so the visibility predicates really run).
3. Times each operation, one request at a time after a warm-up, three ways in the same run:
   - `api`: the HTTP endpoint (auth, validation, Cypher with visibility, audit record, JSON),
     through `bench.http.LeanClient` (one kept-alive connection; httpx's own cost would dominate);
   - `cypher`: the endpoint's own Cypher with the visibility predicates, through the driver as the
     endpoint runs it (`driver.execute_query`: one read transaction, BEGIN pipelined with the query);
   - `raw`: the same Cypher without any predicate (`bench.baselines`).
   Key players (`GET /v1/analytics/key-players`) is a computation, not one query: each way
   fetches the network, its members and the subgraph around them, ranks it with the endpoint's
   own Brandes code (`service.domain.analytics.key_players.rank_persons`, in a thread as the endpoint does), then
   fetches the views of the top 20 persons — two read transactions, as the endpoint.
   each input through the three in a rotating order (load drifts hit all three alike), and
   prints p50 / p95 (ms) and the ratios `api/raw` and `cypher/raw` of the p95s, with the
   floor of any request (`GET /healthz`) for scale.

It uses the Neo4j the settings name (OFAST_GRAPH_NEO4J_URI / OFAST_GRAPH_NEO4J_PASSWORD, else
the local dev server) and, without `--reuse`, WIPES ITS DATA. Not a test: figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import neo4j

from bench.baselines import (
    RAW_KP_MEMBERS,
    RAW_KP_NETWORK,
    RAW_KP_PERSONS,
    RAW_LOOKUP,
    RAW_SEARCH,
    raw_kp_edges,
    raw_neighbourhood,
    raw_paths,
)
from bench.http import LeanClient, Response
from bench.ingest import _api, _raw, graph_counts, raw_statements
from bench.process import CLI, api_env, free_port, migrate_schema, stop, store_facts, wait_ready, wipe
from graph_schema import get_schema
from importers.demo import DemoStats, generate
from service.access.auth import make_token
from service.access.policy import Policy, policy_from_file
from service.access.visibility import node_known
from service.core import ids
from service.core.settings import Settings, get_settings
from service.domain.analytics.key_players import MAX_EDGES, rank_persons
from service.domain.explore.search import lucene_query
from service.domain.ingest.models import build_plan
from service.neo4j_local.connection import connection_params
from service.queries import analytics as qa
from service.queries import explore as qe
from service.queries import search as qs

VIEWER_AGENCY = "police"
LOAD_CHUNK = 200  # demo batches prepared and written at a time by the raw loader
VIEWER = {"agency": VIEWER_AGENCY, "central": False}
LIMIT = 200
DEPTH = 2
MAX_HOPS = 6
PATH_LIMIT = 10
KP_LIMIT = 20
KEY_PLAYER_SAMPLES = 100  # a key-players call ranks a whole subgraph, far slower than a read: fewer samples


def cpu_pressure() -> float | None:
    """Share of the last minute some runnable task waited for a CPU (Linux PSI), in percent."""
    try:
        line = open("/proc/pressure/cpu").read().splitlines()[0]  # noqa: SIM115
    except (OSError, IndexError):
        return None
    return float(dict(f.split("=") for f in line.split()[1:])["avg60"])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- the endpoints' work through the driver, with and without the visibility predicates -------

# Each single-query endpoint's Cypher and parameters, with or without the visibility predicates;
# run as the endpoint runs it (`Database.read_records`: one pipelined read transaction).

def neighbourhood(start: str, raw: bool) -> tuple[str, dict[str, Any]]:
    query = raw_neighbourhood(DEPTH, None) if raw else qe.neighbourhood(DEPTH, None)
    return query, {"id": start, "limit": LIMIT, "edge_cap": 5 * LIMIT + 1, "viewer": VIEWER}


def paths(pair: tuple[str, str], raw: bool) -> tuple[str, dict[str, Any]]:
    query = raw_paths(MAX_HOPS, None) if raw else qe.paths(MAX_HOPS, None)
    return query, {"source": pair[0], "target": pair[1], "limit": PATH_LIMIT, "viewer": VIEWER}


def search(q: str, raw: bool) -> tuple[str, dict[str, Any]]:
    params = {"lucene": lucene_query(q), "types": get_schema().entity_types, "viewer": VIEWER,
              "offset": 0, "limit": 20, "min_reliability": "X", "min_accuracy": "4"}
    return RAW_SEARCH if raw else qs.SEARCH, params


def lookup(value: str, raw: bool) -> tuple[str, dict[str, Any]]:
    return RAW_LOOKUP if raw else qs.LOOKUP, {"id": ids.identifier_id("Phone", value), "viewer": VIEWER}


async def key_players(driver: neo4j.AsyncDriver, database: str, network: str, raw: bool) -> int:
    """The endpoint's computation through the driver: fetch, rank (Brandes), views of the top."""
    params = {"id": network, "viewer": VIEWER, "max_edges": MAX_EDGES + 1}

    async def fetch(tx: neo4j.AsyncManagedTransaction) -> tuple[dict[str, str | None], list[dict[str, Any]]]:
        await (await tx.run(RAW_KP_NETWORK if raw else qa.NETWORK, params)).single(strict=True)
        members = {r["id"]: r["role"] async for r in await tx.run(RAW_KP_MEMBERS if raw else qa.MEMBERS, params)}
        edges = [r.data() async for r in await tx.run(raw_kp_edges() if raw else qa.subgraph_edges(), params)]
        return members, edges

    async with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS) as session:
        members, edges = await session.execute_read(fetch)
    scores, _, _, _ = await asyncio.to_thread(rank_persons, edges[:MAX_EDGES], members)
    scores.sort(key=lambda s: (-s[2], -s[1], s[0]))
    top = [s[0] for s in scores[:KP_LIMIT]]

    async def views(tx: neo4j.AsyncManagedTransaction) -> int:
        rows = await tx.run(RAW_KP_PERSONS if raw else qa.PERSON_VIEWS, {"ids": top, "viewer": VIEWER})
        return len([r async for r in rows])

    async with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS) as session:
        return await session.execute_read(views)


def valid_only(agency: str, body: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """The batch without the items ingest would reject (the demo may repeat a link in a batch)."""
    for _ in range(3):
        errors = build_plan(body, get_schema(), policy, agency).errors
        if not errors:
            break
        bad = {(e["section"], e["index"]) for e in errors}
        body = {"entities": [x for i, x in enumerate(body["entities"]) if ("entities", i) not in bad],
                "links": [x for i, x in enumerate(body["links"]) if ("links", i) not in bad]}
    return body


# --- sampling ------------------------------------------------------------------------------------

# What the viewer may know exists, by the service's own rule: another agency's minor, say, is not
# sampled (the endpoint answers 404 for it, which would abort the run).
KNOWN = node_known("n", viewer="{agency: $agency, central: false}")


def sample(driver: neo4j.Driver, database: str, n: int, seed: int) -> dict[str, list[Any]]:
    rng = random.Random(seed)

    def q(query: str, **params: Any) -> list[dict[str, Any]]:
        return [r.data() for r in driver.execute_query(query, params, database_=database).records]

    persons = q(f"MATCH (n:Person) WHERE {KNOWN} WITH n, rand() AS r ORDER BY r LIMIT $n "
                "RETURN n.id AS id, n.first_name AS first, n.last_name AS last", agency=VIEWER_AGENCY, n=n)
    phones = [r["v"] for r in q("MATCH (n:Phone) WITH n, rand() AS r ORDER BY r LIMIT $n RETURN n.value AS v",
                                n=n)]
    pairs: list[tuple[str, str]] = []
    for p in persons:
        if len(pairs) >= n:
            break
        # A target two to four hops away over anything: most pairs are connected for the
        # caller, some only through items it may not know of (then no path, a full search).
        near = q("MATCH (s:Node {id: $id})-[*2..4]-(n:Entity) WHERE n.id <> $id AND " + KNOWN +
                 " WITH DISTINCT n LIMIT 50 RETURN n.id AS id", id=p["id"], agency=VIEWER_AGENCY)
        if near:
            pairs.append((p["id"], rng.choice(near)["id"]))
    names = [f"{p['first'] or ''} {p['last'] or ''}".strip() for p in persons if p["last"]]
    # Half the searches with a typo in the last name, to exercise the fuzzy path.
    names = [name if i % 2 else name[:-1] + ("x" if name[-1] != "x" else "y") for i, name in enumerate(names)]
    networks = [r["id"] for r in q(f"MATCH (n:Network) WHERE {KNOWN} AND EXISTS {{ (n)<-[:MEMBER_OF]-(:Person) }} "
                                   "WITH n, rand() AS r ORDER BY r LIMIT $n RETURN n.id AS id",
                                   agency=VIEWER_AGENCY, n=min(n, KEY_PLAYER_SAMPLES))]
    return {"neighbourhood": [p["id"] for p in persons], "lookup": phones, "paths": pairs, "search": names,
            "key_players": networks}


# --- timing --------------------------------------------------------------------------------------

Timer = Callable[[Any], Awaitable[None]]
Timings = dict[str, dict[str, list[float]]]  # operation -> way (api, cypher, raw) -> ms
Statement = Callable[[Any, bool], tuple[str, dict[str, Any]]]


async def time_interleaved(calls: dict[str, Timer], inputs: list[Any], warmup: int) -> dict[str, list[float]]:
    """Each input through every way, in a rotating order, so drifts in machine load hit all ways alike."""
    names = list(calls)
    for item in inputs[:warmup]:
        for name in names:
            await calls[name](item)
    out: dict[str, list[float]] = {name: [] for name in names}
    for i, item in enumerate(inputs):
        for name in names[i % len(names):] + names[:i % len(names)]:
            started = time.perf_counter()
            await calls[name](item)
            out[name].append((time.perf_counter() - started) * 1000)
    return out


async def api_request(client: LeanClient, op: str, item: Any) -> Response:
    """The endpoint call of one sampled input (shared with `bench.profile`)."""
    if op == "lookup":
        return await client.get("/v1/lookup", params={"type": "Phone", "value": item})
    if op == "neighbourhood":
        return await client.get(f"/v1/entities/{item}/neighbourhood", params={"depth": DEPTH, "limit": LIMIT})
    if op == "paths":
        return await client.get("/v1/paths", params={"source": item[0], "target": item[1],
                                                     "max_hops": MAX_HOPS, "limit": PATH_LIMIT})
    if op == "key_players":
        return await client.get("/v1/analytics/key-players", params={"network": item, "limit": KP_LIMIT})
    return await client.get("/v1/search", params={"q": item})


async def measure(base: str, token: str, uri: str, auth: tuple[str, str], database: str,
                  samples: dict[str, list[Any]], warmup: int) -> tuple[Timings, dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "bench"}
    statements: dict[str, Statement] = {"lookup": lookup, "neighbourhood": neighbourhood, "paths": paths,
                                        "search": search}
    results: dict[str, dict[str, list[float]]] = {}
    failures: dict[str, str] = {}
    async with LeanClient(base, headers=headers) as client, \
            neo4j.AsyncGraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF") as driver:

        async def api(op: str, item: Any) -> None:
            r = await api_request(client, op, item)
            if r.status_code != 200:
                raise RuntimeError(f"{op} failed: {r.status_code} {r.text[:300]}")

        async def via_driver(op: str, item: Any, raw: bool) -> None:
            if op == "key_players":
                await key_players(driver, database, item, raw)
                return
            query, params = statements[op](item, raw)
            await driver.execute_query(query, params, database_=database, routing_=neo4j.RoutingControl.READ,
                                       bookmark_manager_=None)

        for op, inputs in samples.items():
            try:
                results[op] = await time_interleaved({
                    "api": functools.partial(api, op),
                    "cypher": functools.partial(via_driver, op, raw=False),
                    "raw": functools.partial(via_driver, op, raw=True),
                }, inputs, warmup)
            except (RuntimeError, neo4j.exceptions.Neo4jError) as exc:  # one broken operation: the others still run
                print(f"{op} failed: {exc}", file=sys.stderr, flush=True)
                failures[op] = str(exc)[:300]

        async def health(_: Any) -> None:
            await client.get("/healthz")

        # The floor of any request: HTTP round trip through uvicorn, no auth, no Neo4j, no audit.
        floor = (await time_interleaved({"api": health}, list(range(len(samples["lookup"]))), warmup))["api"]
        results["http_floor"] = {"api": floor, "cypher": floor, "raw": floor}
    return results, failures


def table(results: dict[str, dict[str, list[float]]]) -> list[dict[str, Any]]:
    rows = []
    for op, runs in results.items():
        row: dict[str, Any] = {"operation": op, "n": len(runs["api"])}
        for way, values in runs.items():
            row[f"{way}_p50"] = round(statistics.median(values), 2)
            row[f"{way}_p95"] = round(pct(values, 0.95), 2)
        row["api_over_raw_p95"] = round(row["api_p95"] / row["raw_p95"], 2)
        row["cypher_over_raw_p95"] = round(row["cypher_p95"] / row["raw_p95"], 2)
        rows.append(row)
    return rows


def load_demo(driver: neo4j.Driver, settings: Settings, nodes: int, seed: int, load: str, base: str,
              api_settings: Settings) -> tuple[float, DemoStats]:
    """Wipe, then the `importers.demo` scenario of about `nodes` nodes: through `POST /v1/ingest` of
    the server at `base` (`load="api"`) or with the raw UNWIND writer, which stores the same.
    Returns the seconds it took and the scenario's counts (its scenes, for the scenes' events)."""
    uri, user, password = connection_params(settings)
    wipe(driver, settings.neo4j_database)
    policy = policy_from_file(settings.policy_file)
    stats = DemoStats()
    batches = ((b.agency, valid_only(b.agency, b.batch, policy)) for b in generate(nodes, seed, stats=stats))
    if load == "api":
        tokens = {a: make_token(api_settings, agency=a, roles=["ingest"], unit="bench", ttl=24 * 3600)
                  for a in ("police", "gendarmerie", "douane")}
        payloads = [(agency, json.dumps(body).encode()) for agency, body in batches]
        seconds, _ = asyncio.run(_api(base, tokens, payloads, 2))
        return seconds, stats
    # In chunks: at ten million nodes the prepared statements of the whole scenario would not fit in memory.
    seconds, loaded, started = 0.0, 0, time.perf_counter()
    while chunk := [raw_statements(agency, body, policy) for agency, body in itertools.islice(batches, LOAD_CHUNK)]:
        seconds += asyncio.run(_raw(uri, (user, password), settings.neo4j_database, chunk, 2))
        loaded += len(chunk)
        print(f"  {stats.nodes:,} of {nodes:,} nodes generated, {loaded:,} batches written "
              f"({time.perf_counter() - started:.0f}s)", file=sys.stderr, flush=True)
    return seconds, stats


def run(nodes: int = 100_000, samples: int = 200, warmup: int = 20, seed: int = 7, reuse: bool = False,
        load: str = "raw", settings: Settings | None = None, log: bool = True) -> dict[str, Any]:
    """Load (unless reused), sample, time; return the figures as a dict."""
    settings = settings or get_settings()
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if log else (lambda msg: None)
    uri, user, password = connection_params(settings)
    database = settings.neo4j_database
    driver = neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF")
    secret = secrets.token_urlsafe(32)
    api_settings = settings.model_copy(update={"jwt_secret": secret})
    env = {**os.environ, **api_env(uri, user, password, secret)}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        migrate_schema(uri, (user, password), database)
        proc = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env)
        try:
            wait_ready(base, proc)
            counts = graph_counts(driver, database)
            if not (reuse and counts["nodes"] >= 0.9 * nodes):
                say(f"loading the demo scenario of {nodes} nodes ({load})…")
                seconds, _ = load_demo(driver, settings, nodes, seed, load, base, api_settings)
                counts = graph_counts(driver, database)
                say(f"loaded in {seconds:.0f}s: {counts}")
            picked = sample(driver, database, samples, seed)
            say(f"graph {counts}; sampled " + ", ".join(f"{k}: {len(v)}" for k, v in picked.items()))
            token = make_token(api_settings, agency=VIEWER_AGENCY, roles=["investigator"], unit="bench",
                               ttl=24 * 3600)
            load_start = os.getloadavg()[0]
            results, failures = asyncio.run(measure(base, token, uri, (user, password), database, picked, warmup))
            load_during = {"start": load_start, "end": os.getloadavg()[0], "cpu_pressure_avg60": cpu_pressure()}
        finally:
            stop(proc)
    finally:
        driver.close()
    rows = table(results) + [{"operation": op, "error": error} for op, error in failures.items()]
    return {"graph": counts, "viewer": VIEWER_AGENCY, "client": "lean", "load_during": load_during, "rows": rows,
            **store_facts(settings)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.explore", description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep a loaded graph of about that size")
    parser.add_argument("--load", choices=("raw", "api"), default="raw",
                        help="load with bench.ingest's UNWIND statements (same stored graph, faster) or the API")
    args = parser.parse_args(argv)
    result = run(args.nodes, args.samples, args.warmup, args.seed, args.reuse, args.load)
    print(f"graph: {result['graph']}, viewer: {result['viewer']} (ms)")
    header = ("operation", "n", "api_p50", "api_p95", "cypher_p50", "cypher_p95", "raw_p50", "raw_p95",
              "api_over_raw_p95", "cypher_over_raw_p95")
    print(" | ".join(header))
    for row in result["rows"]:
        print(" | ".join(str(row.get(h, "")) for h in header) + (f" failed: {row['error']}" if "error" in row else ""))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
