"""GET /v1/map/deal-points: the deal points the caller may see, as GeoJSON (measure 5's unified map).

Only deal points seen in full are placed (their coordinates are content). Another agency's
restricted deal points are counted by owner agency in `withheld`, with whom to contact — the
hit/no-hit principle applied to places; its confidential ones are neither placed nor counted.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from neo4j import AsyncManagedTransaction
from pydantic import BaseModel, Field

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.api.deps import get_db, get_policy
from service.api.openapi import errors
from service.api.views import node_out
from service.core.db import Database
from service.queries import map as q

router = APIRouter(prefix="/v1/map", tags=["map"])

MAX_POINTS = 50_000

class PointGeometry(BaseModel):
    type: Literal["Point"] = "Point"
    coordinates: list[float] = Field(description="[longitude, latitude] (WGS 84)")


class NetworkRef(BaseModel):
    id: str
    redacted: bool
    name: str | None = Field(default=None, description="When the network is seen in full")
    territory: str | None = Field(default=None, description="When the network is seen in full")
    owner_agency: str | None = None
    contact: str | None = Field(default=None, description="Stubs: whom to contact at the owner agency")


class DealPointProperties(BaseModel):
    id: str
    label: str | None
    insee_code: str | None = Field(description="INSEE code of the commune")
    owner_agency: str | None
    network: NetworkRef | None = Field(description="The network operating it, in full or as a stub, when known")


class DealPointFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: PointGeometry
    properties: DealPointProperties


class Withheld(BaseModel):
    owner_agency: str | None
    contact: str
    deal_points: int


class DealPoints(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[DealPointFeature]
    truncated: bool = Field(description="True when more deal points existed than `limit`")
    withheld: list[Withheld] = Field(description="Restricted deal points of other agencies, counted by owner "
                                                 "agency (no place): call the contact to learn more")


def _network(view: dict[str, Any] | None, policy: Policy) -> NetworkRef | None:
    if view is None:
        return None
    node = node_out(view, policy)
    if node["redacted"]:
        return NetworkRef(id=node["id"], redacted=True, owner_agency=node["owner_agency"], contact=node["contact"])
    props = node.get("properties") or {}
    return NetworkRef(id=node["id"], redacted=False, name=props.get("name"), territory=props.get("territory"),
                      owner_agency=node.get("owner_agency"))


@router.get("/deal-points", response_model=DealPoints, responses=errors({422: "Invalid `limit`"}))
async def deal_points(
    request: Request,
    limit: int = Query(10_000, ge=1, le=MAX_POINTS, description="Most deal points returned"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> DealPoints:
    """The deal points (`Location` of kind `deal_point`) the caller sees in full, as a GeoJSON
    FeatureCollection of points (`[lon, lat]`), each with its id, label, INSEE code, owner agency
    and the network operating it (in full or as a stub) when the caller may know it.

    Another agency's restricted deal points are not placed — their coordinates are content —
    but counted by owner agency in `withheld`, with whom to contact.
    """
    params = {"viewer": viewer_params(principal), "limit": limit + 1}

    async def work(tx: AsyncManagedTransaction) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        points = [r.data() async for r in await tx.run(q.DEAL_POINTS, params)]
        withheld = [r.data() async for r in await tx.run(q.WITHHELD, params)]
        return points, withheld

    points, withheld = await db.read(work)
    truncated = len(points) > limit
    features = [
        DealPointFeature(
            id=p["id"], geometry=PointGeometry(coordinates=[float(p["lon"]), float(p["lat"])]),
            properties=DealPointProperties(id=p["id"], label=p["label"], insee_code=p["insee_code"],
                                           owner_agency=p["owner_agency"], network=_network(p["network"], policy)))
        for p in points[:limit]
    ]
    await request.app.state.audit.record(principal, "map.deal_points", target_ids=[f.id for f in features],
                                         result_count=len(features))
    hidden = [Withheld(owner_agency=w["owner_agency"], contact=policy.contact(w["owner_agency"] or ""),
                       deal_points=w["deal_points"]) for w in withheld]
    return DealPoints(features=features, truncated=truncated, withheld=hidden)
