"""Phone records at volume: `POST /v1/events` beside a raw-driver writer, then the analyses' reads.

    python -m bench.events ingest [--events 1000000] [--batch 5000] [--concurrency 4] [--rounds 1]
    python -m bench.events reads  [--events 10000000] [--samples 100] [--reuse] [--bulk]

`ingest` generates N calls (`bench.events_data`: a daily rhythm, hub numbers in 5 % of the calls,
three agencies in turn) and, alternately for each round:

1. wipes the graph and pushes every batch through `POST /v1/events` of a real server (`ofast-graph
   serve` in a subprocess, several batches in flight); a batch answered other than 200 is counted
   by status (a 503 is resent, as the importers' client does: ingest is idempotent);
2. wipes again and writes the same events with the raw driver: per batch one plain `UNWIND … MERGE`
   per statement the API runs — identifiers, cell sites, events, the agencies kept on the
   identifiers, the derived CALLED links — with ids, normalised values and every stored property
   prepared beforehand by the API's own planner (outside the timer), the same concurrency. What
   the raw writer leaves out is what the API adds: validation, ownership probes, alerts, the
   audit record.

`reads` loads N calls (the raw writer, which stores what the API stores; `--reuse` keeps a store
that already holds about N events; `--bulk` builds the same store offline with neo4j-admin's
import, `bench.events_bulk`, in minutes rather than hours at ten million) and times, one request at
a time, three ways each: through the API, as the endpoint's own Cypher (`service.queries.events`)
with the visibility predicates, and as the same Cypher without them (`bench.baselines`): a timeline
page of one phone, the contacts of one phone over a month, the common contacts of three phones, the
co-location of one phone over a week.

Both use the Neo4j the settings name (OFAST_GRAPH_NEO4J_URI / OFAST_GRAPH_NEO4J_PASSWORD) and WIPE
ITS DATA. Results go to docs/benchmarks/events-<N>.json and docs/benchmarks.md. Not a test.
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
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import neo4j

from bench import baselines, events_data
from bench import statements as timed
from bench.explore import cpu_pressure, pct
from bench.http import LeanClient
from bench.process import CLI, api_env, free_port, migrate_schema, stop, store_facts, wait_ready, wipe
from graph_schema import get_schema
from service.access.auth import make_token
from service.access.policy import Policy, policy_from_file
from service.core import ids
from service.core.db import Database
from service.core.settings import Settings, get_settings
from service.domain.events import analyses
from service.domain.events.models import build_plan, utc_text
from service.domain.events.write import CODES, aggregate_id
from service.neo4j_local.connection import connection_params
from service.queries import events as events_q

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"
GOALS_MS = {"timeline": 100.0, "contacts": 100.0, "common_contacts": 300.0, "co_location": 500.0}
Statements = list[tuple[str, list[dict[str, Any]], dict[str, Any]]]


# --- raw writer ----------------------------------------------------------------------------------


def raw_statements(agency: str, body: dict[str, Any], policy: Policy) -> Statements:
    """The raw writer's statements for one batch: what the API stores, prepared by its own planner."""
    schema = get_schema()
    plan = build_plan(json.dumps(body).encode(), schema, policy, agency)
    if plan.errors:
        raise ValueError(f"the generator made invalid events: {plan.errors[:3]}")
    owner = {"agency": agency, "unit": "bench", "now": dt.datetime.now(dt.UTC).isoformat()}
    out: Statements = []
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ident in sorted(plan.identifiers):
        found = plan.identifiers[ident]
        by_type[found["type"]].append({"id": ident, "value": found["value"], "p": found["props"]})
    for type_name, rows in sorted(by_type.items()):
        out.append((f"UNWIND $rows AS r MERGE (n:Node {{id: r.id}}) ON CREATE SET n:Identifier:{type_name}, "
                    f"n += r.p, n.type = '{type_name}', n.value = r.value, n.search_text = r.value", rows, {}))
    places = [{"id": p.id, "ref": p.ref, "p": {"kind": p.kind, "sharing": p.sharing, **p.props}}
              for _, p in sorted(plan.places.items())]
    if places:
        out.append(("UNWIND $rows AS r MERGE (n:Node {id: r.id}) ON CREATE SET n:Entity:Location, n += r.p, "
                    "n.type = 'Location', n.ref = r.ref, n.owner_agency = $agency, n.created_at = $now",
                    places, owner))
    by_label: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in plan.events:
        # `at` as ISO text made a DATETIME by Neo4j, as the API sends it (the driver's conversion is slow).
        by_label[schema.events[row.kind].label][row.id] = {"id": row.id, "p": {**row.p, "at": utc_text(row.at)}}
    for label, rows_by_id in sorted(by_label.items()):
        out.append((f"UNWIND $rows AS r MERGE (e:Event {{id: r.id}}) ON CREATE SET e:{label}, e += r.p, "
                    "e.at = datetime(r.p.at), "
                    "e.owner_agency = $agency, e.owner_unit = $unit, e.created_at = $now, e.version = 1",
                    [rows_by_id[k] for k in sorted(rows_by_id)], owner))
    holders = sorted({(ident, row.p["sharing"]) for row in plan.events for _, ident in row.parties.values()})
    # The list filtered before the agency is added, as the API's statement does: an identifier named
    # at two sharing levels is two rows, both past the WHERE before either SET.
    out.append(("UNWIND $rows AS r MATCH (i:Node {id: r.id}) WITH i, r WHERE NOT $agency IN "
                "coalesce(i.event_agencies, []) SET i.event_agencies = "
                "[_a IN coalesce(i.event_agencies, []) WHERE _a <> $agency] + $agency",
                [{"id": i, "sharing": s} for i, s in holders], owner))
    pairs: dict[str, dict[str, Any]] = {}
    for row in plan.events:
        if "from" not in row.parties or "to" not in row.parties:
            continue
        src, dst = row.parties["from"][1], row.parties["to"][1]
        owned = (row.p["sharing"], *(row.p[c] for c in CODES))
        key = aggregate_id(agency, "CALLED", src, dst, owned)
        group = pairs.setdefault(key, {"id": key, "src": src, "dst": dst, "count": 0, "first": row.at,
                                       "last": row.at, "p": {"sharing": owned[0], "derived": True}})
        group["count"] += 1
        group["first"], group["last"] = min(group["first"], row.at), max(group["last"], row.at)
    rows = sorted(pairs.values(), key=lambda g: (min(g["src"], g["dst"]), max(g["src"], g["dst"]), g["id"]))
    for g in rows:
        g["first"], g["last"] = utc_text(g["first"]), utc_text(g["last"])
    out.append(("UNWIND $rows AS r MATCH (a:Node {id: r.src}) MATCH (b:Node {id: r.dst}) "
                "MERGE (a)-[l:CALLED {id: r.id}]->(b) "
                "ON CREATE SET l += r.p, l.count = r.count, l.first = r.first, l.last = r.last, "
                "l.owner_agency = $agency "
                "ON MATCH SET l.count = l.count + r.count, "
                "l.first = CASE WHEN r.first < l.first THEN r.first ELSE l.first END, "
                "l.last = CASE WHEN r.last > l.last THEN r.last ELSE l.last END", rows, owner))
    return out


