"""/v1/review-queue: the caller's agency's data due for review, confirmed or deleted by its owner.

Each owned entity is due for review some time after its last update (policy `lifecycle`:
36 months, 12 for a Person flagged minor). Unless its owner confirms it (the review date moves
on) or updates it, `ofast-graph retention run` deletes it once the review date has passed by the
policy's grace period (90 days). See docs/architecture.md, "Retention, late hits and matching".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from neo4j import AsyncManagedTransaction
from pydantic import BaseModel, Field

from service.access.auth import Principal, require
from service.access.ownership import refuse_if_designated, require_owned
from service.access.policy import Policy
from service.api.deps import get_db, get_policy
from service.api.openapi import errors
from service.api.pagination import Page, count_and_page
from service.core import clock
from service.core.db import Database
from service.core.errors import not_found
from service.domain.lifecycle.retention import delete_with_orphans, review_dates
from service.queries import review as q

router = APIRouter(prefix="/v1", tags=["review"])

OWNED_ERRORS = {403: "Not your agency's entity, an identifier, or no `write` permission",
                404: "No such entity, or one you may not know exists"}


class ReviewItem(BaseModel):
    id: str
    type: str
    ref: str | None = None
    owner_unit: str | None = None
    sharing: str | None = None
    review_due: str | None = Field(description="ISO date the entity is due for review")
    retained_until: str | None = Field(
        description="Last day before `ofast-graph retention run` deletes it, unless confirmed or updated meanwhile")
    review_confirmed_at: str | None = None
    updated_at: str | None = None
    minor: bool = Field(description="A Person flagged minor: shorter review period")


class ReviewQueue(BaseModel):
    items: list[ReviewItem]
    total: int
    due_before: str = Field(description="Items due on or before this date are listed")


class ReviewDeleted(BaseModel):
    id: str
    deleted: bool
    identifiers: list[str] = Field(description="Identifiers deleted with it: nothing else linked to them")


def _item(row: dict[str, Any], policy: Policy) -> ReviewItem:
    due = row.get("review_due")
    until = (dt.date.fromisoformat(due) + dt.timedelta(days=policy.lifecycle.grace_days)).isoformat() if due else None
    return ReviewItem(**row, retained_until=until)


@router.get("/review-queue", response_model=ReviewQueue)
async def review_queue(
    request: Request,
    page: Page,
    due_before: dt.date | None = Query(None, description="Only items due on or before this date (default: today)"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> ReviewQueue:
    """The caller's agency's entities due for review, soonest first, with the date after which
    retention deletes each one. Confirm (`…/confirm`) what is still needed; delete the rest."""
    due = (due_before or clock.today()).isoformat()
    params = {"agency": principal.agency, "due_before": due, **page.params}
    total, rows = await count_and_page(db, q.QUEUE_COUNT, q.QUEUE_PAGE, params, "item")
    items = [_item(r, policy) for r in rows]
    await request.app.state.audit.record(principal, "review.list", target_ids=[i.id for i in items],
                                         result_count=total)
    return ReviewQueue(items=items, total=total, due_before=due)


@router.post("/review-queue/{entity_id}/confirm", response_model=ReviewItem, responses=errors(OWNED_ERRORS))
async def confirm_review(
    request: Request,
    entity_id: str = Path(max_length=200),
    principal: Principal = Depends(require("write")),
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> ReviewItem:
    """Confirm that one of your agency's entities is still needed: its review date moves to the
    policy's period from today (shorter for minors). Idempotent on the same day; audited."""
    dates = review_dates(policy.lifecycle)

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        await require_owned(tx, entity_id, principal, "review it")
        row = await (await tx.run(q.CONFIRM, id=entity_id, agency=principal.agency, sub=principal.sub,
                                  now=clock.iso_now(), **dates)).single()
        if row is None:
            raise not_found("entity", entity_id)
        item: dict[str, Any] = row["item"]
        return item

    item = await db.write(work)
    await request.app.state.audit.record(principal, "review.confirm", target_ids=[entity_id], result_count=1)
    return _item(item, policy)


@router.delete("/review-queue/{entity_id}", response_model=ReviewDeleted,
               responses=errors({**OWNED_ERRORS, 409: "The entity is a live national priority target"}))
async def delete_reviewed(
    request: Request,
    entity_id: str = Path(max_length=200),
    principal: Principal = Depends(require("write")),
    db: Database = Depends(get_db),
) -> ReviewDeleted:
    """Delete one of your agency's entities at review: it, its links, and the identifiers nothing
    links to any more (as retention does). Audited with every id deleted. An entity the national
    priority list designates in a live status is not deleted (409 `entity_designated`)."""

    async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
        await require_owned(tx, entity_id, principal, "review it")
        await refuse_if_designated(tx, entity_id)
        return await delete_with_orphans(tx, q.DELETE_OWNED, id=entity_id, agency=principal.agency)

    done = await db.write(work)
    identifiers = done[0]["identifiers"] if done else []
    await request.app.state.audit.record(principal, "review.delete", target_ids=[entity_id, *identifiers],
                                         result_count=len(done) + len(identifiers))
    return ReviewDeleted(id=entity_id, deleted=bool(done), identifiers=identifiers)
