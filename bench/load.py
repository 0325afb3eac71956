"""Load: concurrent pushers and readers against a running service for a fixed time, then exactly-once checks.

    python -m bench.load --seconds 120 [--pushers 8] [--readers 16] [--persons 20] [--workers 1] [--replicas 1,3]
    python -m bench --only load --load-seconds 120

`P` pushers (one agency each, in turn police, gendarmerie, douane) send batches of distinct
items with deterministic refs, so every item's id is known before it is sent: a network, a case,
`--persons` persons, each with its own phone, and links between them; one person in ten also
uses a phone from a pool of 128 shared by every pusher (same identifiers pushed by several
agencies: `shared_identifier` alerts, and lock contention — a batch linking an identifier holds its
lock until it commits), and one own phone in ten calls a shared one (`--shared-every`,
`--shared-phones`). Every fifth batch re-sends one of the pusher's acknowledged batches, whose
items must all come back `unchanged`. A 429 or 503 (or a lost connection) is retried — ingest
is idempotent — honouring `Retry-After` up to a cap, until the end of the run; any other error
abandons the batch; requests still in flight `grace` seconds after the end are cancelled (their
batches count as unacknowledged). `R` readers, with tokens of four agencies (the central one
included), mix lookup, search, neighbourhood (depth 2) and paths (<= 4 hops) on ids of
acknowledged batches. An untimed warm-up (one batch, each read once) comes first.

Figures: items/s and batches/s acknowledged, reads/s, p50/p95/max latency per operation, errors
per operation (429 and 503 apart from other 4xx and 5xx, and transport errors). Checks, on the
graph after the run: every item of an acknowledged batch is in the graph exactly once (nodes by
`id`, relationships by `id`), a batch that was never acknowledged is there entirely or not at all
(atomicity), nothing else was written (persons and their links counted by ref prefix), and the
audit chain verifies (`ofast-graph audit verify`) with at least one record per successful request.

`run()` (the bench mode) WIPES the configured Neo4j, starts the API (`ofast-graph serve`) on a
free 127.0.0.1 port, runs, verifies, and writes docs/benchmarks/load.json and
docs/benchmarks-load.md. `drive()`, `verify_graph()` and `verify_audit()` are what tests reuse
against their own service.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import neo4j

from bench.process import CLI, api_env, free_port, migrate_schema, stop, wait_ready, wipe
from graph_schema import get_schema
from graph_schema.normalise import normalise
from service.access.auth import make_token
from service.core import ids
from service.core.settings import Settings, get_settings
from service.neo4j_local.connection import connection_params

DOCS = Path(__file__).resolve().parent.parent / "docs"
RESULT_JSON = DOCS / "benchmarks" / "load.json"
RESULT_MD = DOCS / "benchmarks-load.md"

PUSH_AGENCIES = ("police", "gendarmerie", "douane")
READ_AGENCIES = (("police", "investigator"), ("gendarmerie", "investigator"), ("douane", "investigator"),
                 ("ofast", "analyst"))
READ_OPS = ("lookup", "search", "neighbourhood", "paths")
READ_WEIGHTS = (3, 2, 3, 2)
FIRST = ("Karim", "Sofiane", "Mehdi", "Lucas", "Yanis", "Nicolas", "Ryan", "Enzo", "Moussa", "Kevin",
         "Ines", "Sarah", "Nadia", "Julie", "Amine", "Bilal", "Hugo", "Thomas", "Ousmane", "Ilyes")
LAST = ("Benali", "Martin", "Bernard", "Haddad", "Diallo", "Petit", "Durand", "Mansouri", "Leroy", "Moreau",
        "Traore", "Fontaine", "Bouzid", "Garcia", "Rossi", "Lambert", "Cherif", "Girard", "Meziane", "Roux")
ROLES = ("head", "lieutenant", "courier", "lookout", "stash_keeper", "seller", "launderer")
RETRYABLE = frozenset({429, 502, 503, 504})
CHUNK = 5000


@dataclass(frozen=True)
class LoadConfig:
    pushers: int = 8
    readers: int = 16
    seconds: float = 30.0
    persons: int = 20  # persons per batch: a batch holds about 5.4 × persons + 2 items
    shared_phones: int = 128  # the pool of phones every pusher draws from
    shared_every: int = 10  # person j uses a shared phone when j % shared_every == 0, calls one at shared_every // 2
    seed: int = 7
    tag: str = "LD"  # prefix of every ref this run writes
    purpose: str = "LOAD-TEST"
    max_backoff: float = 2.0  # cap on a Retry-After honoured by a pusher
    repush_every: int = 5  # every n-th batch of a pusher, it first re-sends one it had acknowledged
    grace: float = 10.0  # requests still in flight this long after the end are cancelled (unacknowledged)
    timeout: float = 60.0


# --- the workload ------------------------------------------------------------------------------


def phone_e164(pusher: int, k: int, j: int) -> str:
    """Pusher p's batch k's person j's own phone: +33 6 pp kkkk jj — distinct for p, j < 100, k < 10**4."""
    if not (pusher < 100 and k < 10_000 and j < 100):
        raise ValueError("load identifier space exhausted (pushers < 100, batches < 10 000, persons < 100)")
    return f"+336{pusher:02d}{k:04d}{j:02d}"


def shared_e164(n: int) -> str:
    if not 0 <= n < 100_000:
        raise ValueError("at most 100 000 shared phones")
    return f"+337000{n:05d}"


