"""The audit trail of one process: `AuditLog`, what the routers call to record who read or wrote what.

Durability comes first from the journal (`service.audit.journal`): `await record(...)` returns
once the record is durable in this process's journal file — a response carrying data is never sent
before — which costs about a millisecond instead of a Neo4j write transaction; records arriving
during a sync go together in the next one, so one sync covers many requests.

A background mover then appends journaled records to the Neo4j hash chain (`service.audit.chain`),
in order, in batches (`move_delay` lets it gather more per transaction); a journal whose records
are all in Neo4j is emptied once past 1 MiB and deleted at shutdown. A record carries its `id`
(unique in Neo4j), and the chain skips ids it holds already, so moving the same record twice (a
crash between the Neo4j commit and the journal truncation, a commit whose answer was lost) adds it
once. At startup and every 15 s afterwards, journals whose owner is gone are replayed into the chain
first (`service.audit.verify`). While Neo4j is down, records wait in the journal and the mover
retries; nothing is lost.

`flush()` waits until every record this process has journaled is in Neo4j (reading the trail
does it first, so an auditor sees every completed request of that process).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from service.access.auth import Principal
from service.audit import journal
from service.audit.chain import MOVE_BATCH, append, new_record
from service.audit.verify import replay_orphans
from service.core.context import current_request_id, requests_in_flight
from service.core.db import Database
from service.core.metrics import AUDIT_UNMOVED

log = structlog.get_logger(__name__)

RESCAN_SECONDS = 15.0  # how often a running process looks for journals of dead processes


@dataclass
class _Pending:
    record: dict[str, Any]
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    segment: journal.Segment | None = None


class AuditLog:
    """Journal writer (group-synced) and Neo4j mover of one process.

    Both run as their own tasks, so a caller that goes away (client disconnect, cancelled
    request) neither cancels a sync or a move other callers wait on nor loses its record.
    `move_delay` (seconds) lets the mover gather records into fewer Neo4j transactions.
    """

    def __init__(self, db: Database, journal_dir: Path, *, move_delay: float = 0.0) -> None:
        self.db = db
        self.journal_dir = journal_dir
        self.move_delay = move_delay
        self._to_journal: list[_Pending] = []
        self._to_move: list[_Pending] = []
        self._segment: journal.Segment | None = None
        self._segments: list[journal.Segment] = []
        self._journal_lock = asyncio.Lock()
        self._writer: asyncio.Task[None] | None = None
        self._mover: asyncio.Task[None] | None = None
        self._rescan: asyncio.Task[None] | None = None
        self._recovered = False
        self._journaled = 0  # records handed to the mover since start
        self._moved = 0  # of those, in the chain
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._urgent = asyncio.Event()
        self._closing = False
        self.syncs = 0  # journal syncs so far (each covers every record queued when it started)
        # The process's one audit log reports its backlog (weakly: tests create many logs).
        backlog = weakref.WeakMethod(self._unmoved)
        AUDIT_UNMOVED.set_function(lambda: float(m()) if (m := backlog()) is not None else 0.0)

    def _unmoved(self) -> int:
        return self._journaled - self._moved

    # -- recording --------------------------------------------------------------------------------

    async def record(
        self,
        principal: Principal,
        action: str,
        *,
        target_ids: list[str] | None = None,
        result_count: int | None = None,
        purpose: str | None = None,
    ) -> None:
        """Append one record; returns once it is durable in the journal."""
        pending = _Pending(new_record(
            subject=principal.sub, agency=principal.agency, unit=principal.unit, action=action,
            purpose=purpose or "", request_id=current_request_id(), target_ids=target_ids or [],
            result_count=result_count))
        self._to_journal.append(pending)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_journal(), context=contextvars.Context())
        # shield: cancelling this caller must not cancel the future other code resolves.
        await asyncio.shield(pending.done)

    async def _write_journal(self) -> None:
        """Sync until the queue is empty; records queued during a sync go in the next one."""
        while self._to_journal:
            batch, self._to_journal = self._to_journal, []
            data = journal.encode([p.record for p in batch])
            try:
                async with self._journal_lock:
                    segment = self._current_segment()
                    try:
                        if requests_in_flight() <= 1 and len(batch) == 1:
                            # Nobody else to serve: syncing on the loop saves the thread hand-off.
                            journal.write_synced(segment.fd, data)
                        else:
                            # Busy: in a thread, so the loop keeps serving while the disk syncs.
                            await asyncio.to_thread(journal.write_synced, segment.fd, data)
                    except BaseException:
                        # Part of the batch may be in the file: later records go to a new one, so a
                        # torn line never swallows them.
                        segment.sealed = True
                        self._segment = None
                        raise
                    segment.size += len(data)
                    segment.written += len(batch)
                    self.syncs += 1
            except BaseException as exc:  # every waiter must hear of the failure
                error = exc if isinstance(exc, Exception) else RuntimeError("audit journal write cancelled")
                log.error("audit_journal_write_failed", error=repr(error))
                for p in batch:
                    if not p.done.done():
                        p.done.set_exception(error)
                if not isinstance(exc, Exception):
                    raise
                continue
            for p in batch:
                p.segment = segment
                if not p.done.done():
                    p.done.set_result(None)
            self._to_move.extend(batch)
            self._journaled += len(batch)
            self._start_mover()

    def _current_segment(self) -> journal.Segment:
        segment = self._segment
        if segment is not None and segment.size >= journal.SEGMENT_BYTES:
            segment.sealed = True
            segment = None
        if segment is None:
            segment = self._segment = journal.Segment(self.journal_dir)
            self._segments.append(segment)
        return segment

    # -- moving into Neo4j ------------------------------------------------------------------------

    def start(self) -> None:
        """Replay journals left by dead processes now, and look for new ones now and then."""
        self._start_mover()
        if self._rescan is None:
            self._rescan = asyncio.create_task(self._rescan_loop())

    async def _rescan_loop(self) -> None:
        while True:
            await asyncio.sleep(RESCAN_SECONDS)
            own = {s.path for s in self._segments if not s.closed}
            if any(p not in own for p in journal.journals(self.journal_dir)):
                self._recovered = False
                self._start_mover()

    def _start_mover(self) -> None:
        if self._mover is None or self._mover.done():
            # A fresh context: started from inside a request, the mover would otherwise carry that
            # request's id and bookmarks into every later transaction.
            self._mover = asyncio.create_task(self._move(), context=contextvars.Context())

    async def _move(self) -> None:
        backoff = 0.05
        while True:
            try:
                if not self._recovered:
                    own = {s.path for s in self._segments}
                    await replay_orphans(self.db, self.journal_dir, own)
                    self._recovered = True
                    self._wake()
                if not self._to_move:
                    return
                if self.move_delay > 0 and not self._urgent.is_set() and not self._closing:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._urgent.wait(), self.move_delay)
                batch = self._to_move[:MOVE_BATCH]
                await append(self.db, [p.record for p in batch])
            except Exception as exc:
                log.warning("audit_move_failed", error=type(exc).__name__, retry_in_s=backoff,
                            queued=len(self._to_move), exc_info=exc)
                for _, fut in self._waiters:
                    if not fut.done():
                        fut.set_exception(exc)
                self._waiters = [w for w in self._waiters if not w[1].done()]
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                continue
            backoff = 0.05
            del self._to_move[:len(batch)]
            self._moved += len(batch)
            for p in batch:
                if p.segment is not None:
                    p.segment.moved += 1
            async with self._journal_lock:
                for segment in self._segments:
                    segment.reclaim()
                self._segments = [s for s in self._segments if not s.closed]
            self._wake()

    def _wake(self) -> None:
        keep = []
        for target, fut in self._waiters:
            if fut.done():
                continue
            if self._recovered and self._moved >= target:
                fut.set_result(None)
            else:
                keep.append((target, fut))
        self._waiters = keep
        if not keep and not self._closing:
            self._urgent.clear()

    async def flush(self) -> None:
        """Wait until every record journaled so far (and any orphaned journal) is in Neo4j.

        Raises what the mover met (e.g. `Unavailable`) if a move fails meanwhile; the records
        stay in the journal and the mover keeps trying."""
        if self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)
        target = self._journaled
        if self._recovered and self._moved >= target:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, fut))
        self._urgent.set()
        self._start_mover()
        await asyncio.shield(fut)

    async def close(self, timeout: float = 10.0) -> None:
        """At shutdown: move what is journaled into Neo4j if it can within `timeout`; whatever
        it cannot stays in the journal, replayed by the next process to start."""
        self._closing = True
        self._urgent.set()
        if self._rescan is not None:
            self._rescan.cancel()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                await asyncio.wait_for(self.flush(), max(0.1, deadline - loop.time()))
                break
            except Exception as exc:
                if loop.time() >= deadline:
                    log.warning("audit_left_in_journal", error=type(exc).__name__, records=len(self._to_move))
                    break
                await asyncio.sleep(0.2)
        for task in (self._mover, self._rescan):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        async with self._journal_lock:
            for segment in self._segments:
                segment.close(delete=segment.moved >= segment.written)
            self._segments, self._segment = [], None
