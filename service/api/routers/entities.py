"""GET and DELETE /v1/entities/{id}: one entity, identifier or stub, as the caller may see it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from neo4j import AsyncManagedTransaction
from pydantic import BaseModel, Field

from service.access.auth import Principal, require
from service.access.ownership import refuse_if_designated, require_owned
from service.access.policy import Accuracy, Handling, Reliability, Sharing
from service.access.visibility import viewer_params
from service.api.responses import JSONResponse
from service.api.views import node_out, review_out
from service.core.errors import not_found
from service.queries import entities as q

router = APIRouter(prefix="/v1/entities", tags=["entities"])


class Provenance(BaseModel):
    owner_unit: str | None = None
    source_system: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    batch_id: str | None = None


class EntityOut(BaseModel):
    """An entity in full, an identifier (`value`, no owner), or a stub (`redacted: true`: id, type,
    owner_agency, contact and handling code only)."""

    id: str
    type: str
    redacted: bool
    ref: str | None = Field(None, description="Entities in full: the owner agency's reference")
    value: str | None = Field(None, description="Identifiers: the normalised value")
    owner_agency: str | None = None
    contact: str | None = Field(None, description="Stubs: whom to contact at the owner agency")
    sharing: Sharing | None = None
    version: int | None = None
    reliability: Reliability | None = Field(None, description="Entities in full: source reliability")
    accuracy: Accuracy | None = Field(None, description="Entities in full: information accuracy")
    handling: Handling | None = Field(None, description="Entities and stubs: handling code")
    handling_notice: str | None = Field(None, description="What the handling code asks of the reader")
    handling_note: str | None = Field(None, description="Entities in full coded H3: the restriction")
    properties: dict[str, Any] | None = None
    provenance: Provenance | None = None
    links: dict[str, int] | None = Field(None, description="Count of known links by relationship type")
    review_due: str | None = Field(None, description="Owner agency only: ISO date the entity is due for review "
                                                     "(GET /v1/review-queue)")
    review_confirmed_at: str | None = Field(None, description="Owner agency only: when its review was last confirmed")


class Deleted(BaseModel):
    id: str
    deleted: bool


@router.get(
    "/{entity_id}",
    responses={200: {"model": EntityOut}, 404: {"description": "No such entity, or one you may not know exists"}},
)
async def get_entity(entity_id: str, request: Request,
                     principal: Principal = Depends(require("read"))) -> Any:
    """One entity or identifier with its provenance and counts of its links by type.

    Another agency's `restricted` entity comes back as a stub — id, type, owner agency and
    whom to contact, `redacted: true`, no values. What you may not know exists (another
    agency's `confidential` data, unless granted, and another agency's minor — a Person under 18
    when pushed — whatever its sharing) is a 404, exactly like an unknown id. Entities in full
    carry their evaluation codes (`reliability`, `accuracy`) and handling code (`handling`,
    `handling_notice`, `handling_note` for H3); stubs carry only the handling code.
    """
    rows = await request.app.state.db.read_records(q.GET_ENTITY, id=entity_id, viewer=viewer_params(principal))
    await request.app.state.audit.record(principal, "entity.read", target_ids=[entity_id], result_count=len(rows))
    if not rows:
        raise not_found("entity", entity_id)
    row = rows[0]
    out = node_out(row["node"], request.app.state.policy)
    out.update(review_out(row["node"], principal.agency))
    if row["full"]:
        out["links"] = {t: c for t, c in sorted(row["links"])}
    return JSONResponse(out)


@router.delete(
    "/{entity_id}",
    response_model=Deleted,
    responses={403: {"description": "Not your agency's entity, or an identifier (shared, no owner)"},
               404: {"description": "No such entity, or one you may not know exists"},
               409: {"description": "The entity is a live (active or suspended) national priority target"}},
)
async def delete_entity(entity_id: str, request: Request,
                        principal: Principal = Depends(require("write"))) -> Deleted:
    """Delete one of your agency's entities and its links. Only the owner agency may delete its
    data — the central agency cannot delete another agency's entities either; identifiers are
    shared merge keys and cannot be deleted.

    An entity the national priority list designates in a live status (active or suspended) is
    not deleted (409 `entity_designated`, naming the entries): target managers archive or
    neutralise the entry first. The retention job (`ofast-graph retention run`) is not held back
    by this: expired data goes regardless."""

    async def work(tx: AsyncManagedTransaction) -> int:
        await require_owned(tx, entity_id, principal, "delete it")
        await refuse_if_designated(tx, entity_id)
        record = await (await tx.run(q.DELETE_ENTITY, id=entity_id, agency=principal.agency)).single()
        return int(record["deleted"]) if record else 0

    deleted = await request.app.state.db.write(work)
    await request.app.state.audit.record(principal, "entity.delete", target_ids=[entity_id], result_count=deleted)
    return Deleted(id=entity_id, deleted=bool(deleted))