def written(agency: str, e164: str) -> str:
    """The phone as the agency's system writes it (the service normalises all three to E.164)."""
    digits = e164[3:]
    if agency == "police":
        return "0" + " ".join([digits[0]] + [digits[i:i + 2] for i in range(1, 9, 2)])
    if agency == "gendarmerie":
        return "+33 " + " ".join([digits[0]] + [digits[i:i + 2] for i in range(1, 9, 2)])
    return e164


@dataclass
class Batch:
    """One ingest body with the ids the service must give its items (computed here, checked
    against the answer), what is unique to it (for the atomicity check), and the outcome."""

    pusher: int
    index: int
    agency: str
    body: dict[str, Any]
    entity_ids: list[str]
    link_ids: list[tuple[str, str]]  # (type, id), in body order
    own_ids: list[str]  # nodes only this batch writes: persons, their phones, the case
    persons: list[tuple[str, str, int | None]]  # (id, "first last", shared phone or None)
    phones: list[str]  # values as written, for lookups
    status: str = "pending"  # pending | acknowledged | failed
    acked_at: float = 0.0  # time.monotonic() of the acknowledgement
    attempts: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def items(self) -> int:
        return len(self.body["entities"]) + len(self.body["links"])


def make_batch(cfg: LoadConfig, pusher: int, k: int) -> Batch:
    agency = PUSH_AGENCIES[pusher % len(PUSH_AGENCIES)]
    rng = random.Random(f"{cfg.seed}/{pusher}/{k}")
    schema = get_schema()

    def node_id(type_name: str, ref: str) -> str:
        node = schema.node(type_name)
        if node.is_identifier:
            return ids.identifier_id(type_name, normalise(node.normaliser or "", ref))
        return ids.entity_id(agency, type_name, ref)

    net, case = f"{cfg.tag}-N-{pusher}", f"{cfg.tag}-C-{pusher}-{k}"
    entities: list[dict[str, Any]] = [
        {"type": "Network", "ref": net, "sharing": "restricted",
         "properties": {"name": f"Reseau charge {pusher}", "kind": "retail_point"}},
        {"type": "Case", "ref": case, "properties": {"reference": f"2026/{pusher:02d}{k:05d}",
                                                     "title": f"Affaire {case}", "status": "open"}},
    ]
    links: list[dict[str, Any]] = []
    persons: list[tuple[str, str, int | None]] = []
    phones: list[str] = []
    shared_in_batch: set[int] = set()
    for j in range(cfg.persons):
        ref = f"{cfg.tag}-P-{pusher}-{k}-{j}"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        entities.append({"type": "Person", "ref": ref, "sharing": "open" if j % 10 == 0 else "restricted",
                         "properties": {"first_name": first, "last_name": last}})
        own = written(agency, phone_e164(pusher, k, j))
        phones.append(own)
        entities.append({"type": "Phone", "ref": own})
        person = {"type": "Person", "ref": ref}
        links.append({"type": "USES", "from": person, "to": {"type": "Phone", "ref": own}})
        links.append({"type": "INVOLVED_IN", "from": person, "to": {"type": "Case", "ref": case},
                      "properties": {"role": "suspect"}})
        links.append({"type": "MEMBER_OF", "from": person, "to": {"type": "Network", "ref": net},
                      "properties": {"role": rng.choice(ROLES)}})
        shared: int | None = None
        if j % cfg.shared_every in (0, cfg.shared_every // 2):
            # The first person of batch k of every pusher uses shared phone k: agencies surely meet.
            n = k % cfg.shared_phones if j == 0 else rng.randrange(cfg.shared_phones)
            value = written(agency, shared_e164(n))
            if n not in shared_in_batch:
                shared_in_batch.add(n)
                entities.append({"type": "Phone", "ref": value})
            if j % cfg.shared_every == 0:
                shared = n
                links.append({"type": "USES", "from": person, "to": {"type": "Phone", "ref": value}})
            else:
                links.append({"type": "CALLED", "from": {"type": "Phone", "ref": own},
                              "to": {"type": "Phone", "ref": value}, "ref": f"{ref}-call",
                              "properties": {"count": rng.randrange(1, 50)}})
        persons.append((node_id("Person", ref), f"{first} {last}", shared))
    entity_ids = [node_id(e["type"], e["ref"]) for e in entities]
    link_ids = [(lk["type"], ids.link_id(agency, lk["type"], node_id(lk["from"]["type"], lk["from"]["ref"]),
                                         node_id(lk["to"]["type"], lk["to"]["ref"]), lk.get("ref") or ""))
                for lk in links]
    own_ids = [i for e, i in zip(entities, entity_ids, strict=True)
               if e["type"] in ("Person", "Case") or (e["type"] == "Phone" and e["ref"] in phones)]
    return Batch(pusher, k, agency, {"entities": entities, "links": links}, entity_ids, link_ids, own_ids,
                 persons, phones)


# --- the run -----------------------------------------------------------------------------------


class Recorder:
    """Latencies and outcomes per operation."""

    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        self.samples: dict[str, str] = {}  # "op status" -> the first error body seen
        self.ok_at: dict[str, list[float]] = defaultdict(list)  # time.monotonic() of each success

    def response(self, op: str, status: int, seconds: float, body: str = "") -> None:
        self.latency[op].append(seconds * 1000)
        self.outcomes[op][str(status)] += 1
        if status == 200:
            self.ok_at[op].append(time.monotonic())
        else:
            self.samples.setdefault(f"{op} {status}", body[:300])

    def failure(self, op: str, exc: BaseException, seconds: float) -> None:
        self.latency[op].append(seconds * 1000)
        self.outcomes[op][type(exc).__name__] += 1
        self.samples.setdefault(f"{op} {type(exc).__name__}", str(exc)[:300])


@dataclass
class Pools:
    """What readers may ask about: only ids of acknowledged batches."""

    starts: list[str] = field(default_factory=list)  # persons and cases
    names: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    shared_users: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    persons: list[str] = field(default_factory=list)

    def add(self, batch: Batch) -> None:
        self.starts.append(batch.entity_ids[1])
        for person_id, name, shared in batch.persons:
            self.starts.append(person_id)
            self.persons.append(person_id)
            self.names.append(name)
            if shared is not None:
                self.shared_users[shared].append(person_id)
        self.phones.extend(batch.phones)


@dataclass
class LoadRun:
    config: LoadConfig
    batches: list[Batch]
    recorder: Recorder
    seconds: float  # from the start to the last request's end (run, then in-flight requests)
    started: float = 0.0
    deadline: float = 0.0
    repushes: int = 0
    repush_changed: int = 0  # items of a re-sent acknowledged batch that did not come back unchanged
    id_mismatches: int = 0  # items whose id in the answer differs from the one computed here
    statuses: Counter[str] = field(default_factory=Counter)
    warmup: Recorder = field(default_factory=Recorder)  # untimed requests before the run


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "0.5")))
    except ValueError:
        return 0.5


