"""Webhook delivery: alerts pushed to partner systems from a durable outbox in Neo4j.

Each turn fills the outbox (one Delivery node per webhook and alert newer than the webhook's
cursor), claims due deliveries under a lease, POSTs each signed body and records the outcome:
2xx delivered, anything else retried with exponential backoff. At least once: a receiver
deduplicates on the `Idempotency-Key` header (the alert id).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from service.access.policy import policy_from_file
from service.core import clock
from service.core.db import Database
from service.core.settings import Settings
from service.domain.lifecycle.queue import worker_id
from service.domain.notifications.alerts import alert_out
from service.queries import webhooks as q

log = logging.getLogger(__name__)

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def url_refusal(url: str, allow_http_localhost: bool) -> str | None:
    """Why a receiver URL is refused, or None: https only, http to this machine in development."""
    parts = urlsplit(url)
    if not parts.hostname:
        return "the url needs a host"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and allow_http_localhost and parts.hostname in LOCAL_HOSTS:
        return None
    return "only https urls are accepted" + (" (http only to 127.0.0.1 or localhost)" if allow_http_localhost else "")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(alert: dict[str, Any]) -> bytes:
    """The body: the alert exactly as GET /v1/alerts shapes it for its agency."""
    return json.dumps(alert_out(alert).model_dump(mode="json"), separators=(",", ":"), sort_keys=True).encode()


def _iso(at: dt.datetime) -> str:
    return at.isoformat(timespec="microseconds")  # as clock.iso_now, which stamps the alerts


@dataclass
class Report:
    delivered: int = 0
    failed: int = 0


async def deliver_due(db: Database, settings: Settings, worker: str, limit: int = 50) -> Report:
    """One turn of the outbox: fill, claim, deliver, record."""
    now = clock.now()
    await db.write_records(q.FILL, now=_iso(now), limit=1000)
    lease = now + dt.timedelta(seconds=settings.webhook_lease_seconds)
    claimed = await db.write_records(q.CLAIM, now=_iso(now), lease_until=_iso(lease), worker=worker, limit=limit,
                                     central_agency=policy_from_file(settings.policy_file).central_agency)
    report = Report()
    if not claimed:  # the usual turn: building a client (its TLS context) costs more than the turn's queries
        return report
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds) as client:
        for row in claimed:
            body = payload(row["alert"])
            status: int | None = None
            error: str | None = None
            try:
                response = await client.post(row["url"], content=body, headers={
                    "Content-Type": "application/json", "X-Signature": sign(row["secret"], body),
                    "Idempotency-Key": row["alert"]["id"]})
                status = response.status_code
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            ok = status is not None and 200 <= status < 300
            attempts = int(row["attempts"]) + 1
            delay = min(settings.webhook_backoff_seconds * 2 ** (attempts - 1), settings.webhook_max_backoff_seconds)
            done = clock.now()
            await db.write_records(
                q.RESULT, key=row["key"], worker=worker, state="delivered" if ok else "failing", status=status,
                error=error if not ok else None, delivered_at=_iso(done) if ok else None,
                next_attempt_at=_iso(done if ok else done + dt.timedelta(seconds=delay)))
            if ok:
                report.delivered += 1
            else:
                report.failed += 1
    return report


class WebhookWorker:
    """The API process's delivery loop; safe beside other processes' loops (leases)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self.worker = worker_id()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.settings.webhook_poll_seconds > 0:
            self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            try:
                await deliver_due(self.db, self.settings, self.worker)
            except Exception:  # Neo4j unavailable or not yet migrated: the next turn retries
                log.warning("webhook delivery turn failed", exc_info=True)
            await asyncio.sleep(self.settings.webhook_poll_seconds)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
