"""The hash chain: append-only `(:AuditEvent)` records in Neo4j, each hashed over its predecessor.

Each record's `hash` is SHA-256 over the previous record's hash and the record's canonical JSON,
so editing or deleting any record breaks the chain (`service.audit.verify`). Writers take the
`(:AuditHead)` node's write lock first, so concurrent processes extend one chain. `append_in_tx`
is the one way a record enters it: the journal's mover calls it through `append` (a transaction
of its own), retention in the transaction of the deletion it records.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from typing import Any

from neo4j import AsyncManagedTransaction

from service.core import clock
from service.core.db import Database
from service.queries import audit_chain as q

FIELDS = ("seq", "id", "at", "subject", "agency", "unit", "action", "purpose", "request_id",
          "target_ids", "result_count", "prev_hash")
MAX_TARGETS = 1000  # ids kept per record
MOVE_BATCH = 1000  # records per Neo4j transaction when moving a journal


def new_record(*, subject: str, agency: str, unit: str, action: str, purpose: str, request_id: str,
               target_ids: Iterable[str], result_count: int | None) -> dict[str, Any]:
    """A record as journaled and chained, before its seq and hashes: stamped now, by the service clock."""
    return {"id": str(uuid.uuid4()), "at": clock.iso_now(), "subject": subject, "agency": agency, "unit": unit,
            "action": action, "purpose": purpose, "request_id": request_id,
            "target_ids": [str(t) for t in target_ids][:MAX_TARGETS], "result_count": result_count}


def canonical(record: dict[str, Any]) -> str:
    return json.dumps({k: record.get(k) for k in FIELDS}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def chain_hash(prev_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + "\n" + canonical(record)).encode()).hexdigest()


async def append_in_tx(tx: AsyncManagedTransaction, records: list[dict[str, Any]]) -> int:
    """Chain records (without seq / hashes) in the caller's transaction, so they commit or roll
    back with it; a record whose id is in the chain already is skipped (a journal moved twice).
    Returns how many were appended."""
    if not records:
        return 0
    head = await (await tx.run(q.LOCK_HEAD, now=clock.iso_now(), ids=[r["id"] for r in records])).single()
    if head is None:
        raise RuntimeError("the audit head is missing: run `ofast-graph migrate`")
    seq, prev, existing = int(head["seq"]), str(head["hash"]), set(head["existing"])
    chained = []
    for record in records:
        if record["id"] in existing:
            continue
        existing.add(record["id"])
        seq += 1
        rec = {**{k: record.get(k) for k in FIELDS if k not in ("seq", "prev_hash")}, "seq": seq, "prev_hash": prev}
        rec["hash"] = prev = chain_hash(prev, rec)
        chained.append(rec)
    if chained:
        await (await tx.run(q.APPEND, records=chained, seq=seq, hash=prev)).consume()
    return len(chained)


async def append(db: Database, records: list[dict[str, Any]]) -> int:
    """`append_in_tx` in a write transaction of its own; returns how many were appended."""
    if not records:
        return 0

    async def work(tx: AsyncManagedTransaction) -> int:
        # The head is read inside the transaction function: a retried transaction re-reads it.
        return await append_in_tx(tx, records)

    return await db.write(work)
