"""Review dates and retention of owned data.

- **Review date.** Every owned entity has `review_due`: `lifecycle.review_months` (policy, 36)
  after it was created or last changed by an ingest — `minor_review_months` (12) for a Person
  flagged `minor` — and moved to the same distance from today when its owner confirms it
  (POST /v1/review-queue/{id}/confirm). An unchanged re-push does not move it: nothing was
  updated. The owner sees it in GET /v1/entities/{id} and in GET /v1/review-queue.
- **Expired.** An entity is expired when its review date has passed by more than
  `lifecycle.grace_days` (90) without a confirmation or an update: `review_due < today - grace`.
  The grace period is the owner's time to act on the queue; the review date itself deletes nothing.
- **Retention run** (`ofast-graph retention run [--dry-run]`): deletes every expired entity with
  its links, and the identifiers linked to it that nothing links to any more; nothing else. Each
  deleted entity gets an audit record (`retention.delete`, in the owner agency's name, target
  ids: the entity and the identifiers deleted with it), written in the same transaction as the
  deletion, so no deletion is unaudited and no audit record claims a deletion that did not
  happen. Expired lookup memories (late hits) are purged too (`retention.purge_lookup_memories`,
  one record per agency). Entities stored before review dates existed first get one: their last
  update plus the period, never before today (so none is deleted without a grace period in the
  queue). `--dry-run` lists what would go and changes nothing.

Dates come from `service.core.clock` (tests move it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from neo4j import AsyncManagedTransaction

from service.access.policy import Lifecycle, Policy
from service.audit.chain import append_in_tx, new_record
from service.core import clock
from service.core.clock import add_months
from service.core.db import Database
from service.queries import late_hits as late_q
from service.queries import review as q

SYSTEM_SUBJECT = "system:retention"
CHUNK = 200  # expired entities deleted (and audited) per transaction


def review_dates(lifecycle: Lifecycle, today: dt.date | None = None) -> dict[str, Any]:
    """`{due, minor_due}`: the review dates of an entity created, changed or confirmed today."""
    today = today or clock.today()
    return {"due": add_months(today, lifecycle.review_months).isoformat(),
            "minor_due": add_months(today, lifecycle.minor_review_months).isoformat()}


def expiry_cutoff(lifecycle: Lifecycle, today: dt.date | None = None) -> str:
    """Entities whose review date is before this date are expired."""
    return ((today or clock.today()) - dt.timedelta(days=lifecycle.grace_days)).isoformat()


async def set_review_dates(tx: AsyncManagedTransaction, entity_ids: list[str], lifecycle: Lifecycle) -> None:
    """In the ingest transaction: the entities it created or changed are due for review anew."""
    if entity_ids:
        await (await tx.run(q.SET_REVIEW_DUE, ids=entity_ids, **review_dates(lifecycle))).consume()


def _audit_record(agency: str, action: str, target_ids: list[str], result_count: int, purpose: str,
                  run_id: str) -> dict[str, Any]:
    return new_record(subject=SYSTEM_SUBJECT, agency=agency, unit="", action=action, purpose=purpose,
                      request_id=run_id, target_ids=target_ids, result_count=result_count)


async def delete_with_orphans(tx: AsyncManagedTransaction, query: str, **params: Any) -> list[dict[str, Any]]:
    """Run DELETE_EXPIRED or DELETE_OWNED, then delete the identifiers left without links.
    Returns `[{entity, identifiers}]`: each deleted entity and the identifiers deleted with it."""
    rows = [r.data() async for r in await tx.run(query, **params)]
    linked = sorted({i for r in rows for i in r["idents"]})
    gone: set[str] = set()
    if linked:
        gone = {r["id"] async for r in await tx.run(q.DELETE_ORPHANS, ids=linked)}
    return [{"entity": r["entity"], "identifiers": sorted(set(r["idents"]) & gone)} for r in rows]


@dataclass
class RetentionReport:
    dry_run: bool
    today: str
    cutoff: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    lookup_memories: int = 0
    review_dates_set: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "today": self.today, "expired_before": self.cutoff,
                "entities": self.entities, "identifiers": self.identifiers,
                "counts": {"entities": len(self.entities), "identifiers": len(self.identifiers),
                           "lookup_memories": self.lookup_memories, "review_dates_set": self.review_dates_set}}


async def run_retention(db: Database, policy: Policy, *, dry_run: bool = False) -> RetentionReport:
    """Apply the retention policy (see the module docstring); with `dry_run`, only report."""
    lifecycle = policy.lifecycle
    today = clock.today()
    cutoff = expiry_cutoff(lifecycle, today)
    now = clock.iso_now()
    report = RetentionReport(dry_run, today.isoformat(), cutoff)
    if dry_run:
        report.review_dates_set = (await db.read_records(q.MISSING))[0]["n"]
    else:
        while True:
            rows = await db.write_records(q.BACKFILL, limit=10_000, now=now, today=today.isoformat(),
                                          months=lifecycle.review_months, minor_months=lifecycle.minor_review_months)
            report.review_dates_set += rows[0]["n"]
            if rows[0]["n"] < 10_000:
                break
    expired = [r["id"] for r in await db.read_records(q.EXPIRED, cutoff=cutoff)]
    purpose = f"retention: review date before {cutoff} ({lifecycle.grace_days} days of grace)"
    run_id = f"retention-{uuid.uuid4()}"
    for start in range(0, len(expired), CHUNK):
        chunk = expired[start:start + CHUNK]
        if dry_run:
            rows = await db.read_records(q.PREVIEW, ids=chunk, cutoff=cutoff)
            deleted = [{"entity": r["entity"], "identifiers": sorted(r["identifiers"])} for r in rows]
        else:
            async def work(tx: AsyncManagedTransaction, chunk: list[str] = chunk) -> list[dict[str, Any]]:
                done = await delete_with_orphans(tx, q.DELETE_EXPIRED, ids=chunk, cutoff=cutoff)
                await append_in_tx(tx, [
                    _audit_record(d["entity"]["owner_agency"], "retention.delete",
                                  [d["entity"]["id"], *d["identifiers"]], 1 + len(d["identifiers"]), purpose, run_id)
                    for d in done])
                return done

            deleted = await db.write(work)
        for d in deleted:
            report.entities.append({**d["entity"], "identifiers": d["identifiers"]})
            report.identifiers.extend(i for i in d["identifiers"] if i not in report.identifiers)

    if dry_run:
        rows = await db.read_records(late_q.COUNT_EXPIRED, now=now)
        report.lookup_memories = sum(len(r["ids"]) for r in rows)
        return report
    while True:
        async def purge(tx: AsyncManagedTransaction) -> int:
            rows = [r.data() async for r in await tx.run(late_q.PURGE_EXPIRED, now=now, limit=5000)]
            await append_in_tx(tx, [
                _audit_record(r["agency"], "retention.purge_lookup_memories", r["ids"], len(r["ids"]),
                              "retention: lookup memories past their expiry", run_id) for r in rows])
            return sum(len(r["ids"]) for r in rows)

        purged = await db.write(purge)
        report.lookup_memories += purged
        if purged < 5000:
            return report
