"""Full-text search over entities and hit / no-hit lookup of identifiers (deconfliction).

Both need a stated purpose (`X-Purpose`), audited with the number of results — including
searches and lookups that found nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from graph_schema import get_schema
from service.access.auth import Principal, require
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.api.deps import EntityTypes, Evaluation, Purpose, get_db, get_policy
from service.api.openapi import errors
from service.api.responses import JSONResponse
from service.api.views import node_out
from service.core.db import Database
from service.domain.explore.search import identifier, lucene_query
from service.domain.lifecycle import late_hits
from service.queries import search as q

router = APIRouter(prefix="/v1", tags=["search"])

MAX_OFFSET = 10_000

ERRORS = errors({400: "Missing X-Purpose header",
                 422: "Invalid parameter (empty query, unknown type, malformed identifier…)"})


class SearchHit(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    type: str
    owner_agency: str
    redacted: bool = False
    score: float = Field(description="Relevance; results come best first")


class SearchResults(BaseModel):
    results: list[SearchHit]
    total: int = Field(description="Entities matching the query that the caller sees in full")


class Holder(BaseModel):
    agency: str
    contact: str


class LookupResult(BaseModel):
    hit: bool
    type: str
    value: str = Field(description="The identifier as normalised (E.164 phone, compact IBAN…)")
    id: str | None = Field(description="The identifier's id; only on a hit")
    holders: list[Holder] = Field(description="Agencies holding data on it, and whom to contact")


@router.get("/search", response_model=SearchResults, responses=ERRORS)
async def search(
    request: Request,
    q_: str = Query(..., alias="q", min_length=1, max_length=500, description="Names, aliases, labels…"),
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    principal: Principal = Depends(require("read")),
    *,
    purpose: Purpose,
    types: EntityTypes,
    evaluation: Evaluation,
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> Any:
    """Entities whose names, aliases or labels match `q`, best first.

    Accent- and case-insensitive, tolerant to typos (every word must match, exactly or within
    one or two edits). Only entities the caller sees in full are returned and counted: stubs
    and other agencies' confidential items never appear. Identifiers are not searched: use
    `/v1/lookup`. The search is audited with its purpose and the number of results.

    Each result carries its evaluation codes (`reliability`, `accuracy`) and handling code
    (`handling`, `handling_notice`, `handling_note` for H3). `min_reliability` and
    `min_accuracy` keep only results at least that good (and count only those). Another
    agency's minor (a Person under 18 when pushed) is never a result.
    """
    lucene = lucene_query(q_)
    # No filter is the widest one: every code passes X and 4.
    params = {"lucene": lucene, "types": types, "viewer": viewer_params(principal),
              **(evaluation or {"min_reliability": "X", "min_accuracy": "4"})}

    rows = await db.read_records(q.SEARCH, **params, offset=offset, limit=limit)
    total, page = rows[0]["total"], rows[0]["page"]
    results = [{**node_out(r["node"], policy), "score": r["score"]} for r in page]
    await request.app.state.audit.record(principal, "search", target_ids=[r["id"] for r in results],
                                         result_count=total, purpose=purpose)
    return JSONResponse({"results": results, "total": total})


@router.get("/lookup", response_model=LookupResult, responses=ERRORS)
async def lookup(
    request: Request,
    type_: str = Query(..., alias="type", description="Identifier type: " + ", ".join(
        name for name, node in get_schema().nodes.items() if node.is_identifier)),
    value: str = Query(..., min_length=1, max_length=256, description="The identifier as written; normalised"),
    principal: Principal = Depends(require("read")),
    *,
    purpose: Purpose,
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> Any:
    """Hit / no-hit: does any service hold data on this identifier, and whom to contact?

    A hit names the agencies whose data (links or entities the caller may know exist) is
    attached to the identifier, with their contact — never the content. Another agency's
    confidential data is not revealed. Audited with the purpose, hit or not.

    A no-hit is remembered (your agency, unit, the identifier and your purpose) for the
    policy's period, 12 months by default: if another agency links data to the identifier
    later, you and it both receive a `late_hit` alert with each other's contact and your purpose.
    """
    normalised, ident = identifier(type_, value)
    rows = await db.read_records(q.LOOKUP, id=ident, viewer=viewer_params(principal))
    owners = sorted(set(rows[0]["owners"])) if rows and rows[0]["id"] else []
    if not owners:  # remembered for late hits; re-asked under the identifier's lock (domain.lifecycle.late_hits)
        owners = await late_hits.remember_no_hit(db, principal, policy, type_, normalised, ident, purpose)
    hit = bool(owners)
    holders = [{"agency": a, "contact": policy.contact(a)} for a in owners]
    await request.app.state.audit.record(principal, "lookup", target_ids=[ident],
                                         result_count=len(holders), purpose=purpose)
    return JSONResponse({"hit": hit, "type": type_, "value": normalised, "id": ident if hit else None,
                         "holders": holders})