async def drive(base_url: str | Sequence[str], push_tokens: Mapping[str, str],
                read_tokens: Sequence[tuple[str, str]], cfg: LoadConfig) -> LoadRun:
    """Run the workload against `base_url` for `cfg.seconds`, then up to `cfg.grace` for requests in flight.

    Several base URLs are replicas: pusher / reader `i` starts on replica `i mod n`, and a pusher
    whose request is lost in transport re-sends it through the next one, as behind a load balancer.
    `push_tokens`: agency -> token with `ingest`; `read_tokens`: (agency, token) with `read`.
    """
    urls = [base_url] if isinstance(base_url, str) else list(base_url)
    recorder, pools = Recorder(), Pools()
    batches: list[Batch] = []
    run = LoadRun(cfg, batches, recorder, 0.0)
    acked: dict[int, list[Batch]] = defaultdict(list)
    deadline = float("inf")
    # Idle connections are dropped by the client before uvicorn's keep-alive timeout (5 s) can
    # close them under a request just sent (a "Server disconnected" race, not a service error).
    limits = httpx.Limits(max_connections=cfg.pushers + cfg.readers + 4,
                          max_keepalive_connections=cfg.pushers + cfg.readers + 4, keepalive_expiry=2.0)

    async def send(replica: int, batch: Batch, op: str, rng: random.Random,
                   attempts: list[str]) -> tuple[dict[str, Any] | None, str]:
        """POST the batch until acknowledged, refused, or out of time: (answer or None, error)."""
        payload = json.dumps(batch.body).encode()
        headers = {"Authorization": f"Bearer {push_tokens[batch.agency]}", "Content-Type": "application/json",
                   "X-Source-System": "bench-load"}
        while True:
            started = time.perf_counter()
            try:
                response = await clients[replica % len(clients)].post("/v1/ingest", content=payload, headers=headers)
            except httpx.HTTPError as exc:  # the batch may or may not have been committed: resend
                recorder.failure(op, exc, time.perf_counter() - started)
                attempts.append(type(exc).__name__)
                replica += 1  # through another replica, if there are several
                delay = 0.5
            else:
                recorder.response(op, response.status_code, time.perf_counter() - started,
                                  "" if response.status_code == 200 else response.text)
                attempts.append(str(response.status_code))
                if response.status_code == 200:
                    body: dict[str, Any] = response.json()
                    return body, ""
                if response.status_code not in RETRYABLE:
                    return None, f"{response.status_code} {response.text[:500]}"
                delay = min(_retry_after(response), cfg.max_backoff)
            if time.monotonic() + delay >= deadline:
                return None, f"not acknowledged by the end of the run ({attempts[-1]})"
            await asyncio.sleep(rng.uniform(delay / 2, delay) if delay else 0)

    def acknowledge(batch: Batch, body: dict[str, Any]) -> None:
        batch.status, batch.acked_at = "acknowledged", time.monotonic()
        got_entities = [e["id"] for e in body["entities"]]
        got_links = [lk["id"] for lk in body["links"]]
        run.id_mismatches += sum(a != b for a, b in zip(got_entities, batch.entity_ids, strict=False))
        run.id_mismatches += sum(a != b for a, (_, b) in zip(got_links, batch.link_ids, strict=False))
        run.id_mismatches += abs(len(got_entities) - len(batch.entity_ids)) + abs(len(got_links) - len(batch.link_ids))
        run.statuses.update(item["status"] for item in [*body["entities"], *body["links"]])
        acked[batch.pusher].append(batch)
        pools.add(batch)

    async def push_one(replica: int, batch: Batch, rng: random.Random) -> None:
        batches.append(batch)
        try:
            body, batch.error = await send(replica, batch, "ingest", rng, batch.attempts)
        except asyncio.CancelledError:
            batch.status, batch.error = "failed", "still in flight at the end of the grace period: cancelled"
            raise
        if body is None:
            batch.status = "failed"
        else:
            acknowledge(batch, body)

    async def pusher(p: int, k: int) -> None:
        rng = random.Random(f"{cfg.seed}/pusher/{p}")
        while time.monotonic() < deadline:
            if k % cfg.repush_every == 0 and acked[p]:
                again = rng.choice(acked[p])
                body, _ = await send(p, again, "repush", rng, [])
                if body is not None:
                    run.repushes += 1
                    run.repush_changed += sum(item["status"] != "unchanged"
                                              for item in [*body["entities"], *body["links"]])
                if time.monotonic() >= deadline:
                    break
            await push_one(p, make_batch(cfg, p, k), rng)
            k += 1

    def read_request(op: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
        if op == "lookup":
            return "/v1/lookup", {"type": "Phone", "value": rng.choice(pools.phones)}
        if op == "search":
            return "/v1/search", {"q": rng.choice(pools.names), "limit": 20}
        if op == "neighbourhood":
            return f"/v1/entities/{rng.choice(pools.starts)}/neighbourhood", {"depth": 2, "limit": 200}
        sharing = [users for users in pools.shared_users.values() if len(users) > 1]
        if sharing and rng.random() < 0.5:  # two persons on one shared phone: a path exists
            source, target = rng.sample(rng.choice(sharing), 2)
        else:
            source, target = rng.sample(pools.persons, 2)
        return "/v1/paths", {"source": source, "target": target, "max_hops": 4, "limit": 5}

    async def read(http: httpx.AsyncClient, op: str, headers: dict[str, str], rng: random.Random,
                   rec: Recorder) -> int | None:
        path, params = read_request(op, rng)
        started = time.perf_counter()
        try:
            response = await http.get(path, params=params, headers=headers)
        except httpx.HTTPError as exc:
            rec.failure(op, exc, time.perf_counter() - started)
            return None
        rec.response(op, response.status_code, time.perf_counter() - started,
                     "" if response.status_code == 200 else response.text)
        return response.status_code

    async def reader(r: int) -> None:
        http = clients[r % len(clients)]
        rng = random.Random(f"{cfg.seed}/reader/{r}")
        _, token = read_tokens[r % len(read_tokens)]
        headers = {"Authorization": f"Bearer {token}", "X-Purpose": cfg.purpose}
        while time.monotonic() < deadline:
            op = rng.choices(READ_OPS, READ_WEIGHTS)[0]
            status = await read(http, op, headers, rng, recorder)
            if status is None:
                await asyncio.sleep(0.2)
            elif status in RETRYABLE:
                await asyncio.sleep(cfg.max_backoff * rng.uniform(0.5, 1.0))  # honouring Retry-After, capped

    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=u, timeout=cfg.timeout, limits=limits))
                   for u in urls]
        # Warm-up, untimed: pusher 0's first batch, then each read once on each replica (query
        # plans, caches), so that the figures are of the steady state and readers know ids from
        # the first second.
        deadline = time.monotonic() + 120
        warm_rng = random.Random(cfg.seed)
        await push_one(0, make_batch(cfg, 0, 0), warm_rng)
        if not pools.persons:
            raise RuntimeError(f"the warm-up batch was not acknowledged: {batches[0].error}")
        run.warmup, recorder = recorder, Recorder()
        headers = {"Authorization": f"Bearer {read_tokens[0][1]}", "X-Purpose": cfg.purpose}
        await asyncio.gather(*(read(http, op, headers, random.Random(op), run.warmup)
                               for http in clients for op in READ_OPS))
        run.recorder = recorder
        started = time.monotonic()
        deadline = started + cfg.seconds
        run.started, run.deadline = started, deadline
        tasks = [asyncio.create_task(pusher(p, 1 if p == 0 else 0)) for p in range(cfg.pushers)]
        tasks += [asyncio.create_task(reader(r)) for r in range(cfg.readers)]
        _, pending = await asyncio.wait(tasks, timeout=cfg.seconds + cfg.grace)
        for task in pending:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        run.seconds = time.monotonic() - started
        crashed = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, asyncio.CancelledError)]
        if crashed:  # a bug of the runner, not an outcome of the service
            raise crashed[0]
    return run


