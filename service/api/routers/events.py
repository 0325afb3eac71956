"""POST /v1/events: partner systems push calls, plate reads and transfers in bulk.

Here: the body read and bounded (as /v1/ingest's), its schema for the OpenAPI page; the checks,
ownership, writes, aggregates and alerts are `service.domain.events` (`models.build_plan`, then
`write.write_events`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request

from graph_schema import get_schema
from service.access.auth import Principal, require
from service.access.policy import Policy
from service.api.openapi import errors
from service.api.responses import JSONResponse
from service.api.routers.ingest import _inline_refs, read_plan
from service.domain.events.models import EventsResponse, build_plan, request_schema
from service.domain.events.write import write_events

router = APIRouter(prefix="/v1", tags=["events"])

# The models that validate the body (`build_plan`) are the ones documented here.
_REQUEST_SCHEMA = _inline_refs(request_schema(get_schema()))


@router.post(
    "/events",
    response_model=EventsResponse,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST_SCHEMA}}}},
    responses=errors({
        400: "The body is not JSON",
        403: "The batch names another agency's event by its id (each item listed), or no ingest right",
        413: "Too many events or too large a body (the limit is in the message)",
        422: "Invalid events: every error with its index and field; nothing written",
        503: "Neo4j unavailable: nothing was written, retry (the push is idempotent)",
    }),
)
async def push_events(request: Request, principal: Principal = Depends(require("ingest", "write")),
                      x_source_system: str | None = Header(None, alias="X-Source-System", description=(
                          "The partner system the batch comes from, recorded as provenance (first 200 characters)"))
                      ) -> Any:
    """Push a batch of time-stamped events — calls, plate reads, transfers — idempotently and atomically.

    - **call**: a line of an operator's billing records (CDR; the *fadettes* an operator returns to
      a judicial requisition): `from` and `to` phones (`{"type": "Phone", "ref"}`), `mode`
      (`voice`, `sms`, `data`), optional `duration_s`, `handset` (the IMEI: 15 digits, separators
      ignored, Luhn check digit checked; its TAC, the first 8 digits, is kept) and `cell` (the cell
      site: `ref`, `operator`, `lat`, `lon`, `azimuth`).
    - **plate_read**: a plate-reader hit (*LAPI*): `vehicle` (the plate) and `reader` (`ref`, `lat`,
      `lon`…).
    - **transfer**: `from` and `to` (BankAccount or CryptoWallet), `amount_eur`, optional `reference`
      (the wording). Repeated transfers between the same two accounts are separate events.
    - `at`: ISO 8601 with an offset (`2026-03-14T23:41:07+01:00`, `…Z`); a transfer may give a date
      alone (00:00 UTC of that day, `date_only`). Stored in UTC, returned in UTC with `Z`.
    - Identifiers are normalised and merged as `/v1/ingest` does (phones to E.164, IBANs compact);
      cells and readers become Location entities of your agency, compared across agencies by
      their `ref` upper-cased without spaces.
    - Each event is owned like a link: `sharing` (default restricted), `reliability`, `accuracy`,
      `handling` (+ `handling_note` with H3); other agencies see another agency's restricted
      events only as counts with whom to contact, and never its confidential ones.
    - Each event comes back with its stable `id` — from your `ref` when given, else from the
      event's content (kind, parties, time, place, duration or amount) — and a status `created`,
      `updated` or `unchanged`: the same file pushed twice changes nothing. An event repeated
      identically in a batch is one event, answered at each index; the same id with other content
      is a 422 naming both indexes. Giving an `id` of another agency's event is a 403.
    - The whole batch commits in one transaction, or nothing does: a 422 lists every invalid event
      with its index and field. The link chart's `CALLED` and `TRANSFERRED` links are kept from
      the events (`derived: true`: count, first, last, total amount). An identifier named in your
      events that another agency holds data on raises `shared_identifier` alerts for both; one
      that another agency looked up without a hit raises `late_hit` alerts.
    """
    policy: Policy = request.app.state.policy
    plan = await read_plan(request, lambda body: build_plan(body, get_schema(), policy, principal.agency))
    source = (x_source_system or "").strip()[:200] or None
    out = await write_events(request.app.state.db, plan, principal, policy, source)
    await request.app.state.audit.record(principal, "ingest.events",
                                         target_ids=sorted({e["id"] for e in out["events"]}),
                                         result_count=len(out["events"]))
    return JSONResponse(out)
