"""Public reports of deal points (measure 16): the form anyone may post to, and the CROSS's queue.

Here: the body parsed, the rate limit applied, the response shaped and the triage audited; the
checks, the département and the writes are `service.domain.reports.public`.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.api.deps import get_db, get_policy
from service.api.openapi import errors
from service.api.responses import JSONResponse
from service.core.db import Database
from service.domain.reports import public
from service.domain.reports.public import PublicReportIn, RateLimiter, ReportOut

router = APIRouter(prefix="/v1/reports", tags=["public reports"])

MAX_QUEUE = 500


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str | None = Field(None, max_length=200,
                              description="The deal point's label (default: the description's start)")
    lat: float | None = Field(None, ge=-90, le=90, description="Where to place it (default: the report's point)")
    lon: float | None = Field(None, ge=-180, le=180)


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=500, description="Why, kept with the decision")


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deal_point_id: str = Field(max_length=100,
                               description="A deal point (`Location` of kind deal_point) you see in full")


class Queue(BaseModel):
    reports: list[ReportOut]


def _limiter(request: Request, policy: Policy) -> RateLimiter:
    limiter: RateLimiter | None = getattr(request.app.state, "public_report_limiter", None)
    if limiter is None:
        limiter = request.app.state.public_report_limiter = RateLimiter(policy.public_reports.per_client_per_hour)
    return limiter


@router.post("/public", status_code=202, response_model=public.Receipt,
             responses=errors({422: "A field is missing, too long, holds markup, or the place is not in France",
                               429: "Too many reports from this address: wait `Retry-After` seconds"}))
async def report_publicly(body: PublicReportIn, request: Request, db: Database = Depends(get_db),
                          policy: Policy = Depends(get_policy)) -> JSONResponse:
    """Report a deal point, without an account (measure 16's public reporting platform).

    - The place: `lat` and `lon` (WGS 84), or `address` text with its postcode; the département
      it falls in decides which CROSS triages the report (the central agency where none is declared).
    - `description`: what was seen, plain text (markup — HTML tags or entities — is refused with
      a 422 naming the field, never stored). Lengths are bounded by the policy (`public_reports`).
    - `observed_at`: optional, ISO 8601.
    - Nothing about you is kept: there is no field for it (unknown fields are refused) and your
      address only counts against the rate limit (`public_reports.per_client_per_hour`, per API
      process; 429 with `Retry-After` beyond), in memory, never stored.
    - Answers 202 with a receipt id.
    """
    record = public.checked(body, policy)
    _limiter(request, policy).check(request.client.host if request.client else "")
    receipt = await public.submit(db, record)
    return JSONResponse(receipt.model_dump(), status_code=202)


@router.get("/queue", response_model=Queue, responses=errors({422: "Invalid `status` or `limit`"}))
async def report_queue(
    status: Literal["queued", "accepted", "rejected", "merged"] | None = Query(
        "queued", description="Only reports in this state (default: those waiting)"),
    limit: int = Query(100, ge=1, le=MAX_QUEUE, description="Most reports returned, oldest first"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
) -> Queue:
    """The public reports of the caller's agency to triage: a CROSS gets those made in its
    département (the central agency those of départements without a CROSS); any other agency an
    empty list. Oldest first."""
    return Queue(reports=await public.queue(db, principal, status, limit))


_TRIAGE_ERRORS = errors({404: "No such report in your agency's queue (another CROSS's reports are not yours)",
                         409: "The report is already triaged", 422: "Invalid body"})


@router.post("/{report_id}/accept", response_model=ReportOut, responses=_TRIAGE_ERRORS)
async def accept_report(report_id: str, body: AcceptIn, request: Request,
                        principal: Principal = Depends(require("write")), db: Database = Depends(get_db),
                        policy: Policy = Depends(get_policy)) -> ReportOut:
    """Accept a report: it becomes a `Location` deal point owned by your agency (ref
    `public-report:<id>`, restricted, graded X/4 until you re-grade it by ingest), placed on the map
    (`GET /v1/map/deal-points`). Audited."""
    out = await public.accept(db, principal, policy, report_id, body.label, body.lat, body.lon)
    await request.app.state.audit.record(principal, "reports.accept", target_ids=[report_id, out.deal_point_id or ""],
                                         result_count=1)
    return out


@router.post("/{report_id}/reject", response_model=ReportOut, responses=_TRIAGE_ERRORS)
async def reject_report(report_id: str, body: RejectIn, request: Request,
                        principal: Principal = Depends(require("write")), db: Database = Depends(get_db)) -> ReportOut:
    """Reject a report (with an optional reason); it stays in the queue's history. Audited."""
    out = await public.reject(db, principal, report_id, body.reason)
    await request.app.state.audit.record(principal, "reports.reject", target_ids=[report_id], result_count=1)
    return out


@router.post("/{report_id}/merge", response_model=ReportOut, responses=_TRIAGE_ERRORS)
async def merge_report(report_id: str, body: MergeIn, request: Request,
                       principal: Principal = Depends(require("write")), db: Database = Depends(get_db)) -> ReportOut:
    """Merge a report into a deal point you already see in full (404 for any other id). Audited."""
    out = await public.merge(db, principal, report_id, body.deal_point_id)
    await request.app.state.audit.record(principal, "reports.merge", target_ids=[report_id, body.deal_point_id],
                                         result_count=1)
    return out
