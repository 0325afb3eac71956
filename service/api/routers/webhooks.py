"""/v1/webhooks: an agency's admins register receivers that alerts are pushed to.

Each alert of a subscribed kind is POSTed to the url as the JSON GET /v1/alerts returns for the
agency, signed `X-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>`, with the alert
id in `Idempotency-Key`; retried with exponential backoff until the receiver answers 2xx (at least
once). The secret is kept on the Webhook node in Neo4j, as it must be to sign, and never returned.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from service.access.auth import Principal, require
from service.api.deps import get_db
from service.api.openapi import errors
from service.core import clock
from service.core.db import Database
from service.core.errors import ApiError, not_found
from service.domain.notifications.webhooks import url_refusal
from service.queries import webhooks as q

router = APIRouter(prefix="/v1", tags=["webhooks"])

KINDS = ("shared_identifier", "objective_overlap", "late_hit", "possible_match", "watch_hit")


class WebhookIn(BaseModel):
    url: str = Field(max_length=2000, description="https receiver (http to 127.0.0.1/localhost in development)")
    secret: str = Field(min_length=16, max_length=200, description="HMAC key of the signatures; never returned")
    kinds: list[str] = Field(min_length=1, max_length=len(KINDS), description=f"alert kinds sent: {', '.join(KINDS)}")


class WebhookOut(BaseModel):
    id: str
    agency: str
    url: str
    kinds: list[str]
    created_at: str


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    alert_id: str
    state: str = Field(description="`pending`, `delivered` or `failing` (retried at `next_attempt_at`)")
    attempts: int
    last_status: int | None = Field(None, description="HTTP status of the last attempt; none on a transport error")
    last_error: str | None = None
    next_attempt_at: str | None = None
    delivered_at: str | None = None
    created_at: str


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


def _bad(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_request", message, {"field": field})


@router.post("/webhooks", response_model=WebhookOut, status_code=201,
             responses=errors({422: "A url that is not https (in production), or an unknown alert kind"}))
async def create_webhook(
    request: Request, body: WebhookIn,
    principal: Principal = Depends(require("admin")),
    db: Database = Depends(get_db),
) -> WebhookOut:
    """Register a receiver for the alerts of the caller's agency (its admins only). It receives
    the alerts raised from now on, of the listed kinds."""
    refusal = url_refusal(body.url, request.app.state.settings.webhook_allow_http_localhost)
    if refusal:
        raise _bad("url", refusal)
    unknown = sorted(set(body.kinds) - set(KINDS))
    if unknown:
        raise _bad("kinds", f"unknown alert kinds: {', '.join(unknown)}")
    rows = await db.write_records(q.CREATE, agency=principal.agency, url=body.url, secret=body.secret,
                                  kinds=sorted(set(body.kinds)), now=clock.iso_now(), sub=principal.sub)
    hook = WebhookOut(**rows[0]["hook"])
    await request.app.state.audit.record(principal, "webhooks.create", target_ids=[hook.id], result_count=1)
    return hook


@router.get("/webhooks", response_model=WebhookList)
async def list_webhooks(
    principal: Principal = Depends(require("admin")), db: Database = Depends(get_db),
) -> WebhookList:
    """The caller's agency's webhooks (without their secrets)."""
    rows = await db.read_records(q.LIST, agency=principal.agency)
    return WebhookList(items=[WebhookOut(**r["hook"]) for r in rows])


@router.delete("/webhooks/{webhook_id}", status_code=204,
               responses=errors({404: "No webhook with this id for the caller's agency"}))
async def delete_webhook(
    request: Request, webhook_id: str = Path(max_length=200),
    principal: Principal = Depends(require("admin")), db: Database = Depends(get_db),
) -> Response:
    """Remove a webhook and its pending deliveries."""
    rows = await db.write_records(q.DELETE, id=webhook_id, agency=principal.agency)
    await request.app.state.audit.record(principal, "webhooks.delete", target_ids=[webhook_id],
                                         result_count=len(rows))
    if not rows:
        raise not_found("webhook", webhook_id)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryList,
            responses=errors({404: "No webhook with this id for the caller's agency"}))
async def list_deliveries(
    webhook_id: str = Path(max_length=200), limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(require("admin")), db: Database = Depends(get_db),
) -> DeliveryList:
    """The webhook's deliveries, newest first: state, attempts, last status, next attempt."""
    rows = await db.read_records(q.DELIVERIES, id=webhook_id, agency=principal.agency, limit=limit)
    if not rows:
        raise not_found("webhook", webhook_id)
    items: list[dict[str, Any]] = rows[0]["deliveries"]
    return DeliveryList(items=[DeliveryOut(**d) for d in items])