async def raw_write(uri: str, auth: tuple[str, str], database: str, prepared: list[Statements],
                    concurrency: int) -> tuple[float, int]:
    """Every batch in one write transaction, `concurrency` in flight; (seconds, deadlocks resent)."""
    driver = neo4j.AsyncGraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF")
    queue: asyncio.Queue[Statements] = asyncio.Queue()
    for statements in prepared:
        queue.put_nowait(statements)
    resent = 0

    async def worker() -> None:
        nonlocal resent
        while not queue.empty():
            statements = queue.get_nowait()

            async def work(tx: neo4j.AsyncManagedTransaction, statements: Statements = statements) -> None:
                for query, rows, params in statements:
                    await (await tx.run(query, rows=rows, **params)).consume()

            for attempt in range(30):
                try:
                    async with driver.session(database=database) as session:
                        await session.execute_write(work)
                    break
                except neo4j.exceptions.TransientError:
                    resent += 1  # a deadlock beyond the driver's own retries: resend, as the API does
                    await asyncio.sleep(min(0.1 * 2**attempt, 2.0) * random.random())
            else:
                raise RuntimeError("raw batch kept deadlocking")

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, resent
    finally:
        await driver.close()


# --- API ------------------------------------------------------------------------------------------


async def api_push(base: str, tokens: dict[str, str], payloads: list[tuple[str, bytes]], concurrency: int
                   ) -> tuple[float, Counter[int], list[float]]:
    """Every batch through POST /v1/events; (seconds, first answers by status, each batch's seconds)."""
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for p in payloads:
        queue.put_nowait(p)
    statuses: Counter[int] = Counter()
    seconds: list[float] = []

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            agency, payload = queue.get_nowait()
            for attempt in range(20):
                started = time.perf_counter()
                r = await client.post("/v1/events", content=payload, headers={
                    "Authorization": f"Bearer {tokens[agency]}", "Content-Type": "application/json",
                    "X-Source-System": "bench"})
                if attempt == 0:
                    statuses[r.status_code] += 1
                    seconds.append(time.perf_counter() - started)
                if r.status_code == 200:
                    break
                if r.status_code != 503:
                    raise RuntimeError(f"events failed: {r.status_code} {r.text[:500]}")
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
            else:
                raise RuntimeError("events kept failing with 503")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=600.0, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - started, statuses, seconds


