"""The hook queue: ingest hook work past its budget, finished outside the batch's transaction.

When a batch's person matching or late hits would exceed their budget (policy section `lifecycle`,
`hook_max_*`), `service.domain.ingest.hooks` writes `(:HookTask)` nodes in the batch's transaction
instead of doing the work: the batch commits, and the work is durable with it. Workers drain the
queue — one background task per API process (`HookWorker`, started in the app's lifespan) and
`ofast-graph hooks run` — through one function, `drain`:

1. claim a few tasks (a write: `claimed_by`, `claimed_until` = now + `hook_claim_seconds`), so
   workers of several processes spread the queue among them;
2. work each in its own write transaction that first write-locks the task and re-reads it: a task
   another worker finished is gone, one it claimed since is its own; then the hook runs and the
   task is deleted, in that transaction — the work commits exactly once, whatever races;
3. a failing task is rolled back, its error recorded on it, and tried again after
   `hook_retry_seconds` (doubled per attempt, at most an hour): it stays in the queue, visible in
   `ofast-graph hooks status`, until it succeeds.

The work is the in-transaction hook's own function with the batch's ids and its time, and its
writes are keyed as in the transaction (`pair_key` MERGE): the alerts and match candidates are
those the batch would have raised, over the graph as it is when the task runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from neo4j import AsyncManagedTransaction

from service.access.auth import Principal
from service.access.policy import Policy
from service.core import clock, metrics
from service.core.db import Database
from service.core.errors import Unavailable
from service.domain.lifecycle import late_hits, matching
from service.queries import hook_queue as q

log = structlog.get_logger(__name__)

MAX_RETRY_SECONDS = 3600
ERROR_CHARS = 2000  # of the error kept on a failing task


async def _matching(tx: AsyncManagedTransaction, payload: dict[str, Any], policy: Policy) -> dict[str, int]:
    return {"possible_match": await matching.detect(tx, payload["persons"], policy, payload["now"])}


async def _late_hits(tx: AsyncManagedTransaction, payload: dict[str, Any], policy: Policy) -> dict[str, int]:
    # `raise_late_hits` reads only the holder's agency from the principal: the batch's.
    holder = Principal(sub="system:hooks", agency=payload["agency"], unit=payload["unit"], roles=(),
                       permissions=frozenset(), is_central=policy.is_central(payload["agency"]))
    return {"late_hit": await late_hits.raise_late_hits(tx, payload["rows"], holder, policy, payload["now"])}


Handler = Callable[[AsyncManagedTransaction, dict[str, Any], Policy], Awaitable[dict[str, int]]]
HANDLERS: dict[str, Handler] = {"matching": _matching, "late_hits": _late_hits}


def tasks_for(kind: str, key: str, items: list[Any], size: int, **payload: Any) -> list[dict[str, str]]:
    """The tasks of one hook's deferred work: `items` (its ids) cut into chunks of `size`, each
    payload the chunk under `key` plus `payload` (the batch's time, its agency…)."""
    return [{"id": str(uuid.uuid4()), "kind": kind,
             "payload": json.dumps({key: items[k:k + size], **payload}, separators=(",", ":"))}
            for k in range(0, len(items), size)]


async def enqueue(tx: AsyncManagedTransaction, tasks: list[dict[str, str]], now: str) -> int:
    """In the batch's transaction: the tasks commit with it or not at all."""
    if tasks:
        await (await tx.run(q.ENQUEUE, tasks=tasks, now=now)).consume()
    return len(tasks)


def worker_id() -> str:
    """Unique per worker: host, process and a random part (one process may run several)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class DrainReport:
    """What one worker did: tasks done (their work committed), failed (recorded, to be retried),
    skipped (finished or claimed by another worker meanwhile), and the alerts the work created."""

    done: int = 0
    failed: int = 0
    skipped: int = 0
    alerts: dict[str, int] = field(default_factory=dict)

    def add(self, other: DrainReport) -> None:
        self.done, self.failed, self.skipped = (self.done + other.done, self.failed + other.failed,
                                                self.skipped + other.skipped)
        for kind, n in other.alerts.items():
            self.alerts[kind] = self.alerts.get(kind, 0) + n


def _iso(offset_seconds: float = 0) -> str:
    return (clock.now() + dt.timedelta(seconds=offset_seconds)).isoformat(timespec="microseconds")


async def _claim(db: Database, policy: Policy, worker: str, limit: int) -> list[dict[str, Any]]:
    async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
        result = await tx.run(q.CLAIM, now=_iso(), until=_iso(policy.lifecycle.hook_claim_seconds),
                              worker=worker, limit=limit)
        # A task finished by another worker while this claim waited for its lock comes back empty.
        return [r.data() async for r in result if r["id"] is not None]

    return await db.write(work)


async def _run_task(db: Database, policy: Policy, worker: str, task: dict[str, Any]) -> DrainReport:
    """One claimed task's work, in one transaction with its deletion."""
    async def work(tx: AsyncManagedTransaction) -> dict[str, int] | None:
        row = await (await tx.run(q.LOCK, eid=task["eid"], now=_iso())).single()
        if row is None or row["id"] != task["id"] or row["claimed_by"] != worker:
            return None  # finished by another worker (gone), or claimed by one since
        handler = HANDLERS.get(task["kind"])
        if handler is None:
            raise ValueError(f"unknown hook task kind {task['kind']!r}")
        alerts = await handler(tx, json.loads(row["payload"]), policy)
        await (await tx.run(q.DONE, eid=task["eid"], id=task["id"])).consume()
        return alerts

    report = DrainReport()
    try:
        alerts = await db.write(work)
    except Unavailable:
        raise  # Neo4j is away: the claim expires and the task is taken again
    except Exception as exc:  # the task's own failure: recorded on it, retried later
        await _record_failure(db, policy, worker, task, exc)
        metrics.HOOK_TASKS.labels(task["kind"], "failed").inc()
        log.warning("hook_task_failed", task=task["id"], kind=task["kind"], error=repr(exc)[:ERROR_CHARS])
        report.failed = 1
        return report
    if alerts is None:
        report.skipped = 1
        return report
    metrics.HOOK_TASKS.labels(task["kind"], "done").inc()
    for kind, created in alerts.items():
        metrics.alert_raised(kind, created)
    report.done, report.alerts = 1, alerts
    return report


async def _record_failure(db: Database, policy: Policy, worker: str, task: dict[str, Any],
                          exc: Exception) -> None:
    delay = min(policy.lifecycle.hook_retry_seconds * 2 ** max(int(task["attempts"]) - 1, 0), MAX_RETRY_SECONDS)

    async def work(tx: AsyncManagedTransaction) -> None:
        await (await tx.run(q.FAIL, eid=task["eid"], id=task["id"], worker=worker, now=_iso(),
                            retry_at=_iso(delay), error=f"{type(exc).__name__}: {exc}"[:ERROR_CHARS])).consume()

    await db.write(work)


async def drain(db: Database, policy: Policy, worker: str, max_tasks: int | None = None, claim: int = 4,
                on_task: Callable[[DrainReport], None] | None = None,
                keep_going: Callable[[], bool] = lambda: True) -> DrainReport:
    """Work claimable tasks until none is left (or `max_tasks` were tried, or `keep_going()` says
    stop): the one drain of the background worker and of `ofast-graph hooks run`."""
    total = DrainReport()
    tried = 0
    while keep_going() and (max_tasks is None or tried < max_tasks):
        limit = claim if max_tasks is None else min(claim, max_tasks - tried)
        tasks = await _claim(db, policy, worker, limit)
        if not tasks:
            break
        for task in tasks:
            one = await _run_task(db, policy, worker, task)
            tried += 1
            total.add(one)
            if on_task is not None:
                on_task(one)
    return total


async def status(db: Database) -> dict[str, Any]:
    """The backlog by kind (tasks, claimed now, failing, oldest, most attempts) and the failing
    tasks with their last error; also sets the backlog gauge."""
    now = _iso()

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        kinds = [r.data() async for r in await tx.run(q.STATUS, now=now)]
        failing = [r["task"] async for r in await tx.run(q.FAILING, limit=50)]
        return {"kinds": kinds, "failing": failing}

    out = await db.read(work)
    set_backlog(out["kinds"])
    out["tasks"] = sum(k["tasks"] for k in out["kinds"])
    return out


def set_backlog(kinds: list[dict[str, Any]]) -> None:
    seen = {k["kind"]: k for k in kinds}
    for kind in sorted(set(HANDLERS) | set(seen)):
        row = seen.get(kind, {})
        metrics.HOOK_BACKLOG.labels(kind).set(row.get("tasks", 0))
        metrics.HOOK_FAILING.labels(kind).set(row.get("failing", 0))


class HookWorker:
    """The API process's background drainer: drains, then looks again every
    `hook_worker_poll_seconds` (read from the app's policy at each turn; 0 pauses it)."""

    def __init__(self, db: Database, policy: Callable[[], Policy]) -> None:
        self.db = db
        self.policy = policy
        self.worker = worker_id()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    def _enabled(self) -> bool:
        return self.policy().lifecycle.hook_worker_poll_seconds > 0

    async def _loop(self) -> None:
        while True:
            poll = self.policy().lifecycle.hook_worker_poll_seconds
            if poll > 0:
                try:
                    await drain(self.db, self.policy(), self.worker, keep_going=self._enabled)
                    await status(self.db)
                except Unavailable:
                    log.warning("hook_worker_waiting_for_neo4j")
                except Exception:  # never let the worker die: the next turn tries again
                    log.exception("hook_worker_error")
            await asyncio.sleep(poll if poll > 0 else 1.0)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
