"""GET /v1/dashboard/threat: the national threat picture in numbers (measure 4 of the national plan).

Seizures by month and drug, criminal assets by status, active networks by département — the
figures behind the web UI's threat dashboard and the annual threat assessment.

Visibility: these are aggregates. Under the policy's `statistics_count_all: true` (the default)
they count every item, visible to the caller or not — a count reveals no content, and a national
picture that depends on who looks would be useless. With the switch off they count only the
items the caller sees in full. No item, id or free-text value is ever returned: group keys are
months, schema enums and département codes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from neo4j import AsyncManagedTransaction
from pydantic import BaseModel, Field

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.api.deps import get_db, get_policy
from service.api.openapi import errors
from service.core.db import Database
from service.core.errors import ApiError
from service.queries import dashboard as q

router = APIRouter(prefix="/v1/dashboard", tags=["dashboard"])

class SeizureMonth(BaseModel):
    month: str = Field(description="YYYY-MM of the seizure date")
    drug: str = Field(description="Drug, from the schema's enum")
    seizures: int
    quantity_kg: float = Field(description="Total of seizures weighed in g or kg, in kilograms")
    quantity_l: float = Field(description="Total of seizures measured in litres")
    doses: float = Field(description="Total of seizures counted in doses")


class AssetStatus(BaseModel):
    status: str = Field(description="identified, seized or confiscated")
    assets: int
    value_eur: float


class TerritoryNetworks(BaseModel):
    department: str = Field(description="Département code (01…95, 2A, 2B, 971…976) or `unknown`")
    networks: int = Field(description="Active networks: linked to an open or judicial case")
    kinds: list[str] = Field(description="Kinds of those networks")


class ThreatTotals(BaseModel):
    seizures: int
    quantity_kg: float
    assets: int
    assets_value_eur: float
    active_networks: int


class ThreatDashboard(BaseModel):
    statistics_count_all: bool = Field(
        description="True: every item counts, visible to the caller or not; false: only items it sees in full")
    since: dt.date | None
    until: dt.date | None
    totals: ThreatTotals
    seizures_by_month: list[SeizureMonth]
    assets_by_status: list[AssetStatus]
    networks_by_territory: list[TerritoryNetworks]


@router.get("/threat", response_model=ThreatDashboard,
            responses=errors({422: "Invalid dates, or `since` after `until`"}))
async def threat(
    request: Request,
    since: dt.date | None = Query(None, description="Seizures on or after this date (YYYY-MM-DD)"),
    until: dt.date | None = Query(None, description="Seizures on or before this date (YYYY-MM-DD)"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> ThreatDashboard:
    """Seizures by month and drug, assets by status, active networks by département.

    Quantities are summed per unit family (kilograms for g and kg, litres, doses). A network is
    active when a case linked to it — through a member or a seizure — is `open` or `judicial`;
    its département comes from its `territory` ("Marseille (13)" → `13`). The date filters apply
    to seizures only. Counts follow the policy's `statistics_count_all` (see the response field).
    """
    if since and until and since > until:
        raise ApiError(422, "invalid_range", f"since ({since}) is after until ({until})")
    params = {"viewer": viewer_params(principal), "count_all": policy.statistics_count_all,
              "since": since.isoformat() if since else None, "until": until.isoformat() if until else None}

    async def work(tx: AsyncManagedTransaction) -> dict[str, list[dict[str, Any]]]:
        async def rows(query: str) -> list[dict[str, Any]]:
            return [r.data() async for r in await tx.run(query, params)]

        return {"seizures": await rows(q.SEIZURES_BY_MONTH), "assets": await rows(q.ASSETS_BY_STATUS),
                "networks": await rows(q.NETWORKS_BY_TERRITORY)}

    found = await db.read(work)
    seizures = [SeizureMonth(**r) for r in found["seizures"]]
    assets = [AssetStatus(**r) for r in found["assets"]]
    networks = [TerritoryNetworks(department=r["department"], networks=r["networks"],
                                  kinds=sorted(k for k in r["kinds"] if k)) for r in found["networks"]]
    totals = ThreatTotals(
        seizures=sum(s.seizures for s in seizures), quantity_kg=round(sum(s.quantity_kg for s in seizures), 3),
        assets=sum(a.assets for a in assets), assets_value_eur=sum(a.value_eur for a in assets),
        active_networks=sum(n.networks for n in networks))
    await request.app.state.audit.record(principal, "dashboard.threat", target_ids=[], result_count=totals.seizures)
    return ThreatDashboard(statistics_count_all=policy.statistics_count_all, since=since, until=until, totals=totals,
                           seizures_by_month=seizures, assets_by_status=assets, networks_by_territory=networks)
