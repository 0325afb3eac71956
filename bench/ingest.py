"""Ingest throughput: the API beside the raw driver, on the same data, in the same run.

    python -m bench.ingest --items 100000 [--batch 5000] [--concurrency 4] [--seed 7] [--rounds 1] [--workers 1]

Generates N items of a realistic mixed scenario (networks, cases, persons with phones, bank
accounts and vehicles shared between cells and agencies, the links between them), then:

1. wipes the graph and pushes every batch through `POST /v1/ingest` of a real server
   (`ofast-graph serve` in a subprocess, httpx client, several batches in flight);
2. wipes again and writes the same data with the raw driver — one plain
   `UNWIND $rows AS r MERGE ... SET x += r.props` per node label and relationship type per
   batch, with ids, normalised values and the same stored properties prepared beforehand
   (outside the timer), rows in the API's lock order (nodes by id, links by their pair of ends),
   the same concurrency — so both runs end with the same graph, properties included (review
   dates, a Person's minor flag).

It prints items/s for both and the ratio (goal: API >= 0.8x raw), each the median of the rounds. It uses the Neo4j the
settings name (OFAST_GRAPH_NEO4J_URI / OFAST_GRAPH_NEO4J_PASSWORD, else the local dev server)
and WIPES ITS DATA (schema and migrations are kept). Not a test: figures, not assertions.
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
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import neo4j

from bench import statements as timed
from bench.process import CLI, api_env, free_port, migrate_schema, stop, wait_ready, wipe
from graph_schema import get_schema
from service.access.auth import make_token
from service.access.policy import Policy, policy_from_file
from service.core.settings import Settings, get_settings
from service.domain.ingest.models import build_plan
from service.domain.lifecycle.retention import review_dates
from service.neo4j_local.connection import connection_params

AGENCIES = ("police", "gendarmerie", "douane")
FIRST = ("Karim", "Sofiane", "Mehdi", "Lucas", "Yanis", "Nicolas", "Ryan", "Enzo", "Moussa", "Kevin",
         "Ines", "Sarah", "Nadia", "Julie", "Amine", "Bilal", "Hugo", "Thomas", "Ousmane", "Ilyes")
LAST = ("Benali", "Martin", "Bernard", "Haddad", "Diallo", "Petit", "Durand", "Mansouri", "Leroy", "Moreau",
        "Traore", "Fontaine", "Bouzid", "Garcia", "Rossi", "Lambert", "Cherif", "Girard", "Meziane", "Roux")
ALIASES = ("Le Chat", "Nono", "Le Gros", "Tito", "Bebe", "Le Grec", "Zizou", "Babar")
CITIES = ("Marseille", "Lyon", "Lille", "Le Havre", "Paris 18e", "Nimes", "Grenoble", "Toulouse", "Nantes", "Creil")
ROLES = ("head", "lieutenant", "courier", "lookout", "stash_keeper", "seller", "launderer")
CELL_PERSONS = 40


# --- data ------------------------------------------------------------------------------------


def _phone(rng: random.Random, pool: int) -> str:
    # Most numbers are a suspect's own; one in ten comes from a small pool shared across cells
    # and agencies — the overlaps deconfliction is for (each raises shared_identifier alerts).
    n = rng.randrange(pool) if rng.random() < 0.1 else pool + rng.randrange(10**8 - pool)
    digits = f"6{n:08d}"
    style = rng.randrange(3)  # the same number written three ways by different systems
    if style == 0:
        return "0" + " ".join([digits[0]] + [digits[i:i + 2] for i in range(1, 9, 2)])
    if style == 1:
        return "+33" + digits
    return "0" + digits


def _cell(rng: random.Random, agency: str, cell: int, phone_pool: int, prefix: str = ""
          ) -> list[tuple[str, dict[str, Any]]]:
    """One network's cell: the network, its cases and persons with their identifiers and links
    (`prefix` before every entity ref, so that data pushed onto a stored graph is new to it)."""
    items: list[tuple[str, dict[str, Any]]] = []
    net = f"{prefix}N-{cell}"
    items.append(("e", {"type": "Network", "ref": net, "sharing": "restricted",
                        "properties": {"name": f"Reseau {cell}", "kind": rng.choice(["retail_point", "wholesale"]),
                                       "territory": rng.choice(CITIES)}}))
    cases = [f"{prefix}C-{cell}-{k}" for k in range(2)]
    for ref in cases:
        items.append(("e", {"type": "Case", "ref": ref, "properties": {
            "reference": f"{2024 + rng.randrange(2)}/{rng.randrange(100000):05d}", "title": f"Affaire {ref}",
            "opened_at": f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}", "status": "open"}}))
    previous_phone: str | None = None
    for k in range(CELL_PERSONS):
        ref = f"{prefix}P-{cell}-{k}"
        props: dict[str, Any] = {"first_name": rng.choice(FIRST), "last_name": rng.choice(LAST),
                                 "birth_date": f"{rng.randrange(1970, 2005)}-{rng.randrange(1, 13):02d}-"
                                               f"{rng.randrange(1, 29):02d}"}
        if rng.random() < 0.3:
            props["aliases"] = [rng.choice(ALIASES)]
        sharing = "open" if rng.random() < 0.1 else "restricted"
        items.append(("e", {"type": "Person", "ref": ref, "sharing": sharing, "properties": props}))
        phone = _phone(rng, phone_pool)
        items.append(("e", {"type": "Phone", "ref": phone}))
        items.append(("l", {"type": "USES", "from": {"type": "Person", "ref": ref},
                            "to": {"type": "Phone", "ref": phone}, "properties": {"since": "2024-01-01"}}))
        items.append(("l", {"type": "MEMBER_OF", "from": {"type": "Person", "ref": ref},
                            "to": {"type": "Network", "ref": net}, "properties": {"role": rng.choice(ROLES)}}))
        items.append(("l", {"type": "INVOLVED_IN", "from": {"type": "Person", "ref": ref},
                            "to": {"type": "Case", "ref": rng.choice(cases)}, "properties": {"role": "suspect"}}))
        if previous_phone is not None and rng.random() < 0.5:
            items.append(("l", {"type": "CALLED", "from": {"type": "Phone", "ref": phone},
                                "to": {"type": "Phone", "ref": previous_phone},
                                "ref": f"{agency}-{ref}", "properties": {"count": rng.randrange(1, 200)}}))
        if rng.random() < 0.3:
            iban = f"FR76{rng.randrange(10**22):023d}"
            items.append(("e", {"type": "BankAccount", "ref": iban}))
            items.append(("l", {"type": "HOLDS", "from": {"type": "Person", "ref": ref},
                                "to": {"type": "BankAccount", "ref": iban}}))
        if rng.random() < 0.2:
            plate = f"{rng.choice('ABCDEFGH')}{rng.choice('ABCDEFGH')}-{rng.randrange(1000):03d}-" \
                    f"{rng.choice('KLMNPRST')}{rng.choice('KLMNPRST')}"
            items.append(("e", {"type": "Vehicle", "ref": plate, "properties": {"kind": "car"}}))
            items.append(("l", {"type": "USES", "from": {"type": "Person", "ref": ref},
                                "to": {"type": "Vehicle", "ref": plate}}))
        previous_phone = phone
    return items


Unit = Callable[[random.Random, str, int], list[tuple[str, dict[str, Any]]]]


def batches(items: int, batch: int, rng: random.Random, unit: Unit) -> list[tuple[str, dict[str, Any]]]:
    """`items` items in batches of about `batch`, as (agency, ingest body), agencies in turn; each
    batch is made of whole units (`unit(rng, agency, n)`: its ("e" | "l", item) pairs, entities
    first, so a unit cut short at the end still names only entities it holds)."""
    out: list[tuple[str, dict[str, Any]]] = []
    total, n = 0, 0
    while total < items:
        agency = AGENCIES[len(out) % len(AGENCIES)]
        body: dict[str, Any] = {"entities": [], "links": []}
        size = 0
        while size < batch and total + size < items:
            unit_items = unit(rng, agency, n)[: min(batch - size, items - total - size)]
            n += 1
            for kind, item in unit_items:
                body["entities" if kind == "e" else "links"].append(item)
            size += len(unit_items)
        out.append((agency, body))
        total += size
    return out


def generate(items: int, batch: int = 5000, seed: int = 7, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Batches of about `batch` items, `items` in all, as (agency, ingest body). Each batch holds
    whole cells (links only reach entities of their own batch) and belongs to one agency, in
    turn; a tenth of the phones come from a shared pool, so agencies and cells overlap."""
    phone_pool = max(10, items // 100)
    return batches(items, batch, random.Random(seed),
                   lambda rng, agency, cell: _cell(rng, agency, cell, phone_pool, prefix))


def _drop_dangling(body: dict[str, Any]) -> None:
    """A truncated last cell may leave links to entities cut off: drop those links."""
    refs = {(e["type"], e["ref"]) for e in body["entities"]}
    schema = get_schema()
    body["links"] = [
        link for link in body["links"]
        if all(schema.node(end["type"]).is_identifier or (end["type"], end["ref"]) in refs
               for end in (link["from"], link["to"]))
    ]


# --- raw baseline ----------------------------------------------------------------------------


def raw_statements(agency: str, body: dict[str, Any], policy: Policy) -> list[tuple[str, list[dict[str, Any]]]]:
    """The same batch as plain UNWIND MERGE statements, one per label / relationship type, writing
    the same properties the API stores (provenance, hashes, search text), so both runs end with
    the same graph. Ids, normalised values and hashes are computed here, before the timer."""
    plan = build_plan(body, get_schema(), policy, agency)
    if plan.errors:
        raise ValueError(f"generated batch is invalid: {plan.errors[:3]}")
    now = dt.datetime.now(dt.UTC).isoformat()
    due = review_dates(policy.lifecycle)  # what the API's entity upserts set
    batch_id = str(uuid.uuid4())
    schema = get_schema()
    nodes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in [*plan.entities, *plan.extra_identifiers.values()]:
        if row.identifier:
            props = {"type": row.type, "value": row.ref, "search_text": row.ref, "created_at": now,
                     "updated_at": now, **row.props}
        else:
            props = {"type": row.type, "ref": row.ref, "owner_agency": agency, "owner_unit": "bench",
                     "sharing": row.sharing, "source_system": "bench", "created_at": now, "updated_at": now,
                     "version": 1, "batch_id": batch_id, "content_hash": row.hash, "search_text": row.search,
                     "review_due": due["minor_due" if row.minor else "due"], **row.props}
            if row.minor is not None:
                props["minor"] = row.minor
        nodes[row.type].append({"id": row.id, "props": props})
    rels: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for link in plan.links:
        props = {"owner_agency": agency, "owner_unit": "bench", "sharing": link.sharing, "source_system": "bench",
                 "created_at": now, "updated_at": now, "version": 1, "batch_id": batch_id,
                 "content_hash": link.hash, **link.props}
        rels[link.type].append({"src": link.src, "dst": link.dst, "id": link.id, "props": props})
    statements = []
    # Ordered keys, as the API writes them: types in one order, nodes by id, links by their pair of
    # ends, so concurrent batches take their locks in one order (fewer deadlocks to resend).
    for type_name, rows in sorted(nodes.items()):
        rows.sort(key=lambda r: r["id"])
        kind = "Identifier" if schema.node(type_name).is_identifier else "Entity"
        statements.append((f"UNWIND $rows AS r MERGE (n:Node {{id: r.id}}) "
                           f"SET n:{kind}:{type_name}, n += r.props", rows))
    for rel_type, rows in sorted(rels.items()):
        rows.sort(key=lambda r: (min(r["src"], r["dst"]), max(r["src"], r["dst"]), r["id"]))
        statements.append((f"UNWIND $rows AS r MATCH (a:Node {{id: r.src}}) MATCH (b:Node {{id: r.dst}}) "
                           f"MERGE (a)-[l:{rel_type} {{id: r.id}}]->(b) SET l += r.props", rows))
    return statements


async def _raw(uri: str, auth: tuple[str, str], database: str,
               prepared: list[list[tuple[str, list[dict[str, Any]]]]], concurrency: int,
               resends: list[int] | None = None) -> float:
    """Write every batch, `concurrency` at a time; the seconds it took. `resends`: one entry per
    batch the driver's own retries could not get through (deadlocks), resent here."""
    driver = neo4j.AsyncGraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF")
    queue: asyncio.Queue[list[tuple[str, list[dict[str, Any]]]]] = asyncio.Queue()
    for statements in prepared:
        queue.put_nowait(statements)

    async def worker() -> None:
        while not queue.empty():
            statements = queue.get_nowait()

            async def work(tx: neo4j.AsyncManagedTransaction,
                           statements: list[tuple[str, list[dict[str, Any]]]] = statements) -> None:
                for query, rows in statements:
                    await (await tx.run(query, rows=rows)).consume()

            for attempt in range(20):
                try:
                    async with driver.session(database=database) as session:
                        await session.execute_write(work)
                    break
                except neo4j.exceptions.TransientError:
                    if resends is not None:
                        resends.append(1)
                    # Concurrent plain UNWINDs deadlock now and then beyond the driver's own
                    # retries: resend, as the API's client does on a 503.
                    await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
            else:
                raise RuntimeError("raw batch kept deadlocking")

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started
    finally:
        await driver.close()


# --- API -------------------------------------------------------------------------------------


async def _api(base: str, tokens: dict[str, str], payloads: list[tuple[str, bytes]], concurrency: int
               ) -> tuple[float, int]:
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for p in payloads:
        queue.put_nowait(p)
    retries = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal retries
        while not queue.empty():
            agency, payload = queue.get_nowait()
            for attempt in range(20):
                r = await client.post("/v1/ingest", content=payload, headers={
                    "Authorization": f"Bearer {tokens[agency]}", "Content-Type": "application/json",
                    "X-Source-System": "bench"})
                if r.status_code == 200:
                    break
                if r.status_code != 503:
                    raise RuntimeError(f"ingest failed: {r.status_code} {r.text[:500]}")
                retries += 1  # a deadlock or a busy server: safe to resend, ingest is idempotent
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
            else:
                raise RuntimeError("ingest kept failing with 503")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=600.0, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - started, retries


# --- run -------------------------------------------------------------------------------------


def graph_counts(driver: neo4j.Driver, database: str) -> dict[str, int]:
    nodes = driver.execute_query("MATCH (n:Node) RETURN count(n) AS n", database_=database).records[0]["n"]
    rels = driver.execute_query("MATCH (:Node)-[r]->(:Node) RETURN count(r) AS n", database_=database).records[0]["n"]
    return {"nodes": int(nodes), "relationships": int(rels)}


def store_counts(driver: neo4j.Driver, database: str, rel_types: list[str]) -> dict[str, int]:
    """Nodes and relationships of the given types, from Neo4j's count store: no scan, whatever the
    size of the stored graph (`graph_counts` walks every relationship)."""
    nodes = driver.execute_query("MATCH (n:Node) RETURN count(n) AS n", database_=database).records[0]["n"]
    rels = sum(int(driver.execute_query(f"MATCH ()-[r:{t}]->() RETURN count(r) AS n",
                                        database_=database).records[0]["n"]) for t in rel_types)
    return {"nodes": int(nodes), "relationships": rels}


@dataclass
class Prepared:
    """One side's data for one round: the API's request bodies, the raw writer's statements, and
    what writing them onto the stored graph must add (`expect`, filled by `expect_onto`)."""

    total: int
    payloads: list[tuple[str, bytes]]
    statements: list[list[tuple[str, list[dict[str, Any]]]]]
    expect: dict[str, int] = field(default_factory=dict)

    @property
    def rel_types(self) -> list[str]:
        return sorted({q.split("[l:", 1)[1].split(" ", 1)[0] for s in self.statements for q, _ in s if "[l:" in q})

    def expect_onto(self, driver: neo4j.Driver, database: str) -> None:
        node_ids = sorted({r["id"] for s in self.statements for q, rows in s if "[l:" not in q for r in rows})
        link_ids = {r["id"] for s in self.statements for q, rows in s if "[l:" in q for r in rows}
        stored = driver.execute_query("UNWIND $ids AS id MATCH (n:Node {id: id}) RETURN count(n) AS n",
                                      ids=node_ids, database_=database).records[0]["n"]
        self.expect = {"nodes": len(node_ids) - int(stored), "relationships": len(link_ids)}


def prepare(items: int, batch: int, seed: int, policy: Policy, prefix: str = "") -> Prepared:
    generated = generate(items, batch, seed, prefix)
    for _, body in generated:
        _drop_dangling(body)
    return Prepared(total=sum(len(b["entities"]) + len(b["links"]) for _, b in generated),
                    payloads=[(agency, json.dumps(body).encode()) for agency, body in generated],
                    statements=[raw_statements(agency, body, policy) for agency, body in generated])


def run(items: int, batch: int = 5000, concurrency: int = 4, seed: int = 7, rounds: int = 1,
        workers: int = 1, settings: Settings | None = None, log: bool = True,
        statements: bool = False, onto: bool = False) -> dict[str, Any]:
    """Run both sides on the same generated data, `rounds` times alternately (API, raw, API,
    raw…, so both meet the same neighbours on a shared machine); return the figures as a dict
    (the median round's rates, the ratio of those, and every round's seconds). `statements`: also
    where each side's time went, its costliest statements per round (`bench.statements`).

    `onto`: keep the stored graph (a 10M-node store takes hours to load, minutes to wipe) and push
    fresh data onto it instead: each side, each round, its own `items` (other seed, entity refs
    under a prefix of this run, so new to the store; a tenth of the phones from the shared pool,
    so some are stored already). Both sides then meet the same store, growing by the same amount
    each round; each side's check is that it added exactly the nodes and relationships its data
    holds that the store did not (`same_graph` is that check for every side and round)."""
    settings = settings or get_settings()
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if log else (lambda msg: None)
    uri, user, password = connection_params(settings)
    database = settings.neo4j_database
    policy = policy_from_file(settings.policy_file)
    tag = f"X{int(time.time()):x}-"  # this run's prefix, when pushing onto a stored graph
    shared = None if onto else prepare(items, batch, seed, policy)
    if shared:
        say(f"{shared.total} items in {len(shared.payloads)} batches of <= {batch}, concurrency {concurrency}, "
            f"Neo4j {uri}")
    secret = secrets.token_urlsafe(32)
    api_settings = settings.model_copy(update={"jwt_secret": secret})
    tokens = {a: make_token(api_settings, agency=a, roles=["ingest"], unit="bench", ttl=24 * 3600)
              for a in AGENCIES}
    api_runs: list[float] = []
    raw_runs: list[float] = []
    api_rates: list[float] = []
    raw_rates: list[float] = []
    retries = 0
    api_graph: dict[str, int] = {}
    raw_graph: dict[str, int] = {}
    checks: list[dict[str, Any]] = []
    stored: dict[str, int] = {}

    driver = neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF")
    migrate_schema(uri, (user, password), database)
    port = free_port()
    env = {**os.environ, **api_env(uri, user, password, secret, max_batch_items=str(max(batch, 10_000)))}
    sides = timed.Sides() if statements else None
    if sides:
        env.update(sides.env)
    cli = timed.PROFILED_CLI if sides else CLI
    proc = subprocess.Popen([*cli, "serve", "--port", str(port), "--workers", str(workers)], env=env)
    base = f"http://127.0.0.1:{port}"

    def side(name: str, data: Prepared, write: Callable[[], float]) -> dict[str, int]:
        """Write one side's data (wiping first unless `onto`), time it, and check what it added."""
        if onto:
            data.expect_onto(driver, database)
            before = store_counts(driver, database, data.rel_types)
        else:
            wipe(driver, database)
        say(f"round {round_}: {name}…")
        seconds = write()
        (api_runs if name == "API" else raw_runs).append(seconds)
        (api_rates if name == "API" else raw_rates).append(data.total / seconds)
        if onto:
            after = store_counts(driver, database, data.rel_types)
            added = {k: after[k] - before[k] for k in after}
            checks.append({"side": name, "round": round_, "added": added, "expected": data.expect,
                           "ok": added == data.expect})
            graph = after
        else:
            graph = graph_counts(driver, database)
        say(f"  {name}: {seconds:.1f}s, {data.total / seconds:.0f} items/s, {graph}"
            + (f", added {checks[-1]['added']} (expected {data.expect})" if onto else ""))
        return graph

    round_ = 0
    try:
        wait_ready(base, proc)
        # Warm-up on other data (imports, identifier metadata, query plans in Neo4j), so that
        # neither side's first round pays one-off costs.
        warm_items, warm_batch = min(2000, batch) * max(workers, 2), min(2000, batch)
        for name in ("API", "raw"):
            warm = prepare(warm_items, warm_batch, seed + 1, policy, f"{tag}W{name}-" if onto else "")
            if not onto:
                wipe(driver, database)
            if name == "API":
                asyncio.run(_api(base, tokens, warm.payloads, concurrency))
            else:
                asyncio.run(_raw(uri, (user, password), database, warm.statements, concurrency))
        if onto:
            stored = store_counts(driver, database, ["USES", "MEMBER_OF", "INVOLVED_IN", "CALLED", "HOLDS"])
            say(f"pushing {items} items per side and round onto a stored graph of {stored['nodes']:,} nodes")
        if sides:
            sides.mark()
        for round_ in range(1, rounds + 1):
            api_data = shared or prepare(items, batch, seed + 10 * round_, policy, f"{tag}A{round_}-")

            def api_write(data: Prepared = api_data) -> float:
                nonlocal retries
                seconds, retried = asyncio.run(_api(base, tokens, data.payloads, concurrency))
                retries += retried
                return seconds

            api_graph = side("API", api_data, api_write)
            raw_data = shared or prepare(items, batch, seed + 10 * round_ + 5, policy, f"{tag}R{round_}-")

            def raw_write(data: Prepared = raw_data) -> float:
                return asyncio.run(_raw(uri, (user, password), database, data.statements, concurrency))

            raw_graph = side("raw", raw_data, raw_write)
        if sides:
            profile = sides.top(rounds, concurrency)
    finally:
        stop(proc)
        driver.close()

    api_rate, raw_rate = statistics.median(api_rates), statistics.median(raw_rates)
    total = shared.total if shared else items
    return {
        "items": total, "batches": -(-total // batch), "batch_size": batch, "concurrency": concurrency,
        "workers": workers, "rounds": rounds, "api_seconds": round(statistics.median(api_runs), 2),
        "api_items_per_s": round(api_rate), "raw_seconds": round(statistics.median(raw_runs), 2),
        "raw_items_per_s": round(raw_rate), "ratio": round(api_rate / raw_rate, 3), "api_retried_batches": retries,
        "api_runs_s": [round(x, 2) for x in api_runs], "raw_runs_s": [round(x, 2) for x in raw_runs],
        "api_graph": api_graph, "raw_graph": raw_graph,
        "same_graph": all(c["ok"] for c in checks) if onto else api_graph == raw_graph,
        **({"onto": stored, "checks": checks} if onto else {}),
        **({"statements": profile} if sides else {}),
    }


def main(argv: list[str] | None = None) -> None:
    logging.getLogger("neo4j").setLevel(logging.ERROR)  # deadlock retries are expected, not news
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=1, help="alternate API and raw runs; report the median of each")
    parser.add_argument("--workers", type=int, default=1, help="API worker processes (uvicorn --workers)")
    parser.add_argument("--statements", action="store_true", help="also time each side's statements")
    parser.add_argument("--onto", action="store_true",
                        help="keep the stored graph and push fresh items onto it, each side and round")
    args = parser.parse_args(argv)
    result = run(args.items, args.batch, args.concurrency, args.seed, args.rounds, args.workers,
                 statements=args.statements, onto=args.onto)
    print(f"API  {result['api_items_per_s']:>8} items/s  ({result['api_seconds']} s)")
    print(f"raw  {result['raw_items_per_s']:>8} items/s  ({result['raw_seconds']} s)")
    print(f"ratio API/raw: {result['ratio']:.2f}  (goal >= 0.80)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
