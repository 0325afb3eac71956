"""Hot spots of real data: a popular birth date and hub phones shared by thousands of persons.

    python -m bench.hotspots matching [--sizes 0,2000,10000]
    python -m bench.hotspots ingest [--items 60000] [--batch 5000] [--concurrency 4] [--hubs 50]

`matching` PROFILEs person matching's candidate search (`service.queries.matches.CANDIDATES`) for a
batch of persons born on one date while N persons of their own agency share that date, and prints
the plan's index operators, its db hits and its time for each N: they should not grow with N.

`ingest` pushes batches through `POST /v1/ingest` of a real API process (loopback, `ofast-graph
serve` in a subprocess), several in flight, each batch's persons linked to phones of a small pool
of hubs and 30 % of them born on 1 January of their year; it counts the batches answered other
than 200 (never resent: a caller that sees a 503 is the failure measured) and each batch's seconds.

Both use the Neo4j the settings name (or the local dev server) and WIPE ITS DATA. Not a test:
figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx
import neo4j

from bench.ingest import FIRST, LAST, _raw, batches, graph_counts, raw_statements
from bench.process import CLI, api_env, free_port, migrate_schema, stop, wait_ready, wipe
from service.access.auth import make_token
from service.access.policy import policy_from_file
from service.core.settings import Settings, get_settings
from service.neo4j_local.connection import connection_params
from service.queries import matches as matches_q

AGENCIES = ("police", "gendarmerie", "douane")
POPULAR_DATE = "1990-01-01"


# --- matching ----------------------------------------------------------------------------------


def _plan_summary(plan: Any) -> tuple[int, list[str]]:
    """(db hits of the whole plan, its index operators with their details)."""
    hits, ops = 0, []
    stack = [plan]
    while stack:
        node = stack.pop()
        hits += int(node.get("dbHits", 0))
        name = node.get("operatorType", "")
        if "Index" in name or "Scan" in name:
            ops.append(f"{name.split('@')[0]} {node.get('args', {}).get('Details', '')}")
        stack.extend(node.get("children", []))
    return hits, ops


def matching(sizes: list[int], batch_persons: int = 100, settings: Settings | None = None) -> list[dict[str, Any]]:
    settings = settings or get_settings()
    uri, user, password = connection_params(settings)
    database = settings.neo4j_database
    policy = policy_from_file(settings.policy_file)
    migrate_schema(uri, (user, password), database)
    out = []
    with neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
        for size in sizes:
            wipe(driver, database)
            # The batch's persons (police), N other police persons born the same day, and a few of
            # every other agency, who are the only possible candidates.
            rows = ([{"id": f"b-{k}", "agency": "police"} for k in range(batch_persons)]
                    + [{"id": f"s-{k}", "agency": "police"} for k in range(size)]
                    + [{"id": f"o-{a}-{k}", "agency": a} for a in AGENCIES[1:] for k in range(20)])
            for start in range(0, len(rows), 10_000):
                driver.execute_query(
                    "UNWIND $rows AS r CREATE (n:Node:Entity:Person {id: r.id, owner_agency: r.agency, "
                    "birth_date: $date, first_name: 'Karim', last_name: 'Benali', minor: false, "
                    "sharing: 'restricted'})",
                    rows=rows[start:start + 10_000], date=POPULAR_DATE, database_=database)
            params = {"persons": [f"b-{k}" for k in range(batch_persons)], "max": policy.lifecycle.match_max_candidates,
                      "hub_links": policy.lifecycle.match_hub_links,
                      "agencies": sorted(policy.agencies), "central_agency": policy.central_agency}
            driver.execute_query(matches_q.CANDIDATES, params, database_=database)  # plan cached, pages warm
            started = time.perf_counter()
            records, summary, _ = driver.execute_query("PROFILE " + matches_q.CANDIDATES, params, database_=database)
            ms = (time.perf_counter() - started) * 1000
            hits, ops = _plan_summary(summary.profile)
            out.append({"same_agency_same_date": size, "batch_persons": batch_persons, "rows": len(records),
                        "db_hits": hits, "ms": round(ms, 1), "index_operators": sorted(set(ops))})
            print(json.dumps(out[-1]), file=sys.stderr, flush=True)
        wipe(driver, database)
    return out


# --- ingest --------------------------------------------------------------------------------------


def generate(items: int, batch: int, hubs: int, seed: int = 11) -> list[tuple[str, dict[str, Any]]]:
    """Batches of about `batch` items as (agency, body), agencies in turn: each person uses one of
    `hubs` phones (every hub linked by many persons of every agency) and one phone of its own; 30 %
    are born on 1 January of their year."""
    hub_numbers = [f"+336{90000000 + h:08d}" for h in range(hubs)]

    def person(rng: random.Random, agency: str, n: int) -> list[tuple[str, dict[str, Any]]]:
        ref, own, hub = f"H-{n}", f"+337{n:08d}", rng.choice(hub_numbers)
        year = rng.randrange(1970, 2005)
        birth = (f"{year}-01-01" if rng.random() < 0.3
                 else f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}")
        me = {"type": "Person", "ref": ref}
        return [
            ("e", {**me, "properties": {"first_name": rng.choice(FIRST), "last_name": rng.choice(LAST),
                                        "birth_date": birth}}),
            ("e", {"type": "Phone", "ref": hub}), ("e", {"type": "Phone", "ref": own}),
            ("l", {"type": "USES", "from": me, "to": {"type": "Phone", "ref": hub}}),
            ("l", {"type": "USES", "from": me, "to": {"type": "Phone", "ref": own}}),
            ("l", {"type": "CALLED", "from": {"type": "Phone", "ref": own}, "to": {"type": "Phone", "ref": hub},
                   "ref": f"{agency}-{ref}", "properties": {"count": rng.randrange(1, 50)}})]

    return batches(items, batch, random.Random(seed), person)


async def push(base: str, tokens: dict[str, str], payloads: list[tuple[str, bytes]], concurrency: int
               ) -> list[dict[str, Any]]:
    """Every batch once (no resend), `concurrency` in flight: each one's status and seconds."""
    queue: asyncio.Queue[tuple[int, str, bytes]] = asyncio.Queue()
    for k, (agency, payload) in enumerate(payloads):
        queue.put_nowait((k, agency, payload))
    results: list[dict[str, Any]] = []

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            k, agency, payload = queue.get_nowait()
            started = time.perf_counter()
            r = await client.post("/v1/ingest", content=payload, headers={
                "Authorization": f"Bearer {tokens[agency]}", "Content-Type": "application/json",
                "X-Source-System": "bench"})
            results.append({"batch": k, "status": r.status_code, "seconds": round(time.perf_counter() - started, 2)})

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=600.0, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return sorted(results, key=lambda r: r["batch"])


