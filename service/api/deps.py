"""FastAPI dependencies shared by the routers.

All `async def`: FastAPI runs a plain `def` dependency in its thread pool, and that hop (thread
wake-up, GIL hand-over) cost more than anything these do.
"""

from __future__ import annotations

from fastapi import Request

from service.access.policy import Policy
from service.audit.trail import AuditLog
from service.core.db import Database
from service.core.settings import Settings


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_policy(request: Request) -> Policy:
    policy: Policy = request.app.state.policy
    return policy


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_audit(request: Request) -> AuditLog:
    audit: AuditLog = request.app.state.audit
    return audit


async def require_purpose(request: Request) -> str:
    """The stated purpose of a search or lookup (`X-Purpose`), required and audited."""
    from service.core.errors import ApiError

    purpose = request.headers.get("x-purpose", "").strip()
    if not purpose:
        raise ApiError(400, "purpose_required",
                       "state why you search: send the X-Purpose header (e.g. the case reference)")
    if len(purpose) > 500:
        raise ApiError(400, "purpose_too_long", "X-Purpose has at most 500 characters")
    return purpose
