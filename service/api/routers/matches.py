"""/v1/matches: possible matches between persons held by different agencies, judged by people.

Ingest suggests pairs (same normalised name and birth date, or a similar name —
transliteration-aware — with the same birth date or a shared identifier) and tells each owner
through a `possible_match` alert carrying the `match_id`. Either owner, or the central agency,
judges it: `same` links the two persons with `SAME_AS` (seen under the usual rules), `different`
suppresses the pair for good, `unsure` records the doubt. Every judgement is kept and audited.
Persons are never merged.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from neo4j import AsyncManagedTransaction
from pydantic import BaseModel, ConfigDict, Field

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.api.deps import get_db, get_policy
from service.api.openapi import errors
from service.api.responses import JSONResponse
from service.api.views import node_out
from service.core import clock, ids
from service.core.db import Database
from service.core.errors import not_found
from service.domain.notifications.alerts import MatchReason
from service.queries import matches as q

router = APIRouter(prefix="/v1/matches", tags=["matches"])

Verdict = Literal["same", "different", "unsure"]

NOT_FOUND = "No such candidate, or not one of the caller's agency's (nor the central agency's)"


class JudgementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: Verdict
    note: str | None = Field(None, max_length=2000, description="Why: kept with the judgement")


class JudgementOut(BaseModel):
    id: str
    verdict: Verdict
    note: str | None = None
    by_agency: str
    at: str


class MatchOut(BaseModel):
    id: str
    status: Literal["open", Verdict] = Field(
        description="`open` until judged, then the latest verdict; `different` is never raised again")
    score: float = Field(description="Name similarity, 0..1")
    reasons: list[MatchReason]
    created_at: str
    judged_at: str | None = None
    judged_by_agency: str | None = None
    persons: list[dict[str, Any]] = Field(
        description="The two persons as the caller may see them: in full, or a stub (id, type, owner, contact)")
    judgements: list[JudgementOut] = Field(description="Every judgement, oldest first")


async def _view(tx: AsyncManagedTransaction, match: str, principal: Principal, policy: Policy) -> dict[str, Any]:
    row = await (await tx.run(q.GET, id=match, viewer=viewer_params(principal))).single()
    if row is None:
        raise not_found("match", match)
    m = row["match"]
    return {**m, "score": m.get("score") or 0.0, "reasons": json.loads(m.get("reasons") or "[]"),
            "persons": [node_out(p, policy) for p in row["persons"]], "judgements": row["judgements"]}


@router.get("/{match_id}", response_model=MatchOut, responses=errors({404: NOT_FOUND}))
async def get_match(
    request: Request,
    match_id: str = Path(max_length=200),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> Any:
    """A possible match: why it was suggested, its status and judgements, and both persons as the
    caller may see them. Only the two owner agencies (each while it may know the other person
    exists) and the central agency see it; for anyone else it does not exist (404)."""

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        return await _view(tx, match_id, principal, policy)

    out = await db.read(work)
    await request.app.state.audit.record(principal, "match.read", target_ids=[match_id, *(p["id"] for p in
                                                                                          out["persons"])],
                                         result_count=1)
    return JSONResponse(out)


@router.post("/{match_id}/judgement", response_model=MatchOut, status_code=201, responses=errors({
    404: NOT_FOUND, 422: "Invalid body: `verdict` is same, different or unsure"}))
async def judge_match(
    body: JudgementIn,
    request: Request,
    match_id: str = Path(max_length=200),
    principal: Principal = Depends(require("write")),
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> Any:
    """Judge a possible match, as one of its two owner agencies or the central agency.

    - `same`: the persons are linked by `SAME_AS` (owned by the judging agency, confidential if
      either person is, else restricted); they stay two nodes.
    - `different`: no link (one a previous `same` made is removed); the pair is never suggested again.
    - `unsure`: recorded; the pair stays open to a later judgement.

    Every judgement is kept (the latest sets the status) and audited."""
    viewer = viewer_params(principal)

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        row = await (await tx.run(
            q.JUDGE, id=match_id, viewer=viewer, judgement_id=str(uuid.uuid4()), verdict=body.verdict,
            note=body.note, unit=principal.unit, sub=principal.sub, now=clock.iso_now(),
            same_as_id=ids.same_as_id(match_id))).single()
        if row is None:
            raise not_found("match", match_id)
        return await _view(tx, match_id, principal, policy)

    out = await db.write(work)
    await request.app.state.audit.record(principal, f"match.judgement.{body.verdict}",
                                         target_ids=[match_id, *(p["id"] for p in out["persons"])], result_count=1)
    return JSONResponse(out, status_code=201)
