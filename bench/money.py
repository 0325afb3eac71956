"""Following the money at volume: a network's patrimony and one account's money flows.

    python -m bench.money [--nodes 1000000] [--samples 100] [--reuse]

1. Unless `--reuse` finds a graph of about that size, wipes the graph, loads the `importers.demo`
   scenario of `--nodes` nodes with `bench.explore`'s raw writer (it stores what the API stores),
   then pushes the same scenes' transfers through `POST /v1/events`: the demo's money moving
   between members', companies' and foreign accounts, often just under 10,000 EUR.
2. Samples networks a police investigator may know of whose members own assets or companies,
   and (source, target) account pairs two or three transfers apart.
3. Times each, one request at a time, three ways in a rotating order:
   - `api`: `GET /v1/entities/{id}/patrimony` / `GET /v1/analytics/money-flows`;
   - `cypher`: the endpoint's domain call (`service.domain.money`) with its Cypher, as police;
   - `raw`: the same domain code and statements with every visibility predicate replaced by
     `true` and every view by the plain properties (`raw_copy`): what the rules cost, nothing else.
   Prints p50 / p95 (ms), `cypher/raw` of the p95s and `api − cypher` of the p50s.

It uses the Neo4j the settings name and, without `--reuse`, WIPES ITS DATA. Results go to
docs/benchmarks/money-<N>.json. Not a test: figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.util
import json
import logging
import os
import random
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import neo4j

from bench.events import Api, Ways, api_push, three_ways_row, time_three_ways
from bench.explore import cpu_pressure, load_demo
from bench.http import LeanClient
from bench.ingest import graph_counts
from bench.process import migrate_schema
from importers.demo import generate_events
from service.access import visibility
from service.access.policy import policy_from_file
from service.core.db import Database
from service.core.settings import Settings, get_settings
from service.domain.events.analyses import Window
from service.domain.money import flows, patrimony
from service.neo4j_local.connection import connection_params
from service.queries import money as money_q
from service.queries import patrimony as patrimony_q

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"
GOALS_MS = {"patrimony": 200.0, "money_flows": 200.0}
VIEWER = {"agency": "police", "central": False}
DEPTH = 3  # the endpoint's default max_depth
MAX_HOPS = 4
SEED = 7


# --- the raw variant ----------------------------------------------------------------------------

def _true(var: str, viewer: str = "$viewer") -> str:
    return "true"


def _properties(var: str, viewer: str = "$viewer") -> str:
    return f"properties({var})"


# Every predicate and view the money queries compose; anything else of the access package is kept.
_RAW_FRAGMENTS: dict[str, Callable[..., str]] = {
    "node_known": _true, "node_full": _true, "rel_known": _true, "rel_full": _true,
    "event_known": _true, "event_full": _true, "node_view": _properties}


def _fresh(name: str) -> ModuleType:
    spec = importlib.util.find_spec(name)
    assert spec and spec.loader, name
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def _rules_lifted() -> Iterator[None]:
    saved = {k: getattr(visibility, k) for k in _RAW_FRAGMENTS}
    for k, fn in _RAW_FRAGMENTS.items():
        setattr(visibility, k, fn)
    try:
        yield
    finally:
        for k, fn in saved.items():
            setattr(visibility, k, fn)


def raw_copy(domain: str, queries: str) -> ModuleType:
    """A private copy of domain module `domain` whose query module `queries` was built with the
    visibility fragments lifted: the same code and statements, no rule. The real modules (and
    their cached statements) are left as they are."""
    with _rules_lifted():
        raw_queries = _fresh(queries)
    module = _fresh(domain)
    setattr(module, "q", raw_queries)  # noqa: B010 -- a module attribute the type checker cannot see
    return module


# --- data -----------------------------------------------------------------------------------------

def load(nodes: int, settings: Settings, api: Api, reuse: bool, say: Callable[[str], None]) -> dict[str, Any]:
    uri, user, password = connection_params(settings)
    with neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
        counts = graph_counts(driver, settings.neo4j_database)
        transfers = count_transfers(driver, settings)
        if reuse and counts["nodes"] >= 0.9 * nodes and transfers:
            return {**counts, "transfers": transfers, "loaded": "reused"}
        say(f"loading the demo scenario of {nodes:,} nodes (raw writer)…")
        seconds, stats = load_demo(driver, settings, nodes, SEED, "raw", api.base, settings)
        say(f"  {seconds:.0f} s; {stats.scenes:,} scenes; their transfers through POST /v1/events…")
        payloads = []
        for batch in generate_events(SEED, stats.scenes, batch_events=5000):
            events = [e for e in batch.events if e["kind"] == "transfer"]
            if events:
                payloads.append((batch.agency, json.dumps({"events": events}).encode()))
        pushed, statuses, _ = asyncio.run(api_push(api.base, api.tokens, payloads, 2))
        transfers = count_transfers(driver, settings)
        say(f"  {transfers:,} transfers in {pushed:.0f} s ({dict(statuses)})")
        return {**graph_counts(driver, settings.neo4j_database), "transfers": transfers,
                "entities_seconds": round(seconds, 1), "transfers_seconds": round(pushed, 1)}


def count_transfers(driver: neo4j.Driver, settings: Settings) -> int:
    label = money_q._fields()[0]
    return int(driver.execute_query(f"MATCH (e:{label}) RETURN count(e) AS n",
                                    database_=settings.neo4j_database).records[0]["n"])


def sample(settings: Settings, n: int) -> dict[str, list[Any]]:
    uri, user, password = connection_params(settings)
    rng = random.Random(SEED)
    known = visibility.node_known("x")
    with neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
        def q(query: str, **params: Any) -> list[Any]:
            return [r.data() for r in driver.execute_query(query, params, viewer=VIEWER,
                                                           database_=settings.neo4j_database).records]

        networks = [r["id"] for r in q(
            f"MATCH (x:Network) WHERE {known} AND EXISTS {{ (x)<-[:MEMBER_OF]-(:Person)-[:OWNS|CONTROLS]->() }} "
            "WITH x, rand() AS r ORDER BY r LIMIT $n RETURN x.id AS id", n=n)]
        label, payer, payee = money_q._fields()
        # Random transfers, each followed by one onward transfer from its payee (by the (payer, at)
        # index, as the money-flow search reads them): a source and a target two hops apart.
        pairs = q(f"MATCH (a:{label}) WITH a, rand() AS r ORDER BY r LIMIT $m "
                  f"CALL (a) {{ MATCH (b:{label}) USING INDEX b:{label}({payer}, at) "
                  f"WHERE b.{payer} = a.{payee} AND b.at IS NOT NULL AND b.{payee} <> a.{payer} "
                  f"RETURN b.{payee} AS target LIMIT 1 }} "
                  f"WITH DISTINCT a.{payer} AS source, target LIMIT $n RETURN source, target", n=n, m=20 * n)
    rng.shuffle(networks)
    return {"patrimony": networks, "money_flows": [(p["source"], p["target"]) for p in pairs]}


# --- timing ---------------------------------------------------------------------------------------

async def time_cases(settings: Settings, api: Api, picked: dict[str, list[Any]]) -> list[dict[str, Any]]:
    uri, user, password = connection_params(settings)
    policy = policy_from_file(settings.policy_file)
    raw_patrimony = raw_copy("service.domain.money.patrimony", patrimony_q.__name__)
    raw_flows = raw_copy("service.domain.money.flows", money_q.__name__)
    whole = Window()
    driver = neo4j.AsyncGraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF")
    db = Database(driver, settings.neo4j_database, settings.retry_after_seconds)
    client = LeanClient(api.base, {"Authorization": f"Bearer {api.tokens['police']}", "X-Purpose": "bench"})
    rows = []
    try:
        for op, items in picked.items():
            cases: list[tuple[str, Ways]] = []
            for item in items:
                if op == "patrimony":
                    cases.append((f"/v1/entities/{item}/patrimony?max_depth={DEPTH}", {
                        "cypher": partial(patrimony.patrimony, db, VIEWER, item, DEPTH),
                        "raw": partial(raw_patrimony.patrimony, db, VIEWER, item, DEPTH)}))
                else:
                    src, dst = item
                    args = (db, VIEWER, policy.money, src, dst, whole, MAX_HOPS, 0.0, 20)
                    cases.append((f"/v1/analytics/money-flows?source={src}&target={dst}&max_hops={MAX_HOPS}", {
                        "cypher": partial(flows.money_flows, *args), "raw": partial(raw_flows.money_flows, *args)}))
            row = three_ways_row(op, await time_three_ways(client, cases), GOALS_MS[op])
            rows.append(row)
            print(f"  {op}: {row}", file=sys.stderr, flush=True)
    finally:
        await client.close()
        await driver.close()
    return rows


def run(nodes: int, samples: int, reuse: bool, settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    settings = settings.model_copy(update={"jwt_secret": settings.jwt_secret or secrets.token_urlsafe(32)})

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    uri, user, password = connection_params(settings)
    migrate_schema(uri, (user, password), settings.neo4j_database)
    with Api(settings, 10_000) as api:
        store = load(nodes, settings, api, reuse, say)
        picked = sample(settings, samples)
        say(f"store {store}; sampled " + ", ".join(f"{k}: {len(v)}" for k, v in picked.items()))
        load_start = os.getloadavg()[0]
        rows = asyncio.run(time_cases(settings, api, picked))
    return {"nodes": nodes, "store": store, "viewer": VIEWER["agency"], "samples": samples, "rows": rows,
            "machine": {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "cores": os.cpu_count(),
                        "load_avg_start": load_start, "load_avg_end": os.getloadavg()[0],
                        "cpu_pressure_end": cpu_pressure()}}


def main(argv: list[str] | None = None) -> None:
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(prog="python -m bench.money", description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.nodes, args.samples, args.reuse)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"money-{args.nodes}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
