"""FastAPI dependencies shared by the routers.

All `async def`: FastAPI runs a plain `def` dependency in its thread pool, and that hop (thread
wake-up, GIL hand-over) cost more than anything these do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from service.access.policy import Policy
from service.audit.trail import AuditLog
from service.core.db import Database
from service.core.errors import ApiError
from service.core.settings import Settings

T = TypeVar("T")
MAX_PURPOSE = 500


def _app_state(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency returning what `create_app` put in `app.state.<name>`."""

    async def dependency(request: Request) -> T:
        value: T = getattr(request.app.state, name)
        return value

    dependency.__name__ = f"get_{name}"
    return dependency


get_db = _app_state("db", Database)
get_policy = _app_state("policy", Policy)
get_settings_dep = _app_state("settings", Settings)
get_audit = _app_state("audit", AuditLog)


# --- X-Purpose ---------------------------------------------------------------------------------


def _purpose_header(request: Request) -> str:
    return request.headers.get("x-purpose", "").strip()


async def require_purpose(request: Request) -> str:
    """The stated purpose of a search or lookup (`X-Purpose`), required and audited."""
    purpose = _purpose_header(request)
    if not purpose:
        raise ApiError(400, "purpose_required",
                       "state why you search: send the X-Purpose header (e.g. the case reference)")
    if len(purpose) > MAX_PURPOSE:
        raise ApiError(400, "purpose_too_long", f"X-Purpose has at most {MAX_PURPOSE} characters")
    return purpose


async def optional_purpose(request: Request) -> str | None:
    """The purpose a caller may state (`X-Purpose`) where none is required; audited when given."""
    return _purpose_header(request)[:MAX_PURPOSE] or None


Purpose = Annotated[str, Depends(require_purpose)]
OptionalPurpose = Annotated[str | None, Depends(optional_purpose)]
