"""Grants of full visibility on one entity, and the central agency's disseminations (measure 3).

A grant lets one agency see one entity node in full, as if it were `open` to that agency.
It covers the node only: the entity's relationships keep their own sharing, so a grant on a
person does not reveal who the person calls or meets unless those links are shared too. The
workflows are `service.domain.sharing.grants`; this module parses, audits and shapes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.api.deps import get_db, get_policy
from service.api.openapi import errors
from service.core.db import Database
from service.domain.sharing import grants as sharing

router = APIRouter(prefix="/v1", tags=["grants"])

FORBIDDEN = ("The caller's agency or role may not do this; or the entity is coded H2 (no dissemination "
             "without the owner's consent) and the caller is not its owner")
ERRORS = errors({403: FORBIDDEN, 404: "No entity with this id is known to the caller",
                 422: "Unknown agency, nothing to grant, or a minor's record (hit / no-hit only)"})


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agency: str = Field(min_length=1, max_length=100, description="Code of the agency to grant, e.g. `douane`")
    reason: str = Field(min_length=1, max_length=2000, description="Why this agency needs the entity")


class GrantOut(BaseModel):
    id: str
    entity_id: str
    agency: str
    reason: str
    granted_by_agency: str
    granted_by_sub: str
    at: str
    revoked_at: str | None = None
    dissemination_id: str | None = None


class GrantList(BaseModel):
    items: list[GrantOut]


class DisseminationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_ids: list[str] = Field(min_length=1, max_length=1000)
    agencies: list[str] = Field(min_length=1, max_length=100)
    note: str = Field(min_length=1, max_length=5000, description="The analysis or message sent with the data")


class DisseminationOut(BaseModel):
    id: str
    note: str
    at: str
    by_sub: str
    by_agency: str
    entity_ids: list[str]
    agencies: list[str]


class DisseminationCreated(DisseminationOut):
    grants_created: int


class DisseminationPage(BaseModel):
    items: list[DisseminationOut]
    next: str | None


def _grant_out(g: dict[str, Any]) -> GrantOut:
    return GrantOut.model_validate({k: g.get(k) for k in GrantOut.model_fields})


@router.post("/entities/{id}/grants", status_code=201, response_model=GrantOut,
             responses={**ERRORS, 200: {"model": GrantOut, "description": "The agency already held a grant"}})
async def create_grant(id: str, body: GrantIn, request: Request, response: Response,
                       principal: Principal = Depends(require("write")),
                       db: Database = Depends(get_db), policy: Policy = Depends(get_policy)) -> GrantOut:
    """Grant an agency full visibility of this entity (its node, not its relationships).

    Allowed to the owner agency (role with `write`) and to the central agency. Granting an
    agency that already holds a grant returns the existing grant with 200. An entity coded H2
    (no dissemination without the owner's consent) may be granted by its owner only: anyone
    else gets 403 `handling_h2`. A minor's record (a Person under 18 when pushed) cannot be
    granted (422 `minor_record`): other agencies only ever get hit / no-hit on it.
    """
    grant, created = await sharing.create_grant(db, principal, policy, id, body.agency, body.reason)
    await request.app.state.audit.record(principal, "grant.create" if created else "grant.exists",
                                         target_ids=[id], result_count=1, purpose=body.reason)
    if not created:
        response.status_code = 200
    return _grant_out(grant)


@router.delete("/entities/{id}/grants/{agency}", response_model=GrantList, responses=ERRORS)
async def revoke_grant(id: str, agency: str, request: Request,
                       reason: str = Query("", max_length=2000, description="Why the grant ends"),
                       principal: Principal = Depends(require("write")),
                       db: Database = Depends(get_db), policy: Policy = Depends(get_policy)) -> GrantList:
    """Revoke an agency's grant on this entity; returns the grants marked revoked.

    Allowed to the owner agency (role with `write`) and to the central agency. 404 when the
    agency holds no active grant on the entity.
    """
    revoked = await sharing.revoke_grant(db, principal, policy, id, agency, reason)
    await request.app.state.audit.record(principal, "grant.revoke", target_ids=[id], result_count=len(revoked),
                                         purpose=reason)
    return GrantList(items=[_grant_out(g) for g in revoked])


@router.get("/entities/{id}/grants", response_model=GrantList, responses=ERRORS)
async def list_grants(id: str, request: Request, principal: Principal = Depends(require("read", "write")),
                      db: Database = Depends(get_db)) -> GrantList:
    """Every grant on this entity, active and revoked, newest first (owner or central agency)."""
    grants = await sharing.list_grants(db, principal, id)
    await request.app.state.audit.record(principal, "grant.list", target_ids=[id], result_count=len(grants))
    return GrantList(items=[_grant_out(g) for g in grants])


@router.post("/disseminations", status_code=201, response_model=DisseminationCreated, responses=ERRORS)
async def disseminate(body: DisseminationIn, request: Request, principal: Principal = Depends(require("write")),
                      db: Database = Depends(get_db), policy: Policy = Depends(get_policy)) -> DisseminationCreated:
    """The central agency sends a set of entities to a set of agencies, with a note (measure 3).

    Every recipient gets a grant of full visibility on every entity it does not own; the
    dissemination is recorded, and each recipient can list it with `GET /v1/disseminations`.
    Entities coded H2 (no dissemination without the owner's consent) of other agencies are
    refused: 403 `handling_h2` naming them, nothing disseminated. Minors of other agencies do
    not exist for the central agency (422 `unknown_entities`).
    """
    record, entity_ids, created = await sharing.disseminate(db, principal, policy, body.entity_ids,
                                                           body.agencies, body.note)
    await request.app.state.audit.record(principal, "dissemination.create", target_ids=entity_ids,
                                         result_count=created, purpose=body.note[:500])
    return DisseminationCreated.model_validate(
        {**{k: record.get(k) for k in DisseminationOut.model_fields}, "grants_created": created})


@router.get("/disseminations", response_model=DisseminationPage,
            responses=errors({403: FORBIDDEN, 400: "Invalid cursor"}))
async def list_disseminations(
    request: Request,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(None, description="The `next` value of the previous page"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
) -> DisseminationPage:
    """What the central agency disseminated to the caller's agency (all of it, for the central
    agency), newest first. Entities the caller may no longer know of are left out."""
    records, nxt = await sharing.list_disseminations(db, principal, limit, cursor)
    items = [DisseminationOut(**r) for r in records]
    await request.app.state.audit.record(principal, "dissemination.list",
                                         target_ids=[d.id for d in items], result_count=len(items))
    return DisseminationPage(items=items, next=nxt)
