"""POST /v1/ingest: partner systems push entities, identifiers and links in bulk.

Here: the body read and bounded, its schema for the OpenAPI page; the checks, ownership, write
order and alerts are `service.domain.ingest` (`models.build_plan`, then `write.ingest`).
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
from service.domain.ingest import write
from service.domain.ingest.models import IngestResponse, build_plan, request_schema

router = APIRouter(prefix="/v1", tags=["ingest"])


@router.post("/ingest", response_model=IngestResponse,
             **batch_route(request_schema(get_schema()), "items", "entity"))
async def ingest(request: Request, principal: Annotated[Principal, Depends(require("ingest", "write", "contribute"))],
                 source: Annotated[str | None, Depends(source_system)]) -> Any:
    """Push a batch of entities, identifiers and links, idempotently and atomically.

    - `ref` of an owned entity is your agency's own reference; of an identifier (Phone,
      BankAccount, Vehicle, CryptoWallet, Email) its value, normalised here (phones to E.164,
      default region FR), so the same phone pushed by two agencies is one node.
    - `sharing`: `open`, `restricted` (default) or `confidential`. Ownership (agency, unit)
      comes from your token; `X-Source-System` is recorded as the source.
    - Evaluation and handling codes, on each owned entity and link (not on identifiers):
      `reliability` A/B/C/X (default X), `accuracy` 1–4 (default 4; string or integer),
      `handling` H0 (default), H1, H2 (no grant, dissemination or export by other agencies)
      or H3 with its `handling_note`. A changed code makes the item `updated`.
    - A Person whose `birth_date` makes them under 18 today is flagged a minor: other
      agencies, the central agency included, only ever get hit / no-hit on it (`/v1/lookup`).
    - A link's ends are `{type, ref}`: your own entity (in this batch or already stored) or an
      identifier. An optional link `ref` tells apart several links between the same ends.
    - Each item comes back with its stable `id` and a status `created`, `updated` (properties
      replaced, version + 1) or `unchanged`. Pushing the same batch again changes nothing.
    - An item repeated identically in a batch is one item, answered at each index with the same
      id and status. The same entity (type and ref) or link (type, ends and ref) with other
      content is a 422 naming both indexes.
    - The whole batch commits in one transaction, or nothing does: a 422 lists every invalid
      item. Linking your entity to an identifier that another agency's data also uses raises a
      `shared_identifier` alert for both agencies (once per pair).
    - A write-only source (role `contributor`: municipal police, social landlord, transport
      operator) pushes here and reads nothing else: its items are stored `restricted`, owned by
      the CROSS of its département, graded X/4, its refs prefixed `<agency>:`, provenance naming it.
      The CROSS re-grades one by pushing it again (same type and prefixed ref) with its codes.
    """
    policy: Policy = request.app.state.policy
    # A contributor (write-only source) writes as the CROSS of its département: service.access.contributors.
    author, provenance = writer(principal, policy, source)
    plan = await read_plan(request, lambda body: build_plan(contributed(body, principal, get_schema()), get_schema(),
                                                            policy, author.agency))
    out = await write.ingest(request.app.state.db, plan, author, policy, provenance)
    await request.app.state.audit.record(principal, "ingest", target_ids=[e["id"] for e in out["entities"]],
                                         result_count=len(plan.entities) + len(plan.links))
    return JSONResponse(out)