class Api:
    """`ofast-graph serve` in a subprocess on a free loopback port, with tokens for each agency."""

    def __init__(self, settings: Settings, max_items: int, sides: timed.Sides | None = None) -> None:
        self.uri, self.user, self.password = connection_params(settings)
        secret = secrets.token_urlsafe(32)
        api_settings = settings.model_copy(update={"jwt_secret": secret})
        self.tokens = {a: make_token(api_settings, agency=a, roles=["ingest", "investigator"], unit="bench",
                                     ttl=24 * 3600) for a in events_data.AGENCIES}
        port = free_port()
        env = {**os.environ, **api_env(self.uri, self.user, self.password, secret,
                                       max_batch_items=str(max(max_items, 10_000)))}
        if sides:
            env.update(sides.env)
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([*(timed.PROFILED_CLI if sides else CLI), "serve", "--host", "127.0.0.1",
                                      "--port", str(port)], env=env)

    def __enter__(self) -> Api:
        wait_ready(self.base, self.proc)
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.proc)


def store_counts(driver: neo4j.Driver, database: str) -> dict[str, int]:
    q = ("CALL () { MATCH (e:Event) RETURN count(e) AS events } "
         "CALL () { MATCH (n:Identifier) RETURN count(n) AS identifiers } "
         "CALL () { MATCH ()-[l:CALLED]->() RETURN count(l) AS called, sum(l.count) AS counted } "
         "RETURN events, identifiers, called, counted")
    rec = driver.execute_query(q, database_=database).records[0]
    return {k: int(rec[k] or 0) for k in ("events", "identifiers", "called", "counted")}


