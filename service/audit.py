"""The audit trail: append-only, hash-chained `(:AuditEvent)` records in Neo4j.

Each record's `hash` is SHA-256 over the previous record's hash and the record's canonical JSON,
so editing or deleting any record breaks the chain (`ofast-graph audit verify`). Writers take
the `(:AuditHead)` node's write lock first, so concurrent API processes extend one chain.

Records are group-committed: callers `await record(...)`, which returns once the record is
durable in Neo4j; records arriving while a flush is under way go together in the next one.
A response carrying data is sent only after its audit record is written.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from neo4j import AsyncManagedTransaction

from service.auth import Principal
from service.db import Database
from service.middleware import current_request_id

FIELDS = ("seq", "id", "at", "subject", "agency", "unit", "action", "purpose", "request_id",
          "target_ids", "result_count", "prev_hash")


def canonical(record: dict[str, Any]) -> str:
    return json.dumps({k: record.get(k) for k in FIELDS}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def chain_hash(prev_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + "\n" + canonical(record)).encode()).hexdigest()


LOCK_HEAD = "MATCH (h:AuditHead {id: 'head'}) SET h.locked_at = $now RETURN h.seq AS seq, h.hash AS hash"
APPEND = """
UNWIND $records AS r
CREATE (a:AuditEvent) SET a = r
WITH count(a) AS written
MATCH (h:AuditHead {id: 'head'}) SET h.seq = $seq, h.hash = $hash
RETURN written
"""


@dataclass
class _Pending:
    record: dict[str, Any]
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class AuditLog:
    """Group-committed writer of the chain: one flusher task per process writes whatever is queued.

    The flusher runs as its own task, so a caller that goes away (client disconnect, cancelled
    request) neither cancels a flush other callers wait on nor loses its queued record.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(
        self,
        principal: Principal,
        action: str,
        *,
        target_ids: list[str] | None = None,
        result_count: int | None = None,
        purpose: str | None = None,
    ) -> None:
        """Append one record; returns once it is durable. Raises Unavailable if Neo4j is down."""
        pending = _Pending({
            "id": str(uuid.uuid4()),
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            "subject": principal.sub, "agency": principal.agency, "unit": principal.unit,
            "action": action, "purpose": purpose or "", "request_id": current_request_id(),
            "target_ids": [str(t) for t in (target_ids or [])][:1000], "result_count": result_count,
        })
        self._queue.append(pending)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._drain())
        # shield: cancelling this caller must not cancel the future other code resolves.
        await asyncio.shield(pending.done)

    async def _drain(self) -> None:
        """Flush until the queue is empty; records queued during a flush go in the next one."""
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                await self._write(batch)
            except BaseException as exc:  # every waiter must hear of the failure
                error = exc if isinstance(exc, Exception) else RuntimeError("audit flush cancelled")
                for p in batch:
                    if not p.done.done():
                        p.done.set_exception(error)
                if not isinstance(exc, Exception):
                    raise
                continue
            for p in batch:
                if not p.done.done():
                    p.done.set_result(None)

    async def _write(self, batch: list[_Pending]) -> None:
        async def work(tx: AsyncManagedTransaction) -> None:
            # Built inside the transaction function: a retried transaction re-reads the head.
            head = await (await tx.run(LOCK_HEAD, now=dt.datetime.now(dt.UTC).isoformat())).single()
            if head is None:
                raise RuntimeError("the audit head is missing: run `ofast-graph migrate`")
            seq, prev = int(head["seq"]), str(head["hash"])
            records = []
            for p in batch:
                seq += 1
                rec = {**p.record, "seq": seq, "prev_hash": prev}
                rec["hash"] = prev = chain_hash(prev, rec)
                records.append(rec)
            await (await tx.run(APPEND, records=records, seq=seq, hash=prev)).consume()

        await self.db.write(work)

    async def close(self) -> None:
        """Wait for queued records to be written (at shutdown)."""
        if self._flusher is not None and not self._flusher.done():
            await asyncio.gather(self._flusher, return_exceptions=True)


VERIFY_PAGE = """
MATCH (a:AuditEvent) WHERE a.seq > $after
RETURN a {.*} AS a ORDER BY a.seq LIMIT $limit
"""
HEAD = "MATCH (h:AuditHead {id: 'head'}) RETURN h.seq AS seq, h.hash AS hash"


async def verify_chain(db: Database, page: int = 5000) -> tuple[bool, int, str]:
    """Walk the whole chain. Returns (ok, records checked, message naming the first break)."""
    prev, expected_seq, checked = "", 1, 0
    while True:
        rows = await db.read_records(VERIFY_PAGE, after=expected_seq - 1, limit=page)
        if not rows:
            break
        for row in rows:
            rec = row["a"]
            if rec["seq"] != expected_seq:
                return False, checked, f"record {expected_seq} is missing (next found: {rec['seq']})"
            if chain_hash(str(rec.get("prev_hash")), rec) != rec.get("hash"):
                return False, checked, f"record {rec['seq']} was altered (its hash does not match its content)"
            if rec.get("prev_hash") != prev:
                return False, checked, (f"record {rec['seq'] - 1} was altered or replaced (record {rec['seq']} "
                                        f"chains to another hash)")
            prev = rec["hash"]
            expected_seq += 1
            checked += 1
    head = await db.read_records(HEAD)
    if not head:
        return False, checked, "the audit head is missing: it was deleted"
    head_seq, head_hash = head[0]["seq"], head[0]["hash"]
    if head_seq > checked:
        return False, checked, (f"record {checked + 1} is missing: the chain ends at {checked} but the head "
                                f"says {head_seq} (records were deleted)")
    if head_seq < checked:
        return False, checked, f"records after {head_seq} were appended outside the audit writer"
    if head_hash != prev:
        return False, checked, f"record {checked} was altered or replaced (the head's hash does not match)"
    return True, checked, f"{checked} records, chain intact"
