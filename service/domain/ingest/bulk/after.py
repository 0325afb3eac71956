"""Once the import is done: what the same pushes through the API would have done besides writing.

In this order, over the imported graph, in batches (several transactions at a time):

1. the migrations (constraints and indexes, `graph_schema.migrations`), awaited online;
2. the patches: values the import files could not carry (`files.format_line`);
3. `shared_identifier` alerts: for every identifier linked by entities of several agencies,
   each agency's smallest entity on it goes through the ingest's own alert step
   (`service.domain.ingest.write.IngestWork._alert`: its query, visibility and dedup);
4. person matching: `service.domain.lifecycle.matching.detect` for the persons of every agency
   but the one with the most (a pair across agencies always has a side among them);
5. the corrections: items named again with other content, replayed in input order through
   the ingest's write path itself (`service.domain.ingest.write.ingest`: versions, hooks);
6. the events (an FtM Payment's transfer), which have no import file: in input order through
   the events' write path itself (`service.domain.events.write.write_events`: derived links,
   alerts), as `ofast-graph import` sends them after the entities and links;
7. one audit record per agency loaded.

Late hits need remembered lookups, which an empty database has none of.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from neo4j import AsyncManagedTransaction

from graph_schema import get_schema
from graph_schema.migrations import migrate
from service.access.auth import Principal
from service.access.policy import Policy
from service.audit.chain import append, new_record
from service.core import clock
from service.core.db import Database
from service.domain.events import models as event_models
from service.domain.events.write import write_events
from service.domain.ingest import write
from service.domain.ingest.bulk.files import Stamp
from service.domain.ingest.models import Plan, build_plan
from service.domain.lifecycle import matching
from service.queries import bulk as q

SUBJECT = "system:bulk-load"
IDENTIFIER_BATCH = 2000
PERSON_BATCH = 1000
PATCH_BATCH = 5000
CORRECTION_BATCH = 2000

T = TypeVar("T")


@dataclass
class AfterReport:
    alerts: dict[str, int] = field(default_factory=lambda: {"shared_identifier": 0, "possible_match": 0})
    match_candidates: int = 0
    corrections: dict[str, int] = field(default_factory=dict)  # status -> items
    events: dict[str, int] = field(default_factory=dict)  # status -> events
    patched: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def principal(policy: Policy, stamp: Stamp) -> Principal:
    """Whom the load writes as: the agency (and unit) its data belongs to, with the ingest right only."""
    return Principal(sub=SUBJECT, agency=stamp.agency, unit=stamp.unit, roles=("ingest",),
                     permissions=policy.permissions(stamp.agency, ["ingest"]),
                     is_central=policy.is_central(stamp.agency))


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _bounded(jobs: Iterable[Callable[[], Awaitable[None]]], concurrency: int) -> None:
    """Run the jobs, at most `concurrency` at a time, without materialising them all."""
    running: set[asyncio.Task[None]] = set()
    for job in jobs:
        if len(running) >= concurrency:
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        running.add(asyncio.ensure_future(job()))
    if running:
        await asyncio.gather(*running)


async def apply_patches(db: Database, patches: Iterable[dict[str, Any]], concurrency: int) -> int:
    count = 0

    def jobs() -> Iterator[Callable[[], Awaitable[None]]]:
        nonlocal count
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for patch in patches:
            key = (patch["kind"], patch["type"])
            groups[key].append({"id": patch["id"], "p": patch["p"]})
            count += 1
            if len(groups[key]) >= PATCH_BATCH:
                yield _patch_job(db, key, groups.pop(key))
        for key, rows in groups.items():
            yield _patch_job(db, key, rows)

    await _bounded(jobs(), concurrency)
    return count


def _patch_job(db: Database, key: tuple[str, str], rows: list[dict[str, Any]]) -> Callable[[], Awaitable[None]]:
    query = q.PATCH_NODES if key[0] == "node" else q.patch_links(key[1])

    async def job() -> None:
        await db.write_records(query, rows=rows)

    return job


async def shared_identifier_alerts(db: Database, policy: Policy, stamps: dict[str, Stamp], identifiers: list[str],
                                   now: str, concurrency: int, report: AfterReport) -> None:
    def job(ids: list[str]) -> Callable[[], Awaitable[None]]:
        async def work(tx: AsyncManagedTransaction) -> int:
            by_agency: dict[str, list[tuple[str, str]]] = defaultdict(list)
            async for r in await tx.run(q.IDENTIFIER_OWNERS, ids=ids):
                by_agency[r["agency"]].append((r["entity"], r["identifier"]))
            created = 0
            for agency in sorted(by_agency):
                stamp = stamps.get(agency)
                if stamp is None:  # not an agency of this load: cannot be, the database was empty
                    continue
                ingest = write.IngestWork(Plan(), principal(policy, stamp), policy, stamp.source)
                created += await ingest._alert(tx, sorted(by_agency[agency]), now)
            return created

        async def run() -> None:
            created = await db.write(work)  # read the count only once the write is back: tasks interleave
            report.alerts["shared_identifier"] += created

        return run

    await _bounded((job(ids) for ids in batches(identifiers, IDENTIFIER_BATCH)), concurrency)


async def person_matches(db: Database, policy: Policy, persons: dict[str, list[str]], now: str, concurrency: int,
                         report: AfterReport) -> None:
    if len(persons) < 2:
        return
    largest = max(persons, key=lambda a: (len(persons[a]), a))
    ids = (pid for agency in sorted(persons) if agency != largest for pid in persons[agency])

    def job(batch: list[str]) -> Callable[[], Awaitable[None]]:
        async def work(tx: AsyncManagedTransaction) -> int:
            return await matching.detect(tx, sorted(batch), policy, now)

        async def run() -> None:
            created = await db.write(work)  # read the count only once the write is back: tasks interleave
            report.alerts["possible_match"] += created

        return run

    await _bounded((job(batch) for batch in batches(ids, PERSON_BATCH)), concurrency)
    rows = await db.read_records(q.COUNT_MATCH_CANDIDATES)
    report.match_candidates = int(rows[0]["n"])


async def replay_corrections(db: Database, policy: Policy, stamps: dict[str, Stamp],
                             corrections: Iterable[dict[str, Any]], report: AfterReport) -> None:
    """In input order, one agency's consecutive corrections per batch, a batch never naming an id twice."""
    schema = get_schema()
    batch: dict[str, list[Any]] = {"entities": [], "links": []}
    ids: set[str] = set()
    agency = ""

    async def flush() -> None:
        nonlocal batch, ids
        if not ids:
            return
        plan = build_plan(batch, schema, policy, agency)
        out = await write.ingest(db, plan, principal(policy, stamps[agency]), policy, stamps[agency].source)
        for item in (*out["entities"], *out["links"]):
            report.corrections[item["status"]] = report.corrections.get(item["status"], 0) + 1
        batch, ids = {"entities": [], "links": []}, set()

    for correction in corrections:
        if correction["agency"] != agency or correction["id"] in ids or len(ids) >= CORRECTION_BATCH:
            await flush()
            agency = correction["agency"]
        batch["entities" if correction["kind"] == "entity" else "links"].append(correction["item"])
        ids.add(correction["id"])
    await flush()


