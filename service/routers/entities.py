"""GET and DELETE /v1/entities/{id}: one entity, identifier or stub, as the caller may see it."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from neo4j import AsyncManagedTransaction
from pydantic import BaseModel, Field

from service.auth import Principal, require
from service.errors import ApiError, not_found
from service.queries import entities as q
from service.views import node_out
from service.visibility import viewer_params

router = APIRouter(prefix="/v1/entities", tags=["entities"])


class Provenance(BaseModel):
    owner_unit: str | None = None
    source_system: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    batch_id: str | None = None


class EntityOut(BaseModel):
    """An entity in full, an identifier (`value`, no owner), or a stub (`redacted: true`: id, type,
    owner_agency and contact only)."""

    id: str
    type: str
    redacted: bool
    ref: str | None = Field(None, description="Entities in full: the owner agency's reference")
    value: str | None = Field(None, description="Identifiers: the normalised value")
    owner_agency: str | None = None
    contact: str | None = Field(None, description="Stubs: whom to contact at the owner agency")
    sharing: Literal["open", "restricted", "confidential"] | None = None
    version: int | None = None
    properties: dict[str, Any] | None = None
    provenance: Provenance | None = None
    links: dict[str, int] | None = Field(None, description="Count of known links by relationship type")


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
    agency's `confidential` data, unless granted) is a 404, exactly like an unknown id.
    """
    rows = await request.app.state.db.read_records(q.GET_ENTITY, id=entity_id, viewer=viewer_params(principal))
    await request.app.state.audit.record(principal, "entity.read", target_ids=[entity_id], result_count=len(rows))
    if not rows:
        raise not_found("entity", entity_id)
    row = rows[0]
    out = node_out(row["node"], request.app.state.policy)
    if row["full"]:
        out["links"] = {t: c for t, c in sorted(row["links"])}
    return JSONResponse(out)


@router.delete(
    "/{entity_id}",
    response_model=Deleted,
    responses={403: {"description": "Not your agency's entity, or an identifier (shared, no owner)"},
               404: {"description": "No such entity, or one you may not know exists"}},
)
async def delete_entity(entity_id: str, request: Request,
                        principal: Principal = Depends(require("write"))) -> Deleted:
    """Delete one of your agency's entities and its links. Only the owner agency may delete its
    data — the central agency cannot delete another agency's entities either; identifiers are
    shared merge keys and cannot be deleted."""
    viewer = viewer_params(principal)

    async def work(tx: AsyncManagedTransaction) -> int:
        found = await (await tx.run(q.DELETE_PROBE, id=entity_id, viewer=viewer)).single()
        if found is None:
            raise not_found("entity", entity_id)
        if found["identifier"]:
            raise ApiError(403, "forbidden", f"{found['type']} {entity_id} is an identifier, shared by all "
                                             "agencies: it cannot be deleted")
        if found["owner"] != principal.agency:
            raise ApiError(403, "forbidden",
                           f"entity {entity_id} belongs to agency {found['owner']!r}: only its owner may delete it",
                           {"id": entity_id, "owner_agency": found["owner"]})
        record = await (await tx.run(q.DELETE_ENTITY, id=entity_id, agency=principal.agency)).single()
        return int(record["deleted"]) if record else 0

    deleted = await request.app.state.db.write(work)
    await request.app.state.audit.record(principal, "entity.delete", target_ids=[entity_id], result_count=deleted)
    return Deleted(id=entity_id, deleted=bool(deleted))
