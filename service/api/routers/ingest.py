"""POST /v1/ingest: partner systems push entities, identifiers and links in bulk.

Here: the body read and bounded, its schema for the OpenAPI page; the checks, ownership, write
order and alerts are `service.domain.ingest` (`models.build_plan`, then `write.ingest`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import orjson
from fastapi import APIRouter, Depends, Header, Request

from graph_schema import get_schema
from service.access.auth import Principal, require
from service.access.policy import Policy
from service.api.openapi import errors
from service.api.responses import JSONResponse
from service.core.errors import ApiError
from service.domain.ingest import write
from service.domain.ingest.models import IngestResponse, build_plan, request_schema

router = APIRouter(prefix="/v1", tags=["ingest"])


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The request model's JSON schema with its `$defs` inlined (it is not a registered component)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


class Planned(Protocol):
    items: int  # in the request, valid or not


P = TypeVar("P", bound=Planned)


async def read_plan(request: Request, build: Callable[[bytes], P]) -> P:
    """The batch's plan from its bytes (`build`: a `build_plan`), or the 400 / 413 that says why not."""
    settings = request.app.state.settings
    body = await request.body()
    # Parsing and checking a large batch takes tens of milliseconds of CPU: off the event loop,
    # so the other batches in flight keep talking to Neo4j meanwhile. `build_plan` parses the
    # bytes itself (one pass with the validation).
    try:
        plan = await asyncio.to_thread(build, body)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            raise ApiError(400, "too_deeply_nested", "the request body is nested too deeply") from None
        raise ApiError(400, "invalid_json", f"the request body is not valid JSON: {exc}") from None
    # Before any item's error: a batch over the limit is refused as such (its errors are raised
    # by the write, after the ownership probe).
    if plan.items > settings.max_batch_items:
        raise ApiError(413, "too_many_items",
                       f"the batch has {plan.items} items; the limit is {settings.max_batch_items} per batch",
                       {"limit_items": settings.max_batch_items, "items": plan.items})
    return plan


# The models that validate the body (`build_plan`) are the ones documented here.
_REQUEST_SCHEMA = _inline_refs(request_schema(get_schema()))


@router.post(
    "/ingest",
    response_model=IngestResponse,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST_SCHEMA}}}},
    responses=errors({
        400: "The body is not JSON",
        403: "The batch names another agency's entity (each item listed), or no ingest right",
        413: "Too many items or too large a body (the limit is in the message)",
        422: "Invalid items: every error with its section, index and field; nothing written",
        503: "Neo4j unavailable: nothing was written, retry (ingest is idempotent)",
    }),
)
async def ingest(request: Request, principal: Principal = Depends(require("ingest", "write")),
                 x_source_system: str | None = Header(None, alias="X-Source-System", description=(
                     "The partner system the batch comes from, recorded as provenance (first 200 characters)"))
                 ) -> Any:
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
    """
    policy: Policy = request.app.state.policy
    plan = await read_plan(request, lambda body: build_plan(body, get_schema(), policy, principal.agency))
    source = (x_source_system or "").strip()[:200] or None
    out = await write.ingest(request.app.state.db, plan, principal, policy, source)
    await request.app.state.audit.record(principal, "ingest", target_ids=[e["id"] for e in out["entities"]],
                                         result_count=len(plan.entities) + len(plan.links))
    return JSONResponse(out)