def _stats(values: Sequence[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": round(percentile(values, 0.50), 1), "p95": round(percentile(values, 0.95), 1),
            "max": round(max(values), 1) if values else 0.0}


def _error_classes(outcomes: Counter[str]) -> dict[str, int]:
    classes: Counter[str] = Counter()
    for key, n in outcomes.items():
        if not key.isdigit():
            classes["transport"] += n
        elif key in ("429", "503"):
            classes[key] += n
        elif key.startswith("4"):
            classes["4xx"] += n
        elif key.startswith("5"):
            classes["5xx"] += n
    return {k: classes.get(k, 0) for k in ("429", "503", "4xx", "5xx", "transport")}


def figures(run: LoadRun) -> dict[str, Any]:
    """Throughput, latency and errors of a run. Rates count what completed within the run's
    `seconds` (requests still in flight at the end are in the totals, not in the rates)."""
    timed = [b for b in run.batches if b.acked_at == 0.0 or b.acked_at >= run.started]  # not the warm-up
    acked = [b for b in timed if b.status == "acknowledged"]
    in_window = [b for b in acked if b.acked_at <= run.deadline]
    window = run.deadline - run.started
    rec = run.recorder
    reads_ok = sum(rec.outcomes[op].get("200", 0) for op in READ_OPS)
    reads_in_window = sum(t <= run.deadline for op in READ_OPS for t in rec.ok_at[op])
    errors = {op: _error_classes(rec.outcomes[op]) for op in ("ingest", "repush", *READ_OPS)}
    total: Counter[str] = Counter()
    for classes in errors.values():
        total.update(classes)
    details = {op: dict(sorted(c.items())) for op, c in rec.outcomes.items() if c}
    return {
        "pushers": run.config.pushers, "readers": run.config.readers, "seconds": round(window, 1),
        "seconds_with_tail": round(run.seconds, 1),
        "persons_per_batch": run.config.persons, "items_per_batch": acked[0].items if acked else 0,
        "ingest": {"batches_acknowledged": len(acked), "batches_failed": sum(b.status != "acknowledged" for b in timed),
                   "items_acknowledged": sum(b.items for b in acked),
                   "items_per_s": round(sum(b.items for b in in_window) / window, 1),
                   "batches_per_s": round(len(in_window) / window, 2),
                   "cancelled_in_flight": sum(b.error.startswith("still in flight") for b in timed),
                   "requests": sum(rec.outcomes["ingest"].values()),
                   "retried_requests": sum(len(b.attempts) - 1 for b in timed),
                   "repushes": run.repushes, "repush_items_not_unchanged": run.repush_changed,
                   "id_mismatches": run.id_mismatches, "statuses": dict(run.statuses)},
        "reads": {"ok": reads_ok, "reads_per_s": round(reads_in_window / window, 1),
                  **{op: rec.outcomes[op].get("200", 0) for op in READ_OPS}},
        "latency_ms": {op: _stats(rec.latency[op]) for op in ("ingest", "repush", *READ_OPS) if rec.latency[op]},
        "errors": errors, "errors_total": {k: total.get(k, 0) for k in ("429", "503", "4xx", "5xx", "transport")},
        "outcomes": details, "error_samples": dict(sorted(rec.samples.items())),
        "warmup_outcomes": {op: dict(c) for op, c in run.warmup.outcomes.items() if c},
    }


# --- checks ------------------------------------------------------------------------------------


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _node_counts(driver: neo4j.Driver, database: str, node_ids: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in _chunks(node_ids):
        records = driver.execute_query("UNWIND $ids AS id OPTIONAL MATCH (n:Node {id: id}) "
                                       "RETURN id, count(n) AS c", ids=list(part), database_=database).records
        counts.update({r["id"]: r["c"] for r in records})
    return counts


def _link_counts(driver: neo4j.Driver, database: str, links: Sequence[tuple[str, str]]) -> dict[str, int]:
    by_type: dict[str, list[str]] = defaultdict(list)
    for type_name, link_id in links:
        by_type[type_name].append(link_id)
    counts: dict[str, int] = {}
    for type_name, link_ids in by_type.items():
        get_schema().relationship(type_name)  # whitelist: the type is spliced into the query
        for part in _chunks(link_ids):
            records = driver.execute_query(
                f"UNWIND $ids AS id OPTIONAL MATCH ()-[r:{type_name} {{id: id}}]->() RETURN id, count(r) AS c",
                ids=list(part), database_=database).records
            counts.update({r["id"]: r["c"] for r in records})
    return counts


def verify_graph(driver: neo4j.Driver, database: str, run: LoadRun) -> dict[str, Any]:
    """Exactly once for acknowledged batches; all or nothing for the others; nothing else written."""
    acked = [b for b in run.batches if b.status == "acknowledged"]
    failed = [b for b in run.batches if b.status != "acknowledged"]
    node_ids = sorted({i for b in acked for i in b.entity_ids})
    links = sorted({link for b in acked for link in b.link_ids})
    nodes = _node_counts(driver, database, node_ids)
    rels = _link_counts(driver, database, links)
    problems: list[str] = []
    missing_nodes = [i for i in node_ids if nodes.get(i, 0) == 0]
    duplicated_nodes = [i for i in node_ids if nodes.get(i, 0) > 1]
    missing_links = [i for _, i in links if rels.get(i, 0) == 0]
    duplicated_links = [i for _, i in links if rels.get(i, 0) > 1]
    for name, found in (("missing nodes", missing_nodes), ("duplicated nodes", duplicated_nodes),
                        ("missing relationships", missing_links), ("duplicated relationships", duplicated_links)):
        if found:
            problems.append(f"{len(found)} {name} of acknowledged batches, e.g. {found[:3]}")

    # Never acknowledged: what only this batch writes is there entirely, or not at all.
    committed = absent = 0
    half_written: list[str] = []
    f_nodes: dict[str, int] = {}
    if failed:
        f_nodes = _node_counts(driver, database, sorted({i for b in failed for i in b.own_ids}))
        f_links = _link_counts(driver, database, sorted({link for b in failed for link in b.link_ids}))
        for b in failed:
            present = sum(f_nodes.get(i, 0) > 0 for i in b.own_ids) + sum(f_links.get(i, 0) > 0 for _, i in b.link_ids)
            if present == 0:
                absent += 1
            elif present == len(b.own_ids) + len(b.link_ids):
                committed += 1
            else:
                half_written.append(f"pusher {b.pusher} batch {b.index}: {present} of "
                                    f"{len(b.own_ids) + len(b.link_ids)} items ({b.attempts}, {b.error[:200]})")
    if half_written:
        problems.append(f"{len(half_written)} half-written batches: {half_written[:3]}")

    # Nothing else: persons of this run, and the links leaving them, are exactly those expected.
    in_graph = acked + [b for b in failed if b.own_ids and f_nodes.get(b.own_ids[0], 0) > 0]
    persons_expected = len({pid for b in in_graph for pid, _, _ in b.persons})
    person_links_expected = len({i for b in in_graph for t, i in b.link_ids if t != "CALLED"})
    row = driver.execute_query(
        "MATCH (p:Person) WHERE p.ref STARTS WITH $prefix "
        "OPTIONAL MATCH (p)-[r]->() RETURN count(DISTINCT p) AS persons, count(r) AS links",
        prefix=f"{run.config.tag}-P-", database_=database).records[0]
    if (row["persons"], row["links"]) != (persons_expected, person_links_expected):
        problems.append(f"graph holds {row['persons']} persons / {row['links']} links of this run, "
                        f"expected {persons_expected} / {person_links_expected}")
    alerts = driver.execute_query(
        "MATCH (a:Alert {kind: 'shared_identifier'}) RETURN count(a) AS n, count(DISTINCT a.pair_key) AS keys",
        database_=database).records[0]
    if alerts["n"] != alerts["keys"]:
        problems.append(f"{alerts['n'] - alerts['keys']} duplicated shared_identifier alerts")
    return {
        "ok": not problems, "problems": problems,
        "acknowledged_batches": len(acked), "acknowledged_nodes": len(node_ids), "acknowledged_links": len(links),
        "missing_nodes": len(missing_nodes), "duplicated_nodes": len(duplicated_nodes),
        "missing_links": len(missing_links), "duplicated_links": len(duplicated_links),
        "unacknowledged_batches": len(failed), "unacknowledged_committed": committed,
        "unacknowledged_absent": absent, "half_written_batches": len(half_written),
        "persons": row["persons"], "persons_expected": persons_expected,
        "person_links": row["links"], "person_links_expected": person_links_expected,
        "shared_identifier_alerts": alerts["n"],
    }


def verify_audit(env: Mapping[str, str], run: LoadRun | None = None) -> dict[str, Any]:
    """`ofast-graph audit verify --json` with the service's environment; with `run`, also that the
    chain holds at least one record per successful request of the run (each one is audited)."""
    proc = subprocess.run([*CLI, "audit", "verify", "--json"], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=300, check=False)
    try:
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "message": f"exit {proc.returncode}: {proc.stdout[-500:]} {proc.stderr[-1500:]}"}
    result["exit_code"] = proc.returncode
    if run is not None:
        ok_requests = sum(c.get("200", 0) for rec in (run.warmup, run.recorder) for c in rec.outcomes.values())
        result["successful_requests"] = ok_requests
        if isinstance(result.get("checked"), int) and result["checked"] < ok_requests:
            result["ok"] = False
            result["message"] = f"{result['checked']} audit records for {ok_requests} successful requests"
    return result


# --- bench mode --------------------------------------------------------------------------------


def deadlock_retries(log: Path) -> int:
    """Deadlocks Neo4j detected between concurrent transactions, as the API's log reports them
    (the driver retries each one; only those still failing after its retry time become 503s)."""
    try:
        return log.read_text(errors="replace").count("DeadlockDetected")
    except OSError:
        return 0


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine(uri: str, auth: tuple[str, str]) -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)
    with neo4j.GraphDatabase.driver(uri, auth=auth) as driver:
        rec = driver.execute_query("CALL dbms.components() YIELD versions, edition "
                                   "RETURN versions[0] AS v, edition", database_="system").records[0]
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "neo4j": f"{rec['v']} {rec['edition']}", "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def tokens(settings: Settings) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Ingest tokens per pushing agency and read tokens of four agencies, signed with `settings`."""
    push = {a: make_token(settings, agency=a, roles=["ingest"], unit="load", subject=f"load-push-{a}", ttl=6 * 3600)
            for a in PUSH_AGENCIES}
    read = [(a, make_token(settings, agency=a, roles=[role], unit="load", subject=f"load-read-{a}", ttl=6 * 3600))
            for a, role in READ_AGENCIES]
    return push, read


