"""GET /v1/networks/{id}: one trafficking network as the caller may see it.

The network itself, its members with their roles, the cases it is linked to, its seizures totalled
by drug, its assets totalled by status and the territories it operates in. Lists obey the
caller's visibility (full, stub or absent); totals follow the policy's `statistics_count_all`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from neo4j import AsyncManagedTransaction
from pydantic import BaseModel, Field

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.api.deps import get_db, get_policy
from service.api.openapi import errors
from service.api.views import edge_out, node_out
from service.core.db import Database
from service.core.errors import not_found
from service.queries import networks as q

router = APIRouter(prefix="/v1", tags=["networks"])

MAX_ITEMS = 1000

class Member(BaseModel):
    person: dict[str, Any] = Field(description="The person, in full or as a stub")
    role: str | None = Field(description="Role in the network; null when the link is not visible in full")
    link: dict[str, Any] = Field(description="The MEMBER_OF relationship, in full or as a stub")


class LinkedCase(BaseModel):
    case: dict[str, Any] = Field(description="The case, in full or as a stub")
    via: list[str] = Field(description="`member` (a member is involved in it), `seizure` (a seizure on the network)")


class SeizureTotal(BaseModel):
    drug: str | None
    unit: str | None
    quantity: float
    count: int


class AssetTotal(BaseModel):
    status: str | None
    value_eur: float
    count: int


class SeizureSummary(BaseModel):
    count: int
    by_drug: list[SeizureTotal]


class AssetSummary(BaseModel):
    count: int
    total_value_eur: float
    by_status: list[AssetTotal]


class Territory(BaseModel):
    source: str = Field(description="`network` (its territory property) or `location` (a place it OPERATES)")
    label: str | None = None
    insee_code: str | None = None
    kind: str | None = None
    location_id: str | None = None
    redacted: bool = False
    owner_agency: str | None = None
    contact: str | None = None


class NetworkSummary(BaseModel):
    network: dict[str, Any] = Field(description="The network, in full or as a stub")
    members: list[Member]
    cases: list[LinkedCase]
    seizures: SeizureSummary
    assets: AssetSummary
    territories: list[Territory]
    statistics_count_all: bool = Field(
        description="True: totals count every linked item, visible or not (a total reveals no item); "
                    "false: only items the caller may know exist")
    truncated: bool = Field(description=f"True when a list was cut at {MAX_ITEMS} items")


def _territories(network: dict[str, Any], locations: list[dict[str, Any]]) -> list[Territory]:
    out: list[Territory] = []
    if network.get("redacted") is False and network["properties"].get("territory"):
        out.append(Territory(source="network", label=network["properties"]["territory"]))
    for loc in locations:
        if loc["redacted"]:
            out.append(Territory(source="location", location_id=loc["id"], redacted=True,
                                 owner_agency=loc["owner_agency"], contact=loc["contact"]))
        else:
            props = loc["properties"]
            out.append(Territory(source="location", location_id=loc["id"], label=props.get("label"),
                                 insee_code=props.get("insee_code"), kind=props.get("kind")))
    return out


@router.get("/networks/{network_id}", response_model=NetworkSummary,
            responses=errors({404: "No network with this id is known to the caller"}))
async def get_network(
    request: Request,
    network_id: str = Path(max_length=200, description="Id of the network"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> NetworkSummary:
    """One network as the caller may see it: members with roles, linked cases, seizure totals
    by drug and unit, asset totals by status, territories.

    A restricted network of another agency is a stub (its members and links are still listed as
    far as each is visible); a confidential one the caller may not see is a 404. Members, cases
    and places are shown in full, as stubs, or not at all, each by its own sharing level and that
    of the relationship leading to it. Seizure and asset totals count every item linked to the
    network when the policy's `statistics_count_all` is true (the default), otherwise only the
    items the caller may know exist.
    """
    params = {"id": network_id, "viewer": viewer_params(principal), "limit": MAX_ITEMS + 1,
              "count_all": policy.statistics_count_all}

    async def work(tx: AsyncManagedTransaction) -> dict[str, list[dict[str, Any]]] | None:
        async def rows(query: str) -> list[dict[str, Any]]:
            return [r.data() async for r in await tx.run(query, params)]

        found = await rows(q.NETWORK)
        if not found:
            return None
        return {"network": found, "members": await rows(q.MEMBERS), "cases": await rows(q.CASES),
                "seizures": await rows(q.SEIZURE_TOTALS), "assets": await rows(q.ASSET_TOTALS),
                "territories": await rows(q.TERRITORIES)}

    result = await db.read(work)
    if result is None:
        await request.app.state.audit.record(principal, "networks.get", target_ids=[network_id], result_count=0)
        raise not_found("network", network_id)
    truncated = any(len(result[k]) > MAX_ITEMS for k in ("members", "cases", "territories"))
    network = node_out(result["network"][0]["network"], policy)
    members = [Member(person=node_out(r["person"], policy), role=r["role"], link=edge_out(r["link"]))
               for r in result["members"][:MAX_ITEMS]]
    cases = [LinkedCase(case=node_out(r["case_view"], policy), via=sorted(r["via"]))
             for r in result["cases"][:MAX_ITEMS]]
    by_drug = [SeizureTotal(drug=r["drug"], unit=r["unit"], quantity=r["quantity"], count=r["items"])
               for r in result["seizures"]]
    by_status = [AssetTotal(status=r["status"], value_eur=r["value_eur"], count=r["items"])
                 for r in result["assets"]]
    locations = [node_out(r["location"], policy) for r in result["territories"][:MAX_ITEMS]]
    summary = NetworkSummary(
        network=network, members=members, cases=cases,
        seizures=SeizureSummary(count=sum(t.count for t in by_drug), by_drug=by_drug),
        assets=AssetSummary(count=sum(t.count for t in by_status),
                            total_value_eur=sum(t.value_eur for t in by_status), by_status=by_status),
        territories=_territories(network, locations),
        statistics_count_all=policy.statistics_count_all, truncated=truncated,
    )
    targets = [network_id, *(m.person["id"] for m in members), *(c.case["id"] for c in cases)]
    await request.app.state.audit.record(principal, "networks.get", target_ids=targets,
                                         result_count=1 + len(members) + len(cases))
    return summary
