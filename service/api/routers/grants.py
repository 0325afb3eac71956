"""Grants of full visibility on one entity, and the central agency's disseminations (measure 3).

A grant lets one agency see one entity node in full, as if it were `open` to that agency.
It covers the node only: the entity's relationships keep their own sharing, so a grant on a
person does not reveal who the person calls or meets unless those links are shared too.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from neo4j import AsyncManagedTransaction
from pydantic import BaseModel, ConfigDict, Field

from service.access import handling
from service.access.auth import Principal, require
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.api.deps import get_db, get_policy
from service.core.db import Database
from service.core.errors import ApiError
from service.queries import grants as q

router = APIRouter(prefix="/v1", tags=["grants"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid bearer token"},
    403: {"description": "The caller's agency or role may not do this; or the entity is coded H2 (no "
                         "dissemination without the owner's consent) and the caller is not its owner"},
    404: {"description": "No entity with this id is known to the caller"},
    422: {"description": "Unknown agency, nothing to grant, or a minor's record (hit / no-hit only)"},
}


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


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _grant_out(g: dict[str, Any]) -> GrantOut:
    return GrantOut.model_validate({k: g.get(k) for k in GrantOut.model_fields})


def _check_agency(policy: Policy, agency: str) -> None:
    if agency not in policy.agencies:
        raise ApiError(422, "unknown_agency", f"agency {agency!r} is not in the access policy",
                       {"known_agencies": sorted(policy.agencies)})


def _check_manager(principal: Principal, owner: str, entity_id: str) -> None:
    """Only the owner agency and the central agency manage an entity's grants."""
    if principal.agency != owner and not principal.is_central:
        raise ApiError(403, "forbidden",
                       f"only the owner agency ({owner}) or the central agency manage the grants of "
                       f"entity {entity_id!r}")


