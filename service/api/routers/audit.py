"""The audit trail, for auditors: who read or wrote what, when and why."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from service.access.auth import Principal, require
from service.access.visibility import viewer_params
from service.api.deps import get_db
from service.api.openapi import errors
from service.core.db import Database
from service.core.errors import ApiError
from service.queries import audit as q

router = APIRouter(prefix="/v1", tags=["audit"])


class AuditItem(BaseModel):
    at: str
    subject: str
    agency: str
    unit: str
    action: str
    purpose: str
    request_id: str
    target_ids: list[str]
    result_count: int | None


class AuditPage(BaseModel):
    items: list[AuditItem]
    next: str | None


def _instant(name: str, value: str | None) -> str | None:
    """An ISO 8601 date or date-time, as the UTC string form the trail stores (comparable as text)."""
    if value is None or value == "":
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "invalid_parameter",
                       f"{name} must be an ISO 8601 date or date-time, e.g. 2026-01-31T12:00:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat(timespec="microseconds")


@router.get("/audit", response_model=AuditPage, responses=errors({400: "A malformed date or cursor"}))
async def read_audit(
    request: Request,
    subject: str | None = Query(None, description="Only records of this user (`sub`)"),
    agency: str | None = Query(None, description="Only records of this agency's users"),
    action: str | None = Query(None, description="Only this action, e.g. `entity.read`"),
    since: str | None = Query(None, description="From this instant (inclusive), ISO 8601"),
    until: str | None = Query(None, description="Up to this instant (exclusive), ISO 8601"),
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = Query(None, description="The `next` value of the previous page"),
    principal: Principal = Depends(require("read_audit")),
    db: Database = Depends(get_db),
) -> AuditPage:
    """Audit records, newest first (permission `read_audit`).

    The central agency's auditors read every record; other agencies' auditors read the records
    of their own agency's users. Reading the trail is itself recorded.
    """
    before: int | None = None
    if cursor:
        # ASCII digits that fit Neo4j's integers: `"²".isdigit()` is true, and int() refuses it.
        if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 18:
            raise ApiError(400, "invalid_cursor", "the cursor is not one this service returned")
        before = int(cursor)
    await request.app.state.audit.flush()  # this process's journaled records are in Neo4j first
    rows = await db.read_records(
        q.LIST_EVENTS, viewer=viewer_params(principal), before=before, subject=subject or None,
        agency=agency or None, action=action or None, since=_instant("since", since),
        until=_instant("until", until), limit=limit + 1,
    )
    events = [r["event"] for r in rows]
    page = events[:limit]
    nxt = str(page[-1]["seq"]) if len(events) > limit else None
    await request.app.state.audit.record(principal, "audit.read", result_count=len(page))
    items = [AuditItem.model_validate({k: e.get(k) for k in AuditItem.model_fields}) for e in page]
    return AuditPage(items=items, next=nxt)
