"""POST /v1/events: partner systems push calls, plate reads and transfers in bulk.

Here: the body read and bounded (as /v1/ingest's), its schema for the OpenAPI page; the checks,
ownership, writes, aggregates and alerts are `service.domain.events` (`models.build_plan`, then
`write.write_events`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from graph_schema import get_schema
from service.access.auth import Principal, require
from service.access.contributors import contributed, writer
from service.access.policy import Policy
from service.api.batches import batch_route, read_plan, source_system
from service.api.responses import JSONResponse
from service.domain.events.models import EventsResponse, build_plan, request_schema
from service.domain.events.write import write_events

router = APIRouter(prefix="/v1", tags=["events"])

@router.post("/events", response_model=EventsResponse,
             **batch_route(request_schema(get_schema()), "events", "event by its id"))
async def push_events(request: Request,
                      principal: Annotated[Principal, Depends(require("ingest", "write", "contribute"))],
                      source: Annotated[str | None, Depends(source_system)]) -> Any:
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
    - A write-only source (role `contributor`) pushes events as it pushes entities: `restricted`,
      owned by the CROSS of its département, X/4, its refs prefixed `<agency>:`, provenance naming it.
    """
    policy: Policy = request.app.state.policy
    # A contributor (write-only source) writes as the CROSS of its département: service.access.contributors.
    author, provenance = writer(principal, policy, source)
    plan = await read_plan(request, lambda body: build_plan(contributed(body, principal, get_schema()), get_schema(),
                                                            policy, author.agency))
    out = await write_events(request.app.state.db, plan, author, policy, provenance)
    await request.app.state.audit.record(principal, "ingest.events",
                                         target_ids=sorted({e["id"] for e in out["events"]}),
                                         result_count=len(out["events"]))
    return JSONResponse(out)