def _not_found(entity_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no entity with id {entity_id!r}")


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
    _check_agency(policy, body.agency)
    viewer = viewer_params(principal)

    async def work(tx: AsyncManagedTransaction) -> tuple[dict[str, Any], bool]:
        row = await (await tx.run(q.LOCK_ENTITY, id=id, viewer=viewer)).single()
        if row is None:
            raise _not_found(id)
        owner = row["owner_agency"]
        _check_manager(principal, owner, id)
        handling.refuse_h2([{"id": id, **row.data()}], principal.agency, "grant", "only their owner may share them")
        handling.refuse_minor_grant(id, row["minor"])
        if body.agency == owner or policy.is_central(body.agency):
            raise ApiError(422, "nothing_to_grant",
                           f"agency {body.agency!r} already sees entity {id!r} in full (owner or central agency)")
        existing = await (await tx.run(q.ACTIVE_GRANT, id=id, agency=body.agency)).single()
        if existing is not None:
            return dict(existing["grant"]), False
        created = await (await tx.run(
            q.CREATE_GRANT, id=id, agency=body.agency, reason=body.reason, grant_id=str(uuid.uuid4()),
            by_agency=principal.agency, by_sub=principal.sub, by_unit=principal.unit, now=_now(),
            dissemination_id=None,
        )).single()
        assert created is not None  # the entity is locked by this transaction: it is still there
        return dict(created["grant"]), True

    grant, created = await db.write(work)
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
    _check_agency(policy, agency)
    viewer = viewer_params(principal)

    async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
        row = await (await tx.run(q.LOCK_ENTITY, id=id, viewer=viewer)).single()
        if row is None:
            raise _not_found(id)
        _check_manager(principal, row["owner_agency"], id)
        result = await tx.run(q.REVOKE_GRANT, id=id, agency=agency, now=_now(), by_agency=principal.agency,
                              by_sub=principal.sub, reason=reason)
        revoked = [dict(r["grant"]) async for r in result]
        if not revoked and agency not in (row["grantees"] or []):
            raise ApiError(404, "grant_not_found", f"agency {agency!r} holds no grant on entity {id!r}")
        return revoked

    revoked = await db.write(work)
    await request.app.state.audit.record(principal, "grant.revoke", target_ids=[id], result_count=len(revoked),
                                         purpose=reason)
    return GrantList(items=[_grant_out(g) for g in revoked])


@router.get("/entities/{id}/grants", response_model=GrantList, responses=ERRORS)
async def list_grants(id: str, request: Request, principal: Principal = Depends(require("read", "write")),
                      db: Database = Depends(get_db)) -> GrantList:
    """Every grant on this entity, active and revoked, newest first (owner or central agency)."""
    viewer = viewer_params(principal)

    async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
        row = await (await tx.run(q.ENTITY_FOR_LIST, id=id, viewer=viewer)).single()
        if row is None:
            raise _not_found(id)
        _check_manager(principal, row["owner_agency"], id)
        return [dict(r["grant"]) async for r in await tx.run(q.LIST_GRANTS, id=id)]

    grants = await db.read(work)
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
    if not principal.is_central:
        raise ApiError(403, "forbidden", "only the central agency disseminates")
    for agency in body.agencies:
        _check_agency(policy, agency)
    if any(policy.is_central(a) for a in body.agencies):
        raise ApiError(422, "nothing_to_grant", "the central agency already sees everything; do not list it")
    entity_ids = list(dict.fromkeys(body.entity_ids))
    agencies = list(dict.fromkeys(body.agencies))
    viewer = viewer_params(principal)

    async def work(tx: AsyncManagedTransaction) -> tuple[dict[str, Any], int]:
        found = {r["id"]: r.data() async for r in await tx.run(q.EXISTING_ENTITIES, ids=entity_ids, viewer=viewer)}
        missing = [e for e in entity_ids if e not in found]
        if missing:
            raise ApiError(422, "unknown_entities", f"{len(missing)} entity ids are unknown", {"missing": missing})
        handling.refuse_h2(found.values(), principal.agency, "dissemination", "only their owner may share them")
        row = await (await tx.run(
            q.DISSEMINATE, id=str(uuid.uuid4()), note=body.note, now=_now(), by_agency=principal.agency,
            by_sub=principal.sub, by_unit=principal.unit, entity_ids=entity_ids, agencies=agencies,
        )).single()
        assert row is not None
        return dict(row["dissemination"]), int(row["created"])

    record, created = await db.write(work)
    await request.app.state.audit.record(principal, "dissemination.create", target_ids=entity_ids,
                                         result_count=created, purpose=body.note[:500])
    return DisseminationCreated.model_validate(
        {**{k: record.get(k) for k in DisseminationOut.model_fields}, "grants_created": created})


def _encode_cursor(at: str, ident: str) -> str:
    return base64.urlsafe_b64encode(f"{at}|{ident}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        at, sep, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
    except (binascii.Error, UnicodeError, ValueError):
        raise ApiError(400, "invalid_cursor", "the cursor is not one this service returned") from None
    if not sep or not at or not ident:
        raise ApiError(400, "invalid_cursor", "the cursor is not one this service returned")
    return at, ident


@router.get("/disseminations", response_model=DisseminationPage,
            responses={401: ERRORS[401], 403: ERRORS[403], 400: {"description": "Invalid cursor"}})
async def list_disseminations(
    request: Request,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(None, description="The `next` value of the previous page"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
) -> DisseminationPage:
    """What the central agency disseminated to the caller's agency (all of it, for the central
    agency), newest first. Entities the caller may no longer know of are left out."""
    after_at, after_id = _decode_cursor(cursor) if cursor else (None, None)
    rows = await db.read_records(q.LIST_DISSEMINATIONS, viewer=viewer_params(principal), after_at=after_at,
                                 after_id=after_id, limit=limit + 1)
    items = [DisseminationOut(**r["dissemination"]) for r in rows[:limit]]
    nxt = _encode_cursor(items[-1].at, items[-1].id) if len(rows) > limit else None
    await request.app.state.audit.record(principal, "dissemination.list",
                                         target_ids=[d.id for d in items], result_count=len(items))
    return DisseminationPage(items=items, next=nxt)
