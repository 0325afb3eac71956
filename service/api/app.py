"""The FastAPI application: wiring of settings, driver, policy, middleware and routers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from graph_schema import get_schema
from graph_schema.migrations import migrate
from service import __version__
from service.access.auth import TokenVerifier
from service.access.policy import policy_from_file
from service.api.middleware import (
    BodyLimitMiddleware,
    BookmarkMiddleware,
    JsonBodyMiddleware,
    RequestContextMiddleware,
)
from service.api.openapi import install_openapi
from service.api.routers import alerts as alerts_router
from service.api.routers import analytics as analytics_router
from service.api.routers import assets as assets_router
from service.api.routers import audit as audit_router
from service.api.routers import dashboard as dashboard_router
from service.api.routers import entities as entities_router
from service.api.routers import events as events_router
from service.api.routers import explore as explore_router
from service.api.routers import grants as grants_router
from service.api.routers import health
from service.api.routers import ingest as ingest_router
from service.api.routers import map as map_router
from service.api.routers import matches as matches_router
from service.api.routers import me as me_router
from service.api.routers import money as money_router
from service.api.routers import networks as networks_router
from service.api.routers import objectives as objectives_router
from service.api.routers import priority_targets as priority_targets_router
from service.api.routers import public_reports as public_reports_router
from service.api.routers import review as review_router
from service.api.routers import search as search_router
from service.api.routers import threat_assessment as threat_assessment_router
from service.api.routers import timeline as timeline_router
from service.api.routers import watches as watches_router
from service.api.routers import webhooks as webhooks_router
from service.api.routers.ui import install_ui
from service.audit.journal import journal_dir
from service.audit.trail import AuditLog
from service.core.db import Database, make_driver
from service.core.errors import UNAVAILABLE_ERRORS, install_error_handlers
from service.core.logs import configure_logging
from service.core.metrics import metrics_endpoint
from service.core.settings import Settings, get_settings
from service.domain.lifecycle.queue import HookWorker
from service.domain.notifications.webhooks import WebhookWorker

log = structlog.get_logger(__name__)

DESCRIPTION = """
**ofast-graph** links cases, persons, networks, seizures, assets and the identifiers that tie
them together (phones, bank accounts, plates, wallets, e-mails) for police, gendarmerie and
customs, with OFAST — the national anti-narcotics office — as the central agency.

Every `/v1` route needs `Authorization: Bearer <JWT>`; what a caller sees depends on its
agency and on each item's sharing level (`open`, `restricted`, `confidential`). Errors are
always `{"error": {"code", "message", "details"}}`; a 503 with `Retry-After` means Neo4j is
unavailable and the request can be retried.
"""


async def _migrate_until_done(db: Database, app: FastAPI) -> None:
    """Apply migrations; while Neo4j is unreachable keep trying, so the API can start first."""
    delay = 0.5
    while True:
        try:
            await migrate(db.driver, db.database, get_schema())
            app.state.migrated = True
            return
        except UNAVAILABLE_ERRORS as exc:
            log.warning("migrations_waiting_for_neo4j", error=type(exc).__name__)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    policy = policy_from_file(settings.policy_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(make_driver(settings), settings.neo4j_database, settings.retry_after_seconds)
        app.state.db = db
        app.state.audit = AuditLog(db, journal_dir(settings), move_delay=settings.audit_move_delay_ms / 1000)
        app.state.audit.start()  # replays journals left by a crashed process once Neo4j answers
        # Finishes ingest hook work queued past its budget; reads the policy at each turn.
        app.state.hook_worker = HookWorker(db, lambda: app.state.policy)
        app.state.hook_worker.start()
        # Pushes alerts to the agencies' webhooks from the Neo4j outbox (leases: safe with replicas).
        app.state.webhook_worker = WebhookWorker(db, settings)
        app.state.webhook_worker.start()
        app.state.migrated = False
        task = asyncio.create_task(_migrate_until_done(db, app))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await app.state.hook_worker.close()
            await app.state.webhook_worker.close()
            await app.state.audit.close()  # queued audit records are written before the driver goes
            await db.close()

    app = FastAPI(
        title="ofast-graph",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Metrics are ours (`/metrics`, Prometheus); FastAPI's own OpenTelemetry hooks would only
        # cost a check per request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.policy = policy
    app.state.verifier = TokenVerifier(settings, policy)
    install_error_handlers(app, settings.retry_after_seconds)
    app.add_middleware(JsonBodyMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(BookmarkMiddleware)
    app.add_middleware(RequestContextMiddleware)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.include_router(health.router)
    app.include_router(ingest_router.router)
    app.include_router(events_router.router)
    app.include_router(entities_router.router)
    app.include_router(explore_router.router)
    app.include_router(search_router.router)
    app.include_router(grants_router.router)
    app.include_router(audit_router.router)
    app.include_router(networks_router.router)
    app.include_router(analytics_router.router)
    app.include_router(objectives_router.router)
    app.include_router(alerts_router.router)
    app.include_router(review_router.router)
    app.include_router(matches_router.router)
    app.include_router(priority_targets_router.router)
    app.include_router(me_router.router)
    app.include_router(dashboard_router.router)
    app.include_router(map_router.router)
    app.include_router(timeline_router.router)
    app.include_router(assets_router.router)
    app.include_router(money_router.router)
    app.include_router(public_reports_router.router)
    app.include_router(threat_assessment_router.router)
    app.include_router(watches_router.router)
    app.include_router(webhooks_router.router)
    install_ui(app)
    install_openapi(app)
    return app