def run(cfg: LoadConfig, workers: int = 1, settings: Settings | None = None, write_docs: bool = True,
        log: bool = True, replicas: int = 1) -> dict[str, Any]:
    """The bench mode: wipe the configured Neo4j, serve the API (`replicas` processes of `workers`
    workers, each with its own state folder, over the routing `neo4j://` URI), drive the load,
    verify, and (`write_docs`) write the docs with this result alone."""
    settings = settings or get_settings()
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if log else (lambda msg: None)
    uri, user, password = connection_params(settings)
    routed = uri.replace("bolt://", "neo4j://", 1)
    result: dict[str, Any] = {"machine": machine(uri, (user, password)), "load_avg_start": os.getloadavg(),
                              "uptime_start": _uptime(), "workers": workers, "replicas": replicas,
                              "neo4j_uri_scheme": routed.split(":", 1)[0]}
    with neo4j.GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
        migrate_schema(uri, (user, password), settings.neo4j_database)
        wipe(driver, settings.neo4j_database)
        with tempfile.TemporaryDirectory(prefix="ofast-load-") as state:
            secret = secrets.token_hex(32)
            envs = [api_env(routed, user, password, secret, neo4j_database=settings.neo4j_database,
                            state_dir=f"{state}/replica-{i}") for i in range(replicas)]
            logs = [Path(state) / f"api-{i}.log" for i in range(replicas)]
            procs: list[subprocess.Popen[bytes]] = []
            bases = []
            try:
                for env, api_log in zip(envs, logs, strict=True):
                    port = free_port()
                    with api_log.open("ab") as out:
                        procs.append(subprocess.Popen([*CLI, "serve", "--host", "127.0.0.1", "--port", str(port),
                                                       "--workers", str(workers)],
                                                      env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT))
                    bases.append(f"http://127.0.0.1:{port}")
                for base, proc in zip(bases, procs, strict=True):
                    wait_ready(base, proc)
                push, read = tokens(settings.model_copy(update={"jwt_secret": secret}))
                say(f"load: {cfg.pushers} pushers, {cfg.readers} readers, {cfg.seconds:.0f} s against "
                    f"{' '.join(bases)} (Neo4j {routed}); load average {os.getloadavg()[0]:.2f}")
                load = asyncio.run(drive(bases, push, read, cfg))
                result["load_avg_end"] = os.getloadavg()
                result["uptime_end"] = _uptime()
            finally:
                for proc in procs:
                    stop(proc)
            result["figures"] = figures(load)
            result["figures"]["neo4j_deadlock_retries"] = sum(deadlock_retries(api_log) for api_log in logs)
            say("load: verifying the graph and the audit chain…")
            result["graph"] = verify_graph(driver, settings.neo4j_database, load)
            for env in envs[1:]:  # each replica's journal is replayed from its own folder, if any is left
                verify_audit(env)
            result["audit"] = verify_audit(envs[0], load)
    result["config"] = asdict(cfg)
    if write_docs:
        write(result)
    return result


