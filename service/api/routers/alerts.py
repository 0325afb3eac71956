"""/v1/alerts: deconfliction alerts of the caller's agency ("hit / no-hit" made proactive).

`shared_identifier`: an ingest linked one of the agency's entities to an identifier another
agency's data also uses. `objective_overlap`: another agency declared an objective on the same
entity, or on one linked through a shared identifier. `late_hit`: a lookup that found nothing
(remembered for a while) met data another agency linked to that identifier later — both the
searcher and the holder are told, with each other's contact and the searcher's purpose.
`possible_match`: a person of the agency may be the same as another agency's person (reasons,
`match_id`; judge it at POST /v1/matches/{id}/judgement). An alert names the recipient's own
entity, the other agency and whom to call there — never the other side's data.

Triage: the list filters by kind, unit, period and group, ranks first what touches an active
priority target or an open FNOS objective of the caller's unit, groups with counts
(`group_by`), and `POST /v1/alerts/ack` acknowledges everything a filter selects.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from service.access.auth import Principal, require
from service.access.visibility import viewer_params
from service.api.deps import TimeWindow, get_db, get_settings_dep
from service.api.openapi import errors
from service.api.pagination import Page, count_and_page
from service.core import clock
from service.core.db import Database
from service.core.errors import ApiError, not_found
from service.core.settings import Settings
from service.domain.events.analyses import Window, window
from service.domain.notifications.alerts import AlertKind, AlertOut, absent, alert_out
from service.queries import alerts as q

router = APIRouter(prefix="/v1", tags=["alerts"])


MAX_BULK_IDS = 1000
KEEP_ALIVE_SECONDS = 15.0  # under the idle timeouts of common proxies (nginx's default is 60 s)


class AlertGroup(BaseModel):
    """Alerts sharing the `group_by` criteria; a criterion not grouped on is null."""

    entity_id: str | None
    entity_name: str | None
    counterpart_agency: str | None
    counterpart_contact: str | None = Field(description="Whom to call at the counterpart agency, when grouped on it")
    kind: str | None
    kinds: list[str] = Field(description="The kinds of alert in the group")
    count: int
    pending: int = Field(description="How many are not acknowledged")
    latest_at: str
    priority: bool


class AlertList(BaseModel):
    items: list[AlertOut] = Field(description="The alerts, priority first then newest (empty with `group_by`)")
    total: int = Field(description="How many alerts match the filter")
    groups: list[AlertGroup] | None = Field(None, exclude_if=absent,
                                           description="With `group_by`: the page of groups")
    group_total: int | None = Field(None, exclude_if=absent, description="With `group_by`: how many groups")


class AlertFilter(BaseModel):
    """Which of the caller's agency's alerts an acknowledgement covers: every criterion given must
    hold; at least one is required, so that no call acknowledges everything by accident."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[str, Field(max_length=200)]] | None = Field(None, max_length=MAX_BULK_IDS)
    kind: list[AlertKind] | None = Field(None, max_length=5)
    entity_id: str | None = Field(None, max_length=200)
    counterpart_agency: str | None = Field(None, max_length=100)
    unit: str | None = Field(None, max_length=100, description="The unit owning the recipient's entity")
    since: str | None = Field(None, max_length=64, description="ISO 8601 date or date-time, included")
    until: str | None = Field(None, max_length=64, description="ISO 8601 date or date-time, included")


class AckResult(BaseModel):
    acknowledged: int = Field(description="How many pending alerts this call acknowledged")


def _filter_params(*, acknowledged: bool | None = None, kinds: list[str] | None = None, ids: list[str] | None = None,
                   entity_id: str | None = None, counterpart_agency: str | None = None, unit: str | None = None,
                   period: Window | None = None) -> dict[str, Any]:
    """`$f` of `service.queries.alerts`: the stored `created_at` is ISO text in UTC, so the window's
    ends are compared as text of the same shape."""
    def iso(t: dt.datetime) -> str:
        return t.astimezone(dt.UTC).isoformat(timespec="microseconds")

    return {"acknowledged": acknowledged, "kinds": kinds or None, "ids": ids, "entity_id": entity_id,
            "counterpart_agency": counterpart_agency, "unit": unit,
            "since": iso(period.since) if period else None, "until": iso(period.until) if period else None}


def _params(principal: Principal, f: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"agency": principal.agency, "unit": principal.unit, "viewer": viewer_params(principal), "f": f, **extra}