async def replay_events(db: Database, policy: Policy, stamps: dict[str, Stamp], events: Iterable[dict[str, Any]],
                        report: AfterReport) -> None:
    """In input order, one agency's consecutive events per batch, a batch never naming one twice."""
    from importers.events_import import event_key

    schema = get_schema()
    batch: list[dict[str, Any]] = []
    keys: set[str] = set()
    agency = ""

    async def flush() -> None:
        nonlocal batch, keys
        if not batch:
            return
        plan = event_models.build_plan({event_models.SECTION: batch}, schema, policy, agency)
        out = await write_events(db, plan, principal(policy, stamps[agency]), policy, stamps[agency].source)
        for item in out["events"]:
            report.events[item["status"]] = report.events.get(item["status"], 0) + 1
        batch, keys = [], set()

    for record in events:
        key = event_key(record["event"])
        if record["agency"] != agency or key in keys or len(batch) >= CORRECTION_BATCH:
            await flush()
            agency = record["agency"]
        batch.append(record["event"])
        keys.add(key)
    await flush()


async def audit(db: Database, stamps: dict[str, Stamp], items: dict[str, int], run_id: str, source: str) -> None:
    records = [new_record(subject=SUBJECT, agency=agency, unit=stamp.unit, action="bulk_load",
                          purpose=f"bulk load of {source}", request_id=run_id, target_ids=[],
                          result_count=items.get(agency, 0))
               for agency, stamp in sorted(stamps.items())]
    await append(db, records)


async def finish(db: Database, policy: Policy, *, stamps: dict[str, Stamp], identifiers: list[str],
                 persons: dict[str, list[str]], patches: Iterable[dict[str, Any]],
                 corrections: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]], items: dict[str, int],
                 run_id: str, source: str,
                 concurrency: int, on_phase: Callable[[str], None] | None = None) -> AfterReport:
    report = AfterReport()
    now = clock.iso_now()
    loop = asyncio.get_running_loop()

    async def phase(name: str, work: Awaitable[Any]) -> Any:
        if on_phase is not None:
            on_phase(name)
        started = loop.time()
        result = await work
        report.seconds[name] = round(loop.time() - started, 3)
        return result

    await phase("migrations", migrate(db.driver, db.database, get_schema()))
    report.patched = await phase("patches", apply_patches(db, patches, concurrency))
    await phase("shared identifiers", shared_identifier_alerts(db, policy, stamps, identifiers, now, concurrency,
                                                               report))
    await phase("matching", person_matches(db, policy, persons, now, concurrency, report))
    await phase("corrections", replay_corrections(db, policy, stamps, corrections, report))
    await phase("events", replay_events(db, policy, stamps, events, report))
    await phase("audit", audit(db, stamps, items, run_id, source))
    return report
