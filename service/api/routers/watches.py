"""/v1/watches: "tell me when anything new touches this person, this phone, this search".

A watch names an entity the caller may know exists, an identifier (as written: it is normalised
as ingest normalises it, and may not be in the graph yet) or a search (its words, and optionally
an entity type). When another agency's write adds or changes a link or an event on the watched
entity or identifier, or creates an entity the search matches, the watcher's agency gets one
`watch_hit` alert per watch and item (GET /v1/alerts: `watch_id`, the watched node or the new
entity as `entity_id`, the writing agency and whom to call there) — only for items it may know
exist: another agency's confidential link raises nothing, and an entity matches a search only
when the watcher would find it by search. Watches belong to the agency (its alerts are the
agency's) and expire (policy: about six months by default); creating and deleting one is audited
with its purpose.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.api.deps import get_db, get_policy
from service.api.openapi import errors
from service.api.pagination import Page, count_and_page
from service.core import clock
from service.core.db import Database
from service.core.errors import not_found
from service.domain.lifecycle import watches
from service.queries import watches as q

router = APIRouter(prefix="/v1", tags=["watches"])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentifierTarget(_Strict):
    type: str = Field(max_length=50, description="An identifier type: Phone, BankAccount, Vehicle…")
    value: str = Field(min_length=1, max_length=256, description="As written; normalised as ingest does")


class SearchTarget(_Strict):
    q: str = Field(min_length=1, max_length=500, description="Words a new entity's names must all contain")
    type: str | None = Field(None, max_length=50, description="Only entities of this type (e.g. Person)")


class WatchTarget(_Strict):
    """Exactly one of `entity_id`, `identifier`, `search`."""

    entity_id: str | None = Field(None, min_length=1, max_length=200)
    identifier: IdentifierTarget | None = None
    search: SearchTarget | None = None

    @model_validator(mode="after")
    def _one(self) -> WatchTarget:
        given = [name for name in ("entity_id", "identifier", "search") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of entity_id, identifier, search (got {', '.join(given) or 'none'})")
        return self


class WatchIn(_Strict):
    target: WatchTarget
    purpose: str = Field(min_length=1, max_length=500, description="Why: audited, shown in the list")
    expires_at: dt.datetime | None = Field(None, description="ISO 8601 with a time zone; default and longest: "
                                                             "the policy's (`watches` section)")


class WatchOut(BaseModel):
    id: str
    kind: str = Field(description="`entity`, `identifier` or `search`")
    target_id: str | None = Field(None, description="The watched entity's or identifier's id")
    entity_type: str | None = Field(None, description="`entity`: its type; `search`: the type searched, if any")
    identifier_type: str | None = None
    value: str | None = Field(None, description="`identifier`: the value as normalised")
    q: str | None = Field(None, description="`search`: the words watched for")
    purpose: str
    unit: str
    created_by: str
    created_at: str
    expires_at: str
    expired: bool = Field(description="Past `expires_at`: raises nothing any more")


class WatchList(BaseModel):
    items: list[WatchOut]
    total: int


@router.post("/watches", response_model=WatchOut, status_code=201,
             responses=errors({404: "No entity with this id that the caller may know of",
                               422: "Not exactly one target, an invalid identifier or type, an expiry in the past "
                                    "or beyond the policy's longest"}))
async def create_watch(
    request: Request, body: WatchIn,
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> WatchOut:
    """Watch an entity, an identifier or a search for the caller's agency."""
    target: dict[str, Any] = body.target.model_dump()
    watch = WatchOut(**await watches.create(db, principal, policy, target, body.purpose, body.expires_at))
    await request.app.state.audit.record(principal, "watches.create",
                                         target_ids=[watch.id, *([watch.target_id] if watch.target_id else [])],
                                         result_count=1, purpose=body.purpose)
    return watch


@router.get("/watches", response_model=WatchList)
async def list_watches(
    request: Request,
    page: Page,
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
) -> WatchList:
    """The watches of the caller's agency, newest first, expired ones included (`expired`)."""
    params = {"agency": principal.agency, "now": clock.iso_now(), **page.params}
    total, rows = await count_and_page(db, q.COUNT, q.LIST, params, "watch")
    items = [WatchOut(**r) for r in rows]
    await request.app.state.audit.record(principal, "watches.list", target_ids=[w.id for w in items],
                                         result_count=len(items))
    return WatchList(items=items, total=total)


@router.delete("/watches/{watch_id}", status_code=204,
               responses=errors({404: "No watch with this id for the caller's agency"}))
async def delete_watch(
    request: Request, watch_id: str = Path(max_length=200),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
) -> Response:
    """Stop a watch (the alerts it raised stay)."""
    deleted = await watches.delete(db, principal, watch_id)
    await request.app.state.audit.record(principal, "watches.delete", target_ids=[watch_id],
                                         result_count=1 if deleted else 0,
                                         purpose=deleted["purpose"] if deleted else None)
    if deleted is None:
        raise not_found("watch", watch_id)
    return Response(status_code=204)
