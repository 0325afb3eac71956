"""What the two batch-write routers (`POST /v1/ingest`, `POST /v1/events`) share: the body read
off the event loop and bounded, the request model documented as the body's schema, the
`X-Source-System` header and the errors a batch can answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, Protocol, TypeVar

import orjson
from fastapi import Header, Request

from service.api.openapi import errors
from service.core.errors import ApiError

MAX_SOURCE_SYSTEM = 200


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
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


def batch_route(request_schema: dict[str, Any], what: str, forbidden: str) -> dict[str, Any]:
    """The route's OpenAPI keywords: the body documented by the models that validate it (the
    route reads the bytes itself, so FastAPI cannot infer it) and the errors of a batch."""
    return {
        "openapi_extra": {"requestBody": {"required": True, "content": {
            "application/json": {"schema": inline_refs(request_schema)}}}},
        "responses": errors({
            400: "The body is not JSON",
            403: f"The batch names another agency's {forbidden} (each item listed), or no ingest right",
            413: f"Too many {what} or too large a body (the limit is in the message)",
            422: f"Invalid {what}: every error with its index and field; nothing written",
            503: "Neo4j unavailable: nothing was written, retry (the push is idempotent)",
        }),
    }


async def source_system(x_source_system: Annotated[str | None, Header(alias="X-Source-System", description=(
        f"The partner system the batch comes from, recorded as provenance (first {MAX_SOURCE_SYSTEM} "
        "characters)"))] = None) -> str | None:
    return (x_source_system or "").strip()[:MAX_SOURCE_SYSTEM] or None


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
