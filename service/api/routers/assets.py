"""Following the money: an entity's patrimony and the asset recovery totals (issue 18).

The totals are `service.domain.money.patrimony`'s, the Cypher `service.queries.patrimony`'s. Both
follow the rules of every read: what the caller sees in full is listed and valued; another
agency's restricted assets — or assets reached only through its restricted links — are counted
per owner agency in `withheld`, with whom to contact, never named nor valued; confidential items
are absent and no chain crosses them.

An asset's status (identified → seized → confiscated, or seized → released), its dates
(`identified_on`, `seized_on`, `confiscated_on`, `released_on`) and `court_reference` come with
the asset through POST /v1/ingest from the owner agency's system of record: a second writer here
would be overwritten by the next push of the same asset. A push moving a stored status back
(graph_schema: Asset's `progression`; confiscated and released are final) is refused with a 422.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.api.deps import OptionalPurpose, get_db, get_policy
from service.api.openapi import errors
from service.api.responses import JSONResponse
from service.api.views import node_out
from service.core.db import Database
from service.domain.money import patrimony as m
from service.queries.patrimony import MAX_DEPTH

router = APIRouter(prefix="/v1", tags=["assets"])

Node = dict[str, Any]


class Withheld(BaseModel):
    owner_agency: str
    contact: str = Field(description="Whom to contact at the owner agency")
    assets: int = Field(description="Assets of that agency's you may know exist but not see in full")


class StatusTotal(BaseModel):
    count: int
    value_eur: float = Field(description="Sum of the assets' whole values (a missing value adds nothing)")


class Held(BaseModel):
    asset: Node = Field(description="The Asset (or Vehicle), in full")
    via: list[str] = Field(description="Ids from the entity to the asset along its shortest chain (a network's "
                                       "member included)")
    chains: int = Field(description="Chains seen in full from the entity to the asset")
    share: float | None = Field(description="Share held, 0..1: the product of the OWNS shares along a chain, summed "
                                            "over chains (at most 1); null when unknown (a CONTROLS link, a missing "
                                            "share)")
    value_eur: float | None
    status: str | None = Field(description="identified, seized, confiscated or released; null for a vehicle")


class Totals(BaseModel):
    model_config = ConfigDict(extra="allow")
    identified: StatusTotal
    seized: StatusTotal
    confiscated: StatusTotal
    released: StatusTotal
    attributable_eur: float = Field(description="Sum of share × value over the assets whose share is known")
    unknown_share_eur: float = Field(description="Sum of the values of the assets whose share is unknown (not in "
                                                 "attributable_eur)")


class Patrimony(BaseModel):
    entity: Node
    assets: list[Held] = Field(description="Largest attributable value first")
    total: int = Field(description="Assets listed in all (`assets` holds at most `limit` from `offset`)")
    totals: Totals = Field(description="Over every asset listed, not only this page")
    withheld: list[Withheld]
    truncated: bool = Field(description="True when the holding chains read reached the service's bound")


class NetworkName(BaseModel):
    id: str
    name: str | None
    territory: str | None


class RecoveryGroup(BaseModel):
    group: str | None = Field(description="A network id, a département code or a year; null: none known to you")
    network: NetworkName | None = Field(default=None, description="group_by=network: the network")
    count: int
    value_eur: float
    statuses: dict[str, StatusTotal] = Field(description="By status: identified, seized, confiscated, released")


class Recovery(BaseModel):
    group_by: str
    groups: list[RecoveryGroup]
    withheld: list[Withheld] = Field(description="Other agencies' assets you may know exist, counted, never valued "
                                                 "nor grouped")


def _withheld(rows: list[dict[str, Any]], policy: Policy) -> list[dict[str, Any]]:
    return [{**r, "contact": policy.contact(r["owner_agency"] or "")} for r in rows]


@router.get("/entities/{entity_id}/patrimony", responses={200: {"model": Patrimony}, **errors({
    404: "No entity with this id is known to the caller",
    422: "Not a Person, Company or Network, or `max_depth`, `limit`, `offset` out of range"})})
async def patrimony(
    request: Request, purpose: OptionalPurpose,
    entity_id: str = Path(..., min_length=1, max_length=200),
    max_depth: int = Query(3, ge=1, le=MAX_DEPTH, description="Most OWNS / CONTROLS links along a chain "
                                                              "(a network's membership link aside)"),
    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10_000),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
) -> Any:
    """The assets a Person, Company or Network holds, directly and through chains of companies.

    - A chain follows `OWNS` and `CONTROLS` links in their direction, at most `max_depth` of them,
      never twice through one node (a cycle of cross-ownership ends); for a Network, from the
      network itself and from each of its members (`MEMBER_OF`).
    - `share` multiplies the `OWNS` shares along a chain and sums the chains to one asset (at most
      1). A `CONTROLS` link (control, not ownership) or a missing share makes it unknown: `null`,
      never counted as 1. `totals.attributable_eur` is share × value over the assets whose share
      is known; `unknown_share_eur` the value of the others, apart.
    - `totals.<status>`: assets listed and their whole values, per status (none reads as
      `identified`). Vehicles are listed without value nor status.
    - Listed: assets whose whole chain (links, companies, members, the asset) you see in full.
      An asset reached only through something you do not see in full counts in `withheld`, under
      the owner agency of the first such item along its chain, with whom to contact: no id, no
      label, no value. Confidential items of other agencies are absent and no chain crosses them.
    - An entity you may not know exists is a 404, as for GET /v1/entities/{id}."""
    found = await m.patrimony(db, viewer_params(principal), entity_id, max_depth)
    page = found["assets"][offset:offset + limit]
    assets = [{**a, "asset": node_out(a["asset"], policy)} for a in page]
    await request.app.state.audit.record(principal, "assets.patrimony",
                                         target_ids=[entity_id, *(a["asset"]["id"] for a in assets)],
                                         result_count=len(assets), purpose=purpose)
    return JSONResponse({"entity": node_out(found["entity"], policy), "assets": assets,
                         "total": len(found["assets"]), "totals": found["totals"],
                         "withheld": _withheld(found["withheld"], policy), "truncated": found["truncated"]})


@router.get("/assets/recovery", responses={200: {"model": Recovery}, **errors({422: "Invalid `group_by`"})})
async def recovery(
    request: Request, purpose: OptionalPurpose,
    group_by: Literal["network", "departement", "year"] = Query(
        ..., description="network: the networks holding the asset (its patrimony, depth 3); departement: of the "
                         "places the asset is LOCATED_AT (INSEE code); year: of its current status's date"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
) -> Any:
    """Asset recovery totals: the assets you see in full, counted and valued per status
    (identified → seized → confiscated, or released) in each group.

    An asset in two groups (two networks, places in two départements) counts in both; one in
    none — or whose network or place you do not see in full — under `group: null`. Another
    agency's restricted assets are counted per agency in `withheld`, never valued nor grouped;
    its confidential ones are absent."""
    found = await m.recovery(db, viewer_params(principal), group_by)
    await request.app.state.audit.record(principal, "assets.recovery",
                                         target_ids=[g["group"] for g in found["groups"] if g.get("network")],
                                         result_count=len(found["groups"]), purpose=purpose)
    return JSONResponse({**found, "withheld": _withheld(found["withheld"], policy)})
