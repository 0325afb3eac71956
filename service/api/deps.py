"""FastAPI dependencies shared by the routers.

All `async def`: FastAPI runs a plain `def` dependency in its thread pool, and that hop (thread
wake-up, GIL hand-over) cost more than anything these do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Query, Request

from graph_schema import get_schema
from service.access.policy import Policy
from service.access.visibility import evaluation_params
from service.audit.trail import AuditLog
from service.core.db import Database
from service.core.errors import ApiError
from service.core.settings import Settings
from service.domain.events.analyses import Window, window

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


def _clean(value: str | None) -> str:
    return (value or "").strip()


# Declared as headers so OpenAPI documents them; optional at FastAPI's level because a missing or
# too long purpose is the project's own 400 (`purpose_required`, `purpose_too_long`), not a 422.
_PurposeHeader = Annotated[str | None, Header(alias="X-Purpose", description=(
    f"Why the caller reads this (a case reference, say), audited with the request; at most {MAX_PURPOSE} characters"))]


async def require_purpose(x_purpose: _PurposeHeader = None) -> str:
    """The stated purpose of a search or lookup (`X-Purpose`), required and audited."""
    purpose = _clean(x_purpose)
    if not purpose:
        raise ApiError(400, "purpose_required",
                       "state why you search: send the X-Purpose header (e.g. the case reference)")
    if len(purpose) > MAX_PURPOSE:
        raise ApiError(400, "purpose_too_long", f"X-Purpose has at most {MAX_PURPOSE} characters")
    return purpose


async def optional_purpose(x_purpose: _PurposeHeader = None) -> str | None:
    return _clean(x_purpose)[:MAX_PURPOSE] or None


Purpose = Annotated[str, Depends(require_purpose)]
OptionalPurpose = Annotated[str | None, Depends(optional_purpose)]


# --- comma-separated schema types in a query parameter ------------------------------------------


def comma_list(value: str | None) -> list[str]:
    """`"Person, Phone,,Person"` -> `["Person", "Phone"]`: names stripped, empty and repeated ones dropped."""
    return list(dict.fromkeys(t.strip() for t in (value or "").split(",") if t.strip()))


def _refuse_unknown(names: list[str], known: Collection[str], what: str, code: str) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ApiError(422, code, f"unknown {what}(s) {unknown}; known: {', '.join(known)}", {"unknown": unknown})


async def _relationship_types(types: str | None = Query(
        None, description="Comma-separated relationship types to follow (default: all)",
        max_length=1000)) -> tuple[str, ...] | None:
    names = comma_list(types)
    _refuse_unknown(names, get_schema().relationships, "relationship type", "unknown_relationship_type")
    return tuple(names) or None


async def _entity_types(type_: str | None = Query(
        None, alias="type", description="Entity type(s), comma-separated (default: all)")) -> list[str]:
    schema = get_schema()
    names = comma_list(type_)
    if not names:
        return schema.entity_types
    identifiers = [n for n in names if n in schema.identifier_types]
    if identifiers:
        raise ApiError(422, "not_searchable",
                       f"{identifiers} are identifiers: use GET /v1/lookup for a hit / no-hit answer")
    _refuse_unknown(names, schema.entity_types, "entity type", "unknown_type")
    return names


async def _evaluation(
    min_reliability: str | None = Query(None, max_length=10, description=(
        "Only items whose source reliability is at least this (A best, then B, C, X): `B` keeps A and B")),
    min_accuracy: str | None = Query(None, max_length=10, description=(
        "Only items whose information accuracy is at least this (1 best … 4): `2` keeps 1 and 2")),
) -> dict[str, str] | None:
    return evaluation_params(min_reliability, min_accuracy)


# `min_reliability=B&min_accuracy=2`: the evaluation filter, checked; None when the caller sets neither.
Evaluation = Annotated[dict[str, str] | None, Depends(_evaluation)]
# `types=KNOWS,USES`: the relationship types to follow, checked against the schema; None for all.
RelationshipTypes = Annotated[tuple[str, ...] | None, Depends(_relationship_types)]
# `type=Person,Case`: entity types, checked against the schema (identifier types refused); all by default.
EntityTypes = Annotated[list[str], Depends(_entity_types)]



async def _time_window(
    since: str | None = Query(None, max_length=64, description=(
        "From this instant (included): ISO 8601 date-time (UTC without an offset) or date (from its start)")),
    until: str | None = Query(None, max_length=64, description=(
        "Up to this instant (included): ISO 8601 date-time (UTC without an offset) or date (to its end)")),
) -> Window | None:
    return window(since, until)


# `since=2026-03-01&until=2026-03-31T12:00:00+01:00`: the time window, checked (422 naming the
# parameter); None when the caller sets neither end.
TimeWindow = Annotated[Window | None, Depends(_time_window)]
