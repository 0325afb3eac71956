"""Liveness and readiness probes (no token needed)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from graph_schema.migrations import LATEST_VERSION
from service.api.responses import JSONResponse
from service.core.errors import UNAVAILABLE_ERRORS, error_body
from service.queries import health as q

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive. Says nothing about Neo4j."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Neo4j unreachable or schema not migrated"}})
async def readyz(request: Request) -> Any:
    """Ready to serve: Neo4j answers and the graph schema is at the latest migration."""
    db = request.app.state.db
    retry = str(request.app.state.settings.retry_after_seconds)
    try:
        records = await asyncio.wait_for(db.read_records(q.SCHEMA_VERSION), timeout=2.0)
    except (TimeoutError, *UNAVAILABLE_ERRORS) as exc:  # type: ignore[misc]
        return JSONResponse(error_body("neo4j_unavailable", f"Neo4j is unavailable: {type(exc).__name__}"),
                            status_code=503, headers={"Retry-After": retry})
    except Exception as exc:  # Unavailable (ApiError) and driver errors alike mean "not ready"
        return JSONResponse(error_body("not_ready", f"not ready: {type(exc).__name__}"),
                            status_code=503, headers={"Retry-After": retry})
    version = records[0]["version"]
    if version < LATEST_VERSION:
        return JSONResponse(
            error_body("schema_not_migrated", f"graph schema at version {version}, expected {LATEST_VERSION}"),
            status_code=503, headers={"Retry-After": retry})
    return {"status": "ready", "schema_version": version}