def write(*results: dict[str, Any]) -> None:
    """docs/benchmarks/load.json (`{"runs": [...]}`) and docs/benchmarks-load.md, one section a run."""
    RESULT_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULT_JSON.write_text(json.dumps({"runs": list(results)}, indent=2) + "\n")
    RESULT_MD.write_text(render(*results))


def summary(fig: dict[str, Any], graph: dict[str, Any] | None = None, audit: dict[str, Any] | None = None) -> str:
    """A few lines for a terminal (and `pytest -s`)."""
    ing, reads = fig["ingest"], fig["reads"]
    lines = [f"load: {fig['pushers']} pushers × {fig['readers']} readers for {fig['seconds']} s "
             f"(+{round(fig['seconds_with_tail'] - fig['seconds'], 1)} s for requests in flight) — "
             f"{ing['items_per_s']} items/s ({ing['batches_acknowledged']} batches of ~{fig['items_per_batch']} items, "
             f"{ing['batches_failed']} unacknowledged, {ing['cancelled_in_flight']} of them cut at the end), "
             f"{reads['reads_per_s']} reads/s ({reads['ok']} ok)"]
    for op, s in fig["latency_ms"].items():
        lines.append(f"  {op:<13} n={s['n']:<6} p50={s['p50']:>8} ms  p95={s['p95']:>8} ms  max={s['max']:>8} ms")
    lines.append(f"  errors: {fig['errors_total']}  (per outcome: {fig['outcomes']})")
    lines.extend(f"    first {key}: {body}" for key, body in fig.get("error_samples", {}).items())
    if "neo4j_deadlock_retries" in fig:
        lines.append(f"  Neo4j deadlocks retried by the API's driver: {fig['neo4j_deadlock_retries']}")
    lines.append(f"  re-pushes: {ing['repushes']} ({ing['repush_items_not_unchanged']} items not unchanged); "
                 f"id mismatches: {ing['id_mismatches']}")
    if graph is not None:
        lines.append(f"  graph: {'OK' if graph['ok'] else 'FAILED'} — {graph['acknowledged_nodes']} nodes and "
                     f"{graph['acknowledged_links']} relationships acknowledged; missing {graph['missing_nodes']}/"
                     f"{graph['missing_links']}, duplicated {graph['duplicated_nodes']}/{graph['duplicated_links']}; "
                     f"unacknowledged batches {graph['unacknowledged_batches']} (committed "
                     f"{graph['unacknowledged_committed']}, absent {graph['unacknowledged_absent']}, half-written "
                     f"{graph['half_written_batches']}); {graph['shared_identifier_alerts']} shared_identifier alerts")
        lines.extend(f"    problem: {p}" for p in graph["problems"])
    if audit is not None:
        lines.append(f"  audit: {'OK' if audit.get('ok') else 'FAILED'} — {audit.get('message')} "
                     f"(checked {audit.get('checked')}, successful requests {audit.get('successful_requests')})")
    return "\n".join(lines)