def ingest(events: int, batch: int = 5000, concurrency: int = 4, rounds: int = 1, seed: int = 5,
           settings: Settings | None = None, statements: bool = False) -> dict[str, Any]:
    """`statements`: also where each side's time went, its costliest statements per round
    (`bench.statements`), as `bench.ingest --statements` says."""
    settings = settings or get_settings()
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    policy = policy_from_file(settings.policy_file)
    bodies = list(events_data.batches(events, batch, seed))
    payloads = [(agency, json.dumps(body).encode()) for agency, body in bodies]
    say(f"{events} calls in {len(bodies)} batches of <= {batch}; preparing the raw writer's rows…")
    prepared = [raw_statements(agency, body, policy) for agency, body in bodies]
    api_runs: list[float] = []
    raw_runs: list[float] = []
    statuses: Counter[int] = Counter()
    batch_seconds: list[float] = []
    raw_resent = 0
    api_store: dict[str, int] = {}
    raw_store: dict[str, int] = {}
    load_start = os.getloadavg()[0]
    sides = timed.Sides() if statements else None
    with Api(settings, batch, sides) as api, neo4j.GraphDatabase.driver(
            api.uri, auth=(api.user, api.password), notifications_min_severity="OFF") as driver:
        migrate_schema(api.uri, (api.user, api.password), settings.neo4j_database)
        warm = list(events_data.batches(2 * batch, batch, seed + 1))
        wipe(driver, settings.neo4j_database)
        asyncio.run(api_push(api.base, api.tokens, [(a, json.dumps(b).encode()) for a, b in warm], concurrency))
        wipe(driver, settings.neo4j_database)
        asyncio.run(raw_write(api.uri, (api.user, api.password), settings.neo4j_database,
                              [raw_statements(a, b, policy) for a, b in warm], concurrency))
        if sides:
            sides.mark()
        for round_ in range(1, rounds + 1):
            wipe(driver, settings.neo4j_database)
            say(f"round {round_}: raw…")
            seconds, resent = asyncio.run(raw_write(api.uri, (api.user, api.password), settings.neo4j_database,
                                                    prepared, concurrency))
            raw_runs.append(seconds)
            raw_resent += resent
            raw_store = store_counts(driver, settings.neo4j_database)
            say(f"  raw: {seconds:.1f}s, {events / seconds:.0f} events/s, {resent} resent, {raw_store}")
            wipe(driver, settings.neo4j_database)
            say(f"round {round_}: API…")
            seconds, first, each = asyncio.run(api_push(api.base, api.tokens, payloads, concurrency))
            api_runs.append(seconds)
            statuses.update(first)
            batch_seconds += each
            api_store = store_counts(driver, settings.neo4j_database)
            say(f"  API: {seconds:.1f}s, {events / seconds:.0f} events/s, first answers {dict(first)}, {api_store}")
        profile = sides.top(rounds, concurrency) if sides else None
    api_s, raw_s = sorted(api_runs)[len(api_runs) // 2], sorted(raw_runs)[len(raw_runs) // 2]
    return {"events": events, "batches": len(bodies), "batch_size": batch, "concurrency": concurrency,
            "rounds": rounds, "api_seconds": round(api_s, 2), "api_events_per_s": round(events / api_s),
            "raw_seconds": round(raw_s, 2), "raw_events_per_s": round(events / raw_s),
            "ratio": round(raw_s / api_s, 3), "api_runs_s": [round(x, 2) for x in api_runs],
            "raw_runs_s": [round(x, 2) for x in raw_runs], "first_answers": {str(k): v for k, v in statuses.items()},
            "batch_seconds_p50": round(pct(batch_seconds, 0.5), 2), "batch_seconds_max": round(max(batch_seconds), 2),
            "raw_resent": raw_resent, "api_store": api_store, "raw_store": raw_store,
            "load_avg_start": load_start, "load_avg_end": os.getloadavg()[0], "cpu_pressure_end": cpu_pressure(),
            **({"statements": profile} if profile else {})}


# --- reads ----------------------------------------------------------------------------------------


def phone_id(n: int) -> str:
    return ids.identifier_id("Phone", events_data.phone_number(n))


def load(events: int, settings: Settings, reuse: bool, batch: int = 10_000, bulk: bool = False) -> dict[str, int]:
    """N calls in the store, written by the raw writer (4 at a time) or imported offline (`bulk`),
    unless `reuse` finds them."""
    uri, user, password = connection_params(settings)
    if bulk:
        from bench import events_bulk

        server = events_bulk.server_of(settings)
        server.start()
        with neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
            have = store_counts(driver, settings.neo4j_database)
        if reuse and abs(have["events"] - events) <= events // 20:
            return have
        events_bulk.build(events, settings, server=server)
        # A new driver: one from before the import would ask for bookmarks of the replaced database.
        with neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
            return store_counts(driver, settings.neo4j_database)
    policy = policy_from_file(settings.policy_file)
    with neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
        migrate_schema(uri, (user, password), settings.neo4j_database)
        have = store_counts(driver, settings.neo4j_database)
        if reuse and abs(have["events"] - events) <= events // 20:
            return have
        wipe(driver, settings.neo4j_database)
        chunk: list[Statements] = []
        done = 0
        started = time.perf_counter()
        for agency, body in events_data.batches(events, batch):
            chunk.append(raw_statements(agency, body, policy))
            if len(chunk) == 8:
                asyncio.run(raw_write(uri, (user, password), settings.neo4j_database, chunk, 4))
                done += 8 * batch
                chunk = []
                rate = done / (time.perf_counter() - started)
                print(f"\r  loaded {done:,} events ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
        if chunk:
            asyncio.run(raw_write(uri, (user, password), settings.neo4j_database, chunk, 4))
        print(file=sys.stderr)
        return store_counts(driver, settings.neo4j_database)


def _window(days: int, start_day: int) -> analyses.Window:
    since = events_data.START.astimezone(dt.UTC) + dt.timedelta(days=start_day)
    return analyses.Window(since, since + dt.timedelta(days=days))


Call = Callable[[Database], Awaitable[Any]]


def reads(events: int, samples: int = 100, reuse: bool = False, seed: int = 3,
          settings: Settings | None = None, bulk: bool = False) -> dict[str, Any]:
    """p50 / p95 of each analysis three ways (API, the endpoint's domain call with its Cypher, raw)."""
    settings = settings or get_settings()
    started = time.monotonic()
    store = load(events, settings, reuse, bulk=bulk)
    load_seconds = round(time.monotonic() - started, 1)
    subscribers = max(events // 40, 100)
    rng = random.Random(seed)
    viewer = {"agency": "police", "central": False}
    kinds = events_q.kinds_of(None)
    whole = analyses.Window()

    def phone() -> str:
        return phone_id(rng.randrange(events_data.HUBS, subscribers + events_data.HUBS))

    # op -> [(API path, the endpoint's domain call, raw parameters)]
    cases: dict[str, list[tuple[str, Call, dict[str, Any]]]] = defaultdict(list)
    for _ in range(samples):
        p = phone()
        cases["timeline"].append((
            f"/v1/entities/{p}/timeline?limit=50",
            partial(analyses.timeline, viewer=viewer, node_id=p, win=whole, event_kinds=kinds, limit=50, offset=0),
            {"parties": [p], **whole.params, "offset": 0, "limit": 50, "window": 50}))
        month = _window(30, rng.randrange(events_data.DAYS - 30))
        cases["contacts"].append((
            f"/v1/analytics/contacts?phone={p}&since={utc_text(month.since)}&until={utc_text(month.until)}",
            partial(analyses.contacts, viewer=viewer, phone=p, win=month, limit=50),
            {"phone": p, **month.params, "limit": 50}))
        three = [phone() for _ in range(3)]
        cases["common_contacts"].append((
            f"/v1/analytics/common-contacts?phones={','.join(three)}",
            partial(analyses.common_contacts, viewer=viewer, phones=three, win=whole, limit=100),
            {"phones": three, **whole.params, "limit": 100}))
        week = _window(7, rng.randrange(events_data.DAYS - 7))
        cases["co_location"].append((
            f"/v1/analytics/co-location?id={p}&window_minutes=30&since={utc_text(week.since)}"
            f"&until={utc_text(week.until)}",
            partial(analyses.co_location, viewer=viewer, node_id=p, minutes=30, win=week, limit=100),
            {"id": p, **week.params, "window": dt.timedelta(minutes=30), "limit": 100}))
    load_start = os.getloadavg()[0]
    rows = asyncio.run(_time_reads(settings, cases))
    return {"events": events, "store": store, "loader": "bulk" if bulk else "raw", "load_seconds": load_seconds,
            "samples": samples, "rows": rows,
            **store_facts(settings),
            "load_avg_start": load_start, "load_avg_end": os.getloadavg()[0], "cpu_pressure_end": cpu_pressure()}


Ways = dict[str, Callable[[], Awaitable[Any]]]  # "cypher" and "raw": one call each


async def time_three_ways(client: LeanClient, cases: list[tuple[str, Ways]]) -> dict[str, list[float]]:
    """Each case through the API (`GET path`), its domain call and its raw statement, in a rotating
    order (load drifts hit all alike); ms of each, the first fifth (warming caches and plans) left out."""
    times: dict[str, list[float]] = {"api": [], "cypher": [], "raw": []}
    warm = len(cases) // 5
    for k, (path, calls) in enumerate(cases):
        ways = ["api", "cypher", "raw"]
        for way in ways[k % 3:] + ways[:k % 3]:
            started = time.perf_counter()
            if way == "api":
                r = await client.get(path)
                if r.status_code != 200:
                    raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
            else:
                await calls[way]()
            if k >= warm:
                times[way].append((time.perf_counter() - started) * 1000)
    return times


def three_ways_row(op: str, times: dict[str, list[float]], goal_ms: float) -> dict[str, Any]:
    """p50 / p95 of each way, Cypher / raw of the p95s, API − Cypher of the p50s."""
    row: dict[str, Any] = {"operation": op, "n": len(times["api"])}
    for way, values in times.items():
        row[f"{way}_p50"] = round(pct(values, 0.5), 2)
        row[f"{way}_p95"] = round(pct(values, 0.95), 2)
    row["cypher_over_raw_p95"] = round(row["cypher_p95"] / row["raw_p95"], 2)
    row["api_minus_cypher_p50"] = round(row["api_p50"] - row["cypher_p50"], 2)
    row["goal_p95_ms"] = goal_ms
    return row


async def _time_reads(settings: Settings, cases: dict[str, list[tuple[str, Call, dict[str, Any]]]]
                      ) -> list[dict[str, Any]]:
    uri, user, password = connection_params(settings)
    rows = []
    with Api(settings, 1000) as api:
        driver = neo4j.AsyncGraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF")
        db = Database(driver, settings.neo4j_database, settings.retry_after_seconds)
        client = LeanClient(api.base, {"Authorization": f"Bearer {api.tokens['police']}"})
        try:
            for op, items in cases.items():
                timed: list[tuple[str, Ways]] = [(path, {"cypher": partial(call, db), "raw": partial(
                    driver.execute_query, baselines.RAW_EVENTS[op], raw_params, database_=settings.neo4j_database,
                    routing_=neo4j.RoutingControl.READ)}) for path, call, raw_params in items]
                row = three_ways_row(op, await time_three_ways(client, timed), GOALS_MS[op])
                rows.append(row)
                print(f"  {op}: {row}", file=sys.stderr, flush=True)
        finally:
            await client.close()
            await driver.close()
    return rows


def save(kind: str, events: int, result: dict[str, Any]) -> None:
    path = RESULTS / f"events-{events}.json"
    saved = json.loads(path.read_text()) if path.exists() else {"events": events}
    result["machine"] = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "cores": os.cpu_count(),
                         "load_avg": os.getloadavg()}
    saved[kind] = result
    path.write_text(json.dumps(saved, indent=2))


def main(argv: list[str] | None = None) -> None:
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("ingest", "reads"))
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--bulk", action="store_true", help="reads: build the store with neo4j-admin import")
    parser.add_argument("--statements", action="store_true", help="ingest: also time each side's statements")
    args = parser.parse_args(argv)
    if args.what == "ingest":
        result = ingest(args.events, args.batch, args.concurrency, args.rounds, statements=args.statements)
    else:
        result = reads(args.events, args.samples, args.reuse, bulk=args.bulk)
    save(args.what, args.events, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