def ingest(items: int, batch: int, concurrency: int, hubs: int, settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    uri, user, password = connection_params(settings)
    database = settings.neo4j_database
    batches = generate(items, batch, hubs)
    payloads = [(agency, json.dumps(body).encode()) for agency, body in batches]
    policy = policy_from_file(settings.policy_file)
    prepared = [raw_statements(agency, body, policy) for agency, body in batches]
    secret = secrets.token_urlsafe(32)
    api_settings = settings.model_copy(update={"jwt_secret": secret})
    tokens = {a: make_token(api_settings, agency=a, roles=["ingest"], unit="bench", ttl=3600) for a in AGENCIES}
    migrate_schema(uri, (user, password), database)
    port = free_port()
    env = {**os.environ, **api_env(uri, user, password, secret, max_batch_items=str(max(batch, 10_000)))}
    proc = subprocess.Popen([*CLI, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        with neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
            wipe(driver, database)
            wait_ready(base, proc)
            started = time.perf_counter()
            results = asyncio.run(push(base, tokens, payloads, concurrency))
            elapsed = time.perf_counter() - started
            graph = graph_counts(driver, database)
            alerts = driver.execute_query("MATCH (a:Alert) RETURN count(a) AS n", database_=database).records[0]["n"]
            # The raw writer on the same data, the same concurrency: what the hub phones cost any
            # writer here (it resends a deadlocked batch itself; the API's callers never had to).
            wipe(driver, database)
            resends: list[int] = []
            raw_seconds = asyncio.run(_raw(uri, (user, password), database, prepared, concurrency, resends))
            raw_graph = graph_counts(driver, database)
            wipe(driver, database)
    finally:
        stop(proc)
    seconds = [r["seconds"] for r in results]
    return {"items": sum(len(b["entities"]) + len(b["links"]) for _, b in batches), "batches": len(batches),
            "concurrency": concurrency, "hubs": hubs, "seconds": round(elapsed, 1),
            "not_200": [r for r in results if r["status"] != 200],
            "batch_seconds_median": statistics.median(seconds), "batch_seconds_max": max(seconds),
            "graph": graph, "alerts": int(alerts), "raw_seconds": round(raw_seconds, 1),
            "raw_resent_batches": len(resends), "raw_graph": raw_graph, "same_graph": graph == raw_graph,
            "ratio": round(raw_seconds / elapsed, 3)}


def main(argv: list[str] | None = None) -> None:
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(prog="python -m bench.hotspots", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("matching")
    m.add_argument("--sizes", default="0,2000,10000")
    i = sub.add_parser("ingest")
    i.add_argument("--items", type=int, default=60_000)
    i.add_argument("--batch", type=int, default=5000)
    i.add_argument("--concurrency", type=int, default=4)
    i.add_argument("--hubs", type=int, default=50)
    parser.add_argument("--save", action="store_true",
                        help="keep the figures in docs/benchmarks/hotspots.json (then `python -m bench --render`)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    result: Any = (matching([int(s) for s in args.sizes.split(",")]) if args.command == "matching"
                   else ingest(args.items, args.batch, args.concurrency, args.hubs))
    print(json.dumps(result))
    if args.save:
        from bench.__main__ import RESULTS

        path = RESULTS / "hotspots.json"
        saved = json.loads(path.read_text()) if path.exists() else {}
        saved[args.command] = {"machine": {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                                           "cores": os.cpu_count(), "load_avg_start": load_before,
                                           "load_avg_end": os.getloadavg()[0]}, "result": result}
        path.write_text(json.dumps(saved, indent=2))


if __name__ == "__main__":
    main()