def render(*results: dict[str, Any]) -> str:
    out = ["# Load benchmark", "",
           "Produced by `python -m bench --only load --load-seconds S` (or `python -m bench.load --seconds S",
           "--replicas 1,3`), which wipes the configured Neo4j. Concurrent pushers and readers against API",
           "processes on 127.0.0.1 (one, or several replicas with their own state folders behind a client-side",
           "round robin, over the routing `neo4j://` URI) for a fixed time, then checks on the graph",
           "(`bench/load.py` describes the workload).", ""]
    if len(results) > 1:
        out += ["| replicas | items/s | reads/s | errors (5xx / 503 / transport) | checks |",
                "| --- | --- | --- | --- | --- |"]
        for r in results:
            e = r["figures"]["errors_total"]
            out.append(f"| {r.get('replicas', 1)} | {r['figures']['ingest']['items_per_s']:,} | "
                       f"{r['figures']['reads']['reads_per_s']} | {e['5xx']} / {e['503']} / {e['transport']} | "
                       f"{'pass' if r['graph']['ok'] and r['audit'].get('ok') else 'FAIL'} |")
        out += ["", "On 2 cores the replicas share the same CPUs as Neo4j: throughput is not expected to grow with",
                "them; what the comparison checks is that several replicas stay correct (no errors, exactly once).", ""]
    for result in results:
        out += _render_run(result, len(results) > 1)
    return "\n".join(out)