@router.get("/alerts", response_model=AlertList)
async def list_alerts(
    request: Request,
    period: TimeWindow,
    page: Page,
    acknowledged: bool | None = Query(None, description="Only acknowledged (true) or pending (false) alerts"),
    kind: list[AlertKind] | None = Query(None, description="Only these kinds (repeat the parameter for several)"),
    unit: str | None = Query(None, max_length=100, description="Only alerts on entities owned by this unit"),
    entity_id: str | None = Query(None, max_length=200, description="Only alerts on this entity of the caller's"),
    counterpart_agency: str | None = Query(None, max_length=100, description="Only alerts naming this agency"),
    group_by: str | None = Query(None, max_length=100, pattern=r"^(entity|counterpart_agency|kind)"
                                 r"(,(entity|counterpart_agency|kind))*$", description=(
        "Comma-separated `entity`, `counterpart_agency`, `kind`: answer groups with counts instead of alerts "
        "(`limit`/`offset` then page the groups)")),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
) -> AlertList:
    """The alerts of the caller's agency: those touching an active priority target or an open FNOS
    objective of the caller's unit first, then newest first; `since`/`until` bound when they were
    raised. With `group_by`, one row per group (priority groups first, then the most pending)."""
    f = _filter_params(acknowledged=acknowledged, kinds=list(kind or []), entity_id=entity_id,
                       counterpart_agency=counterpart_agency, unit=unit, period=period)
    params = _params(principal, f, **page.params)
    if group_by:
        params["by"] = sorted(set(group_by.split(",")))
        total, grouped = await count_and_page(db, q.COUNT, q.GROUPS, params)
        row: dict[str, Any] = grouped[0] if grouped else {"total": 0, "groups": []}
        groups = [AlertGroup(**g) for g in row["groups"]]
        await request.app.state.audit.record(principal, "alerts.groups", target_ids=[],
                                             result_count=len(groups))
        return AlertList(items=[], total=total, groups=groups, group_total=row["total"])
    total, rows = await count_and_page(db, q.COUNT, q.LIST, params, "alert")
    items = [alert_out(r) for r in rows]
    await request.app.state.audit.record(principal, "alerts.list", target_ids=[a.id for a in items],
                                         result_count=len(items))
    return AlertList(items=items, total=total, groups=None, group_total=None)


@router.get("/alerts/stream", response_class=StreamingResponse, responses={200: {
    "content": {"text/event-stream": {"schema": {
        "type": "object", "required": ["event", "data"],
        "properties": {"event": {"const": "pending"}, "data": {"type": "string"}}}}},
    "description": "Server-sent events: `event: pending` with data `{\"pending\": n}` at once and on each "
                   "change; a `: keep-alive` comment in between"}})
async def stream_alert_count(
    request: Request,
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> StreamingResponse:
    """The number of the caller's agency's pending alerts, live (server-sent events), for the UI's
    badge: sent when the stream opens and again whenever it changes — whichever replica raised or
    acknowledged the alerts. The stream closes after a while (`alert_stream_max_seconds`); the
    client reconnects. Send the token as for any call (`Authorization`)."""
    await request.app.state.audit.record(principal, "alerts.stream", target_ids=[], result_count=0)
    f = _filter_params(acknowledged=False)
    params = _params(principal, f)
    check = max(settings.alert_stream_check_seconds, 0.1)

    async def events() -> AsyncIterator[str]:
        last: int | None = None
        quiet = 0.0
        deadline = asyncio.get_running_loop().time() + settings.alert_stream_max_seconds
        while True:  # the count at least once, whatever the deadline
            rows = await db.read_records(q.PENDING_COUNT, **params)
            pending = int(rows[0]["total"]) if rows else 0
            if pending != last:
                last, quiet = pending, 0.0
                yield f"event: pending\ndata: {json.dumps({'pending': pending})}\n\n"
            elif quiet >= KEEP_ALIVE_SECONDS:
                quiet = 0.0
                yield ": keep-alive\n\n"
            if asyncio.get_running_loop().time() >= deadline or await request.is_disconnected():
                return
            await asyncio.sleep(check)
            quiet += check

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/alerts/ack", response_model=AckResult, responses=errors({
    422: "Invalid filter, or no criterion at all (`empty_filter`)"}))
async def acknowledge_alerts(
    body: AlertFilter,
    request: Request,
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
) -> AckResult:
    """Acknowledge in bulk every pending alert of the caller's agency that the filter selects — a
    group of the list (`entity_id` + `counterpart_agency` + `kind`), a kind, a period, a list of
    ids — in one transaction. Idempotent: a second call acknowledges nothing more."""
    if all(v in (None, []) for v in body.model_dump().values()):
        raise ApiError(422, "empty_filter", "name at least one criterion (ids, kind, entity_id, "
                       "counterpart_agency, unit, since, until)", {"field": "body"})
    f = _filter_params(kinds=list(body.kind or []), ids=body.ids, entity_id=body.entity_id,
                       counterpart_agency=body.counterpart_agency, unit=body.unit,
                       period=window(body.since, body.until))
    rows = await db.write_records(q.ACK_MATCHING, **_params(principal, f), sub=principal.sub, now=clock.iso_now())
    ids = [r["id"] for r in rows]
    await request.app.state.audit.record(principal, "alerts.ack_bulk", target_ids=ids, result_count=len(ids))
    return AckResult(acknowledged=len(ids))


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut,
             responses=errors({404: "No alert with this id for the caller's agency"}))
async def acknowledge_alert(
    request: Request,
    alert_id: str = Path(max_length=200),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
) -> AlertOut:
    """Mark one of the caller's agency's alerts as acknowledged (idempotent). Another agency's
    alert does not exist for the caller: 404."""
    rows = await db.write_records(q.ACK, id=alert_id, agency=principal.agency, sub=principal.sub,
                                  now=clock.iso_now())
    await request.app.state.audit.record(principal, "alerts.ack", target_ids=[alert_id], result_count=len(rows))
    if not rows:
        raise not_found("alert", alert_id)
    return alert_out(rows[0]["alert"])
