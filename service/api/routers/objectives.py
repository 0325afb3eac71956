"""/v1/objectives: the FNOS — national file of investigative objectives (measure 21).

A unit declares an entity it investigates as its objective. When another service already holds
an open objective on the same entity, or on one linked to it through a shared identifier, both
agencies receive an `objective_overlap` alert (see /v1/alerts) — written in the same
transaction as the objective, so an overlap is never lost. Each side learns only the other
agency and whom to contact there.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from neo4j import AsyncManagedTransaction
from neo4j.exceptions import ConstraintError
from pydantic import BaseModel, ConfigDict, Field

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.api.deps import get_db, get_policy
from service.api.openapi import errors
from service.api.pagination import Page, count_and_page
from service.api.views import node_out
from service.core import clock, metrics
from service.core.db import Database
from service.core.errors import ApiError, not_found
from service.queries import objectives as q

router = APIRouter(prefix="/v1", tags=["objectives"])

Status = Literal["open", "closed"]

class ObjectiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str = Field(min_length=1, max_length=200, description="Id of the entity (or identifier) targeted")
    case_ref: str = Field(min_length=1, max_length=200, description="The unit's case (procedure) reference")
    unit: str | None = Field(None, max_length=200,
                             description="Declaring unit; defaults to the unit of the caller's token")


class ObjectiveOut(BaseModel):
    id: str
    entity_id: str
    agency: str
    unit: str
    case_ref: str
    status: Status
    created_at: str
    created_by: str
    closed_at: str | None = None
    closed_by: str | None = None
    entity: dict[str, Any] | None = Field(
        None, description="The targeted entity as the caller may see it now (null if no longer known)")


class ObjectiveList(BaseModel):
    items: list[ObjectiveOut]
    total: int


def _out(stored: dict[str, Any], entity: dict[str, Any] | None, policy: Policy) -> ObjectiveOut:
    return ObjectiveOut(
        id=stored["id"], entity_id=stored["entity_id"], agency=stored["agency"], unit=stored.get("unit") or "",
        case_ref=stored["case_ref"], status="closed" if stored.get("closed_at") else "open",
        created_at=stored["created_at"], created_by=stored["created_by"], closed_at=stored.get("closed_at"),
        closed_by=stored.get("closed_by"), entity=node_out(entity, policy) if entity else None,
    )


def _pair_key(agency: str, entity: str, other_agency: str, other_entity: str) -> str:
    return f"objective_overlap|{agency}|{entity}|{other_agency}|{other_entity}"


@router.post("/objectives", status_code=201, response_model=ObjectiveOut, responses=errors({
    404: "No entity with this id is known to the caller",
    403: "Missing permission, or a unit-bound token declaring for another unit",
    409: "The unit already has an open objective on this entity",
    422: "Invalid body, or no unit in the body nor in the token",
}))
async def create_objective(
    body: ObjectiveIn,
    request: Request,
    principal: Principal = Depends(require("write")),
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> ObjectiveOut:
    """Declare an entity the caller may know of as an investigative objective of the caller's unit.

    Returns 201 with the objective. A unit holds at most one open objective per entity (409).
    If another agency holds an open objective on the same entity, or on an entity linked to it
    through a shared identifier (a phone, account, plate… used by both), each agency receives one
    `objective_overlap` alert naming the other agency and its contact — and nothing else of it.
    An agency is alerted only when it may know the other side's entity and the links between.
    """
    unit = (body.unit or principal.unit).strip()
    if not unit:
        raise ApiError(422, "unit_required", "give the declaring `unit` in the body (the token names none)")
    if principal.unit and unit != principal.unit:
        # A token bound to a unit speaks for that unit only: no declaring objectives in another's name.
        raise ApiError(403, "unit_mismatch",
                       f"the token is bound to unit {principal.unit!r}; it may not declare for unit {unit!r}")
    now, objective_id = clock.iso_now(), str(uuid.uuid4())
    open_key = f"{principal.agency}|{unit}|{body.entity_id}"
    viewer = viewer_params(principal)

    raised = 0  # overlap alerts the transaction created: counted once it has committed

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        nonlocal raised
        await (await tx.run(q.LOCK, now=now)).consume()
        if await (await tx.run(q.ENTITY, entity_id=body.entity_id, viewer=viewer)).single() is None:
            raise not_found("entity", body.entity_id)
        duplicate = await (await tx.run(q.OPEN_DUPLICATE, open_key=open_key)).single()
        if duplicate is not None:
            raise ApiError(409, "objective_exists",
                           f"unit {unit!r} already has an open objective on entity {body.entity_id!r}",
                           {"objective_id": duplicate["id"]})
        created = await (await tx.run(
            q.CREATE, id=objective_id, entity_id=body.entity_id, agency=principal.agency, unit=unit,
            case_ref=body.case_ref, now=now, sub=principal.sub, open_key=open_key)).single()
        assert created is not None  # the entity was matched above, in this transaction
        overlaps = [r.data() async for r in await tx.run(
            q.OVERLAPS, entity_id=body.entity_id, agency=principal.agency, viewer=viewer,
            central_agency=policy.central_agency)]
        alerts: list[dict[str, Any]] = []
        for o in overlaps:
            if o["alert_us"]:
                alerts.append({"pair_key": _pair_key(principal.agency, body.entity_id, o["agency"], o["entity_id"]),
                               "agency": principal.agency, "entity_id": body.entity_id,
                               "identifier_id": o["via"], "counterpart_agency": o["agency"],
                               "counterpart_contact": policy.contact(o["agency"])})
            if o["alert_them"]:
                alerts.append({"pair_key": _pair_key(o["agency"], o["entity_id"], principal.agency, body.entity_id),
                               "agency": o["agency"], "entity_id": o["entity_id"],
                               "identifier_id": o["via"], "counterpart_agency": principal.agency,
                               "counterpart_contact": policy.contact(principal.agency)})
        summary = await (await tx.run(q.RAISE_ALERTS, alerts=alerts, now=now)).consume() if alerts else None
        raised = summary.counters.nodes_created if summary else 0
        objective: dict[str, Any] = created["objective"]
        return objective

    try:
        stored = await db.write(work)
    except ConstraintError:  # a concurrent twin won the open_key race
        raise ApiError(409, "objective_exists",
                       f"unit {unit!r} already has an open objective on entity {body.entity_id!r}") from None
    metrics.alert_raised("objective_overlap", raised)
    await request.app.state.audit.record(principal, "objectives.create", target_ids=[stored["id"], body.entity_id],
                                         result_count=1, purpose=body.case_ref)
    return _out(stored, None, policy)


@router.get("/objectives", response_model=ObjectiveList)
async def list_objectives(
    request: Request,
    page: Page,
    status: Literal[Status, "all"] = Query("open"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> ObjectiveList:
    """The objectives of the caller's agency (all its units), newest first, each with the
    targeted entity as the caller may see it now."""
    params = {"agency": principal.agency, "status": status, **page.params,
              "viewer": viewer_params(principal)}
    total, rows = await count_and_page(db, q.COUNT, q.LIST, params)
    items = [_out(r["objective"], r["entity"], policy) for r in rows]
    await request.app.state.audit.record(principal, "objectives.list", target_ids=[o.id for o in items],
                                         result_count=len(items))
    return ObjectiveList(items=items, total=total)


@router.delete("/objectives/{objective_id}", response_model=ObjectiveOut, responses=errors({
    403: "Missing permission, or another agency's objective", 404: "No objective with this id"}))
async def close_objective(
    request: Request,
    objective_id: str = Path(max_length=200),
    principal: Principal = Depends(require("write")),
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> ObjectiveOut:
    """Close an objective of the caller's agency (kept in the file with its `closed_at`).

    Closing an already closed objective changes nothing and returns it. Another agency's
    objective is a 403.
    """
    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        owner = await (await tx.run(q.OWNER, id=objective_id)).single()
        if owner is None:
            raise not_found("objective", objective_id)
        if owner["agency"] != principal.agency:
            raise ApiError(403, "forbidden", f"objective {objective_id!r} belongs to another agency")
        closed = await (await tx.run(q.CLOSE, id=objective_id, agency=principal.agency, now=clock.iso_now(),
                                     sub=principal.sub)).single()
        assert closed is not None
        objective: dict[str, Any] = closed["objective"]
        return objective

    try:
        stored = await db.write(work)
    except ApiError:
        await request.app.state.audit.record(principal, "objectives.close", target_ids=[objective_id],
                                             result_count=0)
        raise
    await request.app.state.audit.record(principal, "objectives.close", target_ids=[objective_id, stored["entity_id"]],
                                         result_count=1)
    return _out(stored, None, policy)
