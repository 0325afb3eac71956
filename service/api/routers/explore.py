"""Exploring links: the neighbourhood of an entity and the shortest paths between two.

Both obey the visibility rules inside their Cypher (`service.queries.explore`): traversal only
crosses relationships and nodes the caller may know exist, so another agency's confidential
items neither appear nor connect anything. Restricted items of other agencies are known to
exist: they come back as stubs (id, type, owner agency, contact) and traversal continues
through them — that another service holds a link is exactly what an investigator must learn —
but none of their values. Both results can be exported as GraphML or FollowTheMoney.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.api.deps import Evaluation, OptionalPurpose, RelationshipTypes, TimeWindow, get_db, get_policy
from service.api.openapi import errors
from service.api.responses import JSONResponse
from service.api.views import edge_out, node_out
from service.core.db import Database
from service.core.errors import ApiError
from service.domain.explore.exports import refuse_h2, to_ftm, to_graphml
from service.queries import explore as q

router = APIRouter(prefix="/v1", tags=["explore"])

MAX_DEPTH = 3
MAX_LIMIT = 1000
EDGE_FACTOR = 5  # a result carries at most EDGE_FACTOR × limit edges


class ExportFormat(StrEnum):
    json = "json"
    graphml = "graphml"
    ftm = "ftm"


class NodeOut(BaseModel):
    """An entity, an identifier, or a stub (`redacted: true`: id, type, owner_agency, contact only)."""

    model_config = ConfigDict(extra="allow")
    id: str
    type: str
    redacted: bool
    owner_agency: str | None = None


class EdgeOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str | None
    type: str
    source: str
    target: str
    owner_agency: str | None
    redacted: bool
    properties: dict[str, Any]


class Neighbourhood(BaseModel):
    nodes: list[NodeOut] = Field(description="The start node first, then by distance from it")
    edges: list[EdgeOut]
    truncated: bool = Field(description="True when more nodes or edges existed than `limit` let through")


class PathOut(BaseModel):
    nodes: list[NodeOut]
    edges: list[EdgeOut]


class Paths(BaseModel):
    paths: list[PathOut]


EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON by default; `format=graphml` gives GraphML (application/graphml+xml), "
                         "`format=ftm` FollowTheMoney entities as JSON lines (application/x-ndjson)",
          "content": {"application/graphml+xml": {}, "application/x-ndjson": {}}},
    **errors({403: "The caller's roles do not give `read`; or a GraphML / FtM export would carry another "
                   "agency's item coded H2 (error `handling_h2`, its ids in `details`)",
              404: "No entity with this id is known to the caller",
              422: "Invalid parameter (depth, limit, unknown relationship type, evaluation code…)"}),
}

_CONTENT_TYPES = {ExportFormat.graphml: "application/graphml+xml", ExportFormat.ftm: "application/x-ndjson"}


def check_export(fmt: ExportFormat, nodes: list[dict[str, Any]], edges: list[dict[str, Any]],
                 principal: Principal) -> None:
    """An export is a dissemination: refused whole (403) when it would carry an item of another
    agency coded H2 (no dissemination without the owner's consent), in full or as a stub."""
    if fmt is ExportFormat.json:
        return
    refuse_h2(nodes, edges, principal.agency)


def _render(fmt: ExportFormat, body: dict[str, Any], nodes: list[dict[str, Any]],
            edges: list[dict[str, Any]], stem: str) -> Response:
    if fmt is ExportFormat.json:
        return JSONResponse(body)
    text = to_graphml(nodes, edges) if fmt is ExportFormat.graphml else to_ftm(nodes, edges)
    ext = "graphml" if fmt is ExportFormat.graphml else "ftm.json"
    return Response(text, media_type=_CONTENT_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{ext}"'})


def _dedupe_edges(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[Any] = set()
    out = []
    for edge in rows:
        key = (edge["props"].get("id"), edge["type"], edge["source"], edge["target"])
        if key not in seen:
            seen.add(key)
            out.append(edge_out(edge))
    return out


@router.get("/entities/{entity_id}/neighbourhood", response_model=Neighbourhood, responses=EXPORT_RESPONSES)
async def neighbourhood(
    request: Request,
    entity_id: str,
    depth: int = Query(1, ge=1, le=MAX_DEPTH, description="Hops from the entity, 1 to 3"),
    limit: int = Query(200, ge=1, le=MAX_LIMIT, description="Most nodes returned, the start node included"),
    format: ExportFormat = Query(ExportFormat.json, description="json, graphml or ftm"),
    principal: Principal = Depends(require("read")),
    *,
    evaluation: Evaluation,
    rel_types: RelationshipTypes,
    purpose: OptionalPurpose,
    win: TimeWindow,
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> Any:
    """The entities and identifiers within `depth` hops of an entity, and the links between them.

    Traversal is breadth-first; it never crosses what the caller may not know exists, and
    passes through stubs (their existence is known, their values stay hidden). Nodes come
    start first, then by distance; `truncated` is true when more nodes than `limit` (or more
    edges than 5 × `limit`) were reachable. Edges are those leaving a node inside the radius;
    links between two nodes at exactly `depth` hops are left out.

    Every entity and link seen in full carries its evaluation codes (`reliability`, `accuracy`)
    and handling code (`handling`, `handling_notice`, and `handling_note` for H3); stubs carry
    only the handling code. `min_reliability` / `min_accuracy` keep only entities and links seen
    in full that meet them (identifiers always pass; stubs, whose codes are not yours to know,
    are left out); the start entity is always returned. Exports (`graphml`, `ftm`) containing
    another agency's H2 item are refused with 403 `handling_h2`.

    `since` / `until` keep only the links active in the window: those dated by `first` / `last`
    (calls and transfers aggregated from events carry them), `date` or `since` must overlap it;
    links that carry no date (a membership, a phone's user) are kept.
    """
    edge_cap = EDGE_FACTOR * limit
    rows = await db.read_records(q.neighbourhood(depth, rel_types, evaluation is not None, win is not None),
                                 id=entity_id, limit=limit, edge_cap=edge_cap + 1, viewer=viewer_params(principal),
                                 **(evaluation or {}), **(win.params if win else {}))
    if not rows:
        raise ApiError(404, "not_found", f"no entity with id {entity_id!r}")
    raw_nodes, raw_edges, truncated = rows[0]["nodes"], rows[0]["edges"], rows[0]["truncated"]
    if len(raw_edges) > edge_cap:
        raw_edges, truncated = raw_edges[:edge_cap], True
    nodes = [node_out(n, policy) for n in raw_nodes]
    edges = _dedupe_edges(raw_edges)
    check_export(format, nodes, edges, principal)
    await request.app.state.audit.record(
        principal, "explore.neighbourhood" if format is ExportFormat.json else f"explore.neighbourhood.{format.value}",
        target_ids=[n["id"] for n in nodes], result_count=len(nodes),
        purpose=purpose)
    body = {"nodes": nodes, "edges": edges, "truncated": truncated}
    return _render(format, body, nodes, edges, f"neighbourhood-{entity_id}")


@router.get("/paths", response_model=Paths, responses=EXPORT_RESPONSES)
async def shortest_paths(
    request: Request,
    source: str = Query(..., min_length=1, max_length=200, description="Id of the first entity"),
    target: str = Query(..., min_length=1, max_length=200, description="Id of the second entity"),
    max_hops: int = Query(6, ge=1, le=8, description="Longest path considered, 1 to 8 hops"),
    limit: int = Query(10, ge=1, le=50, description="Most paths returned"),
    format: ExportFormat = Query(ExportFormat.json, description="json, graphml or ftm"),
    principal: Principal = Depends(require("read")),
    *,
    rel_types: RelationshipTypes,
    purpose: OptionalPurpose,
    win: TimeWindow,
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> Any:
    """The shortest paths between two entities (all of the minimal length, up to `limit`).

    A path never passes through a node or relationship the caller may not know exists: if two
    entities are connected only through another agency's confidential person, there is no path.
    Stubs may lie on a path (shown as stubs). The GraphML and FtM exports merge all paths into
    one graph; they are refused (403 `handling_h2`) when a path carries another agency's H2 item.
    A path never passes through another agency's minor (a Person under 18 when pushed).
    `since` / `until`: only links active in the window are crossed (as for the neighbourhood).
    """
    if source == target:
        raise ApiError(422, "same_entity", "source and target are the same entity; ask for its neighbourhood")
    viewer = viewer_params(principal)
    query = q.paths(max_hops, rel_types, win is not None)

    row = (await db.read_records(query, source=source, target=target, limit=limit, viewer=viewer,
                                 **(win.params if win else {})))[0]
    missing = [i for i, known in ((source, row["source_known"]), (target, row["target_known"])) if not known]
    if missing:
        raise ApiError(404, "not_found", f"no entity with id {missing[0]!r}", {"missing": missing})
    paths = [{"nodes": [node_out(n, policy) for n in found["nodes"]],
              "edges": [edge_out(e) for e in found["edges"]]} for found in row["paths"]]
    all_nodes: dict[str, dict[str, Any]] = {}
    all_edges: dict[Any, dict[str, Any]] = {}
    for path in paths:
        for n in path["nodes"]:
            all_nodes.setdefault(n["id"], n)
        for e in path["edges"]:
            all_edges.setdefault((e["id"], e["type"], e["source"], e["target"]), e)
    check_export(format, list(all_nodes.values()), list(all_edges.values()), principal)
    await request.app.state.audit.record(
        principal, "explore.paths" if format is ExportFormat.json else f"explore.paths.{format.value}",
        target_ids=[source, target, *(i for i in all_nodes if i not in (source, target))],
        result_count=len(paths), purpose=purpose)
    return _render(format, {"paths": paths}, list(all_nodes.values()), list(all_edges.values()),
                   "paths")
