"""Checking the chain, and replaying into it the journals that processes left behind.

`verify_chain` walks every record and names the first break; `replay_orphans` moves the records
of journals no live process holds into the chain (at startup, every 15 s in a running process,
and in `ofast-graph audit verify` before the walk). Replaying twice adds nothing: records already
in the chain are skipped by id.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog

from service.audit import journal
from service.audit.chain import MOVE_BATCH, append, chain_hash
from service.core.db import Database
from service.queries import audit_chain as q

log = structlog.get_logger(__name__)


async def replay_orphans(db: Database, directory: Path, own: set[Path] | None = None) -> int:
    """Move the records of every journal no live process holds into the chain, then delete it.

    Idempotent: records already in the chain are skipped. Returns the number of records appended.
    """
    appended = 0
    for path in journal.journals(directory):
        if own and path in own:
            continue
        with journal.claim_orphan(path) as fd:
            if fd is None:
                continue
            records = await asyncio.to_thread(journal.read_records, fd)
            for i in range(0, len(records), MOVE_BATCH):
                appended += await append(db, records[i:i + MOVE_BATCH])
            if records:
                log.warning("audit_journal_replayed", file=path.name, records=len(records))
            path.unlink(missing_ok=True)
    journal.remove_unnamed(directory)
    return appended


async def verify_chain(db: Database, page: int = 5000) -> tuple[bool, int, str]:
    """Walk the whole chain. Returns (ok, records checked, message naming the first break)."""
    prev, expected_seq, checked = "", 1, 0
    while True:
        rows = await db.read_records(q.VERIFY_PAGE, after=expected_seq - 1, limit=page)
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
    head = await db.read_records(q.HEAD)
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