def _render_run(result: dict[str, Any], titled: bool) -> list[str]:
    fig, graph, audit, m = result["figures"], result["graph"], result["audit"], result["machine"]
    ing, reads = fig["ingest"], fig["reads"]
    out = [f"## {result.get('replicas', 1)} replica(s)", ""] if titled else []
    out += [f"{m['date']} — {m['cores']} cores ({m['cpu']}), Neo4j {m['neo4j']}, Python {m['python']}, "
           f"{result.get('replicas', 1)} API replica(s) of {result['workers']} worker(s). "
           f"Load average (1/5/15 min) at start "
           f"{'/'.join(f'{x:.2f}' for x in result['load_avg_start'])}, at end "
           f"{'/'.join(f'{x:.2f}' for x in result.get('load_avg_end', ()))} — the machine is shared.", "",
           "| pushers | readers | seconds | items/s | batches/s | reads/s | batches (items each) | unacknowledged |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |",
           f"| {fig['pushers']} | {fig['readers']} | {fig['seconds']} | {ing['items_per_s']:,} | "
           f"{ing['batches_per_s']} | {reads['reads_per_s']} | {ing['batches_acknowledged']:,} "
           f"(~{fig['items_per_batch']}) | {ing['batches_failed']} ({ing['cancelled_in_flight']} cut at the end) |", "",
           "| operation | n | p50 ms | p95 ms | max ms | 429 | 503 | other 4xx | other 5xx | transport |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for op, s in fig["latency_ms"].items():
        e = fig["errors"].get(op, {})
        out.append(f"| {op} | {s['n']:,} | {s['p50']} | {s['p95']} | {s['max']} | {e.get('429', 0)} | "
                   f"{e.get('503', 0)} | {e.get('4xx', 0)} | {e.get('5xx', 0)} | {e.get('transport', 0)} |")
    out += ["", f"Outcomes per operation: `{json.dumps(fig['outcomes'])}`. Neo4j deadlocks between concurrent "
            f"batches, retried inside the API: {fig.get('neo4j_deadlock_retries', '—')}.", ""]
    out += [f"- first `{key}`: `{body}`" for key, body in fig.get("error_samples", {}).items()]
    out += ["",
            "### Checks", "",
            f"- Exactly once: {graph['acknowledged_nodes']:,} nodes and {graph['acknowledged_links']:,} relationships "
            f"of acknowledged batches — missing {graph['missing_nodes']} / {graph['missing_links']}, duplicated "
            f"{graph['duplicated_nodes']} / {graph['duplicated_links']}; persons of the run "
            f"{graph['persons']:,} (expected {graph['persons_expected']:,}), their links {graph['person_links']:,} "
            f"(expected {graph['person_links_expected']:,}).",
            f"- Atomicity: {graph['unacknowledged_batches']} unacknowledged batches — "
            f"{graph['unacknowledged_committed']} entirely committed, {graph['unacknowledged_absent']} absent, "
            f"{graph['half_written_batches']} half-written.",
            f"- Idempotency: {ing['repushes']} acknowledged batches re-sent, "
            f"{ing['repush_items_not_unchanged']} items not `unchanged`; ids as computed by the client: "
            f"{ing['id_mismatches']} mismatches.",
            f"- Deconfliction: {graph['shared_identifier_alerts']:,} `shared_identifier` alerts, none duplicated.",
            f"- Audit chain: {'verifies' if audit.get('ok') else 'BROKEN'} — {audit.get('message')} "
            f"({audit.get('successful_requests')} successful requests).",
            f"- Overall: **{'pass' if graph['ok'] and audit.get('ok') else 'FAIL'}**"
            + (f" — {'; '.join(graph['problems'])}" if graph["problems"] else ""), ""]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="duration of the timed run")
    parser.add_argument("--pushers", type=int, default=8)
    parser.add_argument("--readers", type=int, default=16)
    parser.add_argument("--persons", type=int, default=20, help="persons per batch (about 5.4 items each)")
    parser.add_argument("--workers", type=int, default=1, help="API worker processes (of each replica)")
    parser.add_argument("--replicas", default="1",
                        help="API replicas, or a comma-separated list of counts to run one after the other (1,3)")
    parser.add_argument("--shared-phones", type=int, default=128, help="size of the pool of shared phones")
    parser.add_argument("--shared-every", type=int, default=10, help="one person in N uses (another calls) one")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks/load.json and .md")
    args = parser.parse_args(argv)
    cfg = LoadConfig(pushers=args.pushers, readers=args.readers, seconds=args.seconds, persons=args.persons,
                     shared_phones=args.shared_phones, shared_every=max(2, args.shared_every), seed=args.seed)
    try:
        counts = [int(n) for n in args.replicas.split(",")]
    except ValueError:
        parser.error(f"--replicas: counts separated by commas, not {args.replicas!r}")
    if not counts or min(counts) < 1:
        parser.error("--replicas: every count is at least 1")
    results = []
    for n in counts:
        result = run(cfg, workers=args.workers, write_docs=False, replicas=n)
        print(f"{n} replica(s): " + summary(result["figures"], result["graph"], result["audit"]))
        results.append(result)
    if not args.no_docs:
        write(*results)
    if not all(r["graph"]["ok"] and r["audit"].get("ok") for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
