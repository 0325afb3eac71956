"""/v1/alerts: deconfliction alerts of the caller's agency ("hit / no-hit" made proactive).

`shared_identifier`: an ingest linked one of the agency's entities to an identifier another
agency's data also uses. `objective_overlap`: another agency declared an objective on the same
entity, or on one linked through a shared identifier. `late_hit`: a lookup that found nothing
(remembered for a while) met data another agency linked to that identifier later — both the
searcher and the holder are told, with each other's contact and the searcher's purpose.
`possible_match`: a person of the agency may be the same as another agency's person (reasons,
`match_id`; judge it at POST /v1/matches/{id}/judgement). An alert names the recipient's own
entity, the other agency and whom to call there — never the other side's data.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from service.access.auth import Principal, require
from service.api.deps import get_db
from service.api.openapi import errors
from service.api.pagination import count_and_page
from service.core import clock
from service.core.db import Database
from service.core.errors import not_found
from service.queries import alerts as q

router = APIRouter(prefix="/v1", tags=["alerts"])

def _absent(value: Any) -> bool:
    return value is None


class MatchReason(BaseModel):
    """Why two persons may be the same: which field agreed and how — never the other side's values."""

    field: str = Field(description="`name`, `birth_date` or `identifier`")
    kind: str = Field(description="`exact` or `fuzzy` (name), `equal` (birth date), `shared` (identifier)")
    score: float | None = Field(None, exclude_if=_absent,
                                description="`name`: similarity, 0..1 (transliteration-aware)")
    identifier_type: str | None = Field(None, exclude_if=_absent,
                                        description="`shared`: the type of the identifier both persons use")
    identifier_id: str | None = Field(None, exclude_if=_absent, description="`shared`: its id")


class AlertOut(BaseModel):
    id: str
    kind: str = Field(description="`shared_identifier`, `objective_overlap`, `late_hit` or `possible_match`")
    created_at: str
    entity_id: str | None = Field(description="The recipient's own entity; for `late_hit`, the identifier")
    counterpart_agency: str
    counterpart_contact: str
    acknowledged: bool
    # Kind-specific fields: absent from alerts of the other kinds (their shape is unchanged).
    purpose: str | None = Field(None, exclude_if=_absent,
                                description="`late_hit` only: the purpose the searcher stated for its lookup")
    reasons: list[MatchReason] | None = Field(None, exclude_if=_absent,
                                              description="`possible_match` only: why the persons may be the same")
    match_id: str | None = Field(None, exclude_if=_absent,
                                 description="`possible_match` only: the candidate, GET /v1/matches/{id}")


class AlertList(BaseModel):
    items: list[AlertOut]
    total: int


def _out(row: dict[str, Any]) -> AlertOut:
    return AlertOut(id=row["id"], kind=row["kind"], created_at=row["created_at"], entity_id=row.get("entity_id"),
                    counterpart_agency=row["counterpart_agency"],
                    counterpart_contact=row.get("counterpart_contact") or "",
                    acknowledged=bool(row.get("acknowledged")), purpose=row.get("purpose"),
                    reasons=json.loads(row["reasons"]) if row.get("reasons") else None, match_id=row.get("match_id"))


@router.get("/alerts", response_model=AlertList)
async def list_alerts(
    request: Request,
    acknowledged: bool | None = Query(None, description="Only acknowledged (true) or pending (false) alerts"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
) -> AlertList:
    """The alerts of the caller's agency, newest first."""
    params = {"agency": principal.agency, "acknowledged": acknowledged, "limit": limit, "offset": offset}
    total, rows = await count_and_page(db, q.COUNT, q.LIST, params, "alert")
    items = [_out(r) for r in rows]
    await request.app.state.audit.record(principal, "alerts.list", target_ids=[a.id for a in items],
                                         result_count=len(items))
    return AlertList(items=items, total=total)


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
    return _out(rows[0]["alert"])
