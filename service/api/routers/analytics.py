"""GET /v1/analytics/key-players and /v1/analytics/bridges, over the caller's visible graph.

Both compute on what the caller may know exists: a confidential person or link of another agency
neither appears nor carries a path, so rankings differ per agency exactly as the data they see.
"""

from __future__ import annotations

import asyncio
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
from service.core.errors import not_found
from service.domain.analytics.key_players import MAX_EDGES, ordered, rank_persons
from service.queries import analytics as q

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

INVALID = "Invalid query parameters"


class KeyPlayer(BaseModel):
    rank: int
    person: dict[str, Any] = Field(description="The person, in full or as a stub")
    member: bool = Field(description="A (visible) member of the network, rather than a neighbour")
    role: str | None = Field(description="Role in the network when the membership is visible in full")
    degree: int = Field(description="Distinct neighbours in the visible subgraph")
    betweenness: float = Field(description="Shortest paths between other node pairs through this person "
                                           "(undirected, each pair counted once)")
    betweenness_normalised: float = Field(description="betweenness / ((n-1)(n-2)/2)")


class SubgraphInfo(BaseModel):
    nodes: int
    edges: int
    truncated: bool = Field(description=f"True when the subgraph was cut at {MAX_EDGES} relationships")
    approximate: bool = Field(description="True when betweenness was estimated from a sample of sources")


class KeyPlayers(BaseModel):
    network: dict[str, Any]
    order_by: str
    items: list[KeyPlayer]
    subgraph: SubgraphInfo


class Bridge(BaseModel):
    kind: Literal["person", "identifier"]
    node: dict[str, Any] = Field(description="The person (full or stub) or the identifier")
    network_count: int
    networks: list[dict[str, Any]] = Field(description="The networks it connects, each in full or as a stub")


class Bridges(BaseModel):
    items: list[Bridge]
    total: int


@router.get("/key-players", response_model=KeyPlayers, responses=errors({
    422: INVALID, 404: "No network with this id is known to the caller"}))
async def key_players(
    request: Request,
    network: str = Query(max_length=200, description="Id of the network"),
    limit: int = Query(20, ge=1, le=500),
    order_by: Literal["betweenness", "degree"] = Query(
        "betweenness", description="Rank by betweenness (then degree) or by degree (then betweenness)"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> KeyPlayers:
    """Persons ranked by degree and betweenness centrality in the caller's visible subgraph
    around a network.

    The subgraph is made of the network's members the caller may know of, and everything it
    may know within two hops of them through relationships it may know of (phones, accounts,
    associates, other networks…); the network node itself is left out, since every member is
    tied to it by definition. Degree counts distinct neighbours; betweenness is Brandes'
    algorithm on the undirected graph (each pair of nodes counted once). Persons the caller
    sees as stubs are ranked and shown as stubs; confidential ones it may not see do not exist.
    """
    params = {"id": network, "viewer": viewer_params(principal), "max_edges": MAX_EDGES + 1}

    async def fetch(tx: AsyncManagedTransaction) -> tuple[dict[str, Any], dict[str, str | None],
                                                          list[dict[str, Any]]] | None:
        found = await (await tx.run(q.NETWORK, params)).single()
        if found is None:
            return None
        members = {r["id"]: r["role"] async for r in await tx.run(q.MEMBERS, params)}
        edges = [r.data() async for r in await tx.run(q.subgraph_edges(), params)]
        return found["network"], members, edges

    fetched = await db.read(fetch)
    if fetched is None:
        await request.app.state.audit.record(principal, "analytics.key_players", target_ids=[network],
                                             result_count=0)
        raise not_found("network", network)
    net, members, edges = fetched
    truncated = len(edges) > MAX_EDGES
    # Brandes is CPU-bound: keep the event loop free for other requests while it runs.
    scores, n_nodes, n_edges, approximate = await asyncio.to_thread(rank_persons, edges[:MAX_EDGES], members)
    top = ordered(scores, order_by)[:limit]

    async def views(tx: AsyncManagedTransaction) -> dict[str, dict[str, Any]]:
        rows = await tx.run(q.PERSON_VIEWS, {"ids": [s[0] for s in top], "viewer": viewer_params(principal)})
        return {r["id"]: r["person"] async for r in rows}

    persons = await db.read(views)
    items = [
        KeyPlayer(rank=i + 1, person=node_out(persons[pid], policy), member=pid in members,
                  role=members.get(pid), degree=d, betweenness=round(b, 6), betweenness_normalised=round(nb, 6))
        for i, (pid, d, b, nb) in enumerate(s for s in top if s[0] in persons)
    ]
    await request.app.state.audit.record(principal, "analytics.key_players",
                                         target_ids=[network, *(k.person["id"] for k in items)],
                                         result_count=len(items))
    return KeyPlayers(network=node_out(net, policy), order_by=order_by, items=items,
                      subgraph=SubgraphInfo(nodes=n_nodes, edges=n_edges, truncated=truncated,
                                            approximate=approximate))


@router.get("/bridges", response_model=Bridges, responses=errors({422: INVALID}))
async def bridges(
    request: Request,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=100_000),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> Bridges:
    """Persons and identifiers that connect two or more networks, in the caller's visible graph.

    A person bridges the networks it is a member of; an identifier (phone, account, plate,
    wallet, e-mail) bridges the networks that use, hold or own it, directly or through their
    members. Only what the caller may know exists counts, and each network is shown in full or
    as a stub. Sorted by the number of networks connected, most first.
    """
    rows = await db.read_records(q.BRIDGES, viewer=viewer_params(principal), limit=limit, offset=offset)
    total = rows[0]["total"] if rows else 0
    items = [
        Bridge(kind="person" if r["is_person"] else "identifier", node=node_out(r["node"], policy),
               network_count=len(r["networks"]), networks=[node_out(n, policy) for n in r["networks"]])
        for r in rows if r["node"] is not None
    ]
    await request.app.state.audit.record(principal, "analytics.bridges", target_ids=[b.node["id"] for b in items],
                                         result_count=len(items))
    return Bridges(items=items, total=total)
