"""The national priority target list (measure 17 of the national plan), maintained by OFAST.

Workflow: any investigator (permission `write`) proposes a Person or a Network; a
`target_manager` (permission `manage_targets`) of the **central** agency moves the entry
through its states, records periodic reviews, and every change is a new immutable version
(who, when, why, the values before and after):

    proposed  -> active | rejected
    active    -> suspended | neutralised (date and case reference required) | archived
    suspended -> active | archived

Concurrency: a change may carry `If-Match: <version>` (the `ETag` of the entry); the version is
checked under the entry's write lock inside the write transaction, so of two managers sending
the same version one succeeds and the other gets 412 with nothing changed.

Review dates: activation (and re-activation, and each review via `POST .../reviews`) sets
`review_due` to today + 6 months for tier 1 and + 12 months for tiers 2 and 3. A suspended
entry keeps its review date; a terminal status (rejected, neutralised, archived) clears it.
`overdue=true` lists entries whose `review_due` is before today (UTC).

What each agency sees:
- `active`, `suspended`, `neutralised` and `archived` entries are listed for every agency with
  `read`; `proposed` and `rejected` ones only for the central agency and the proposer's agency
  (others get 404 on them).
- The designated entity follows the ordinary rules (`service.access.visibility`): in full to its owner,
  the central agency and grantees; a stub (`redacted: true`, owner and contact only) to others
  when restricted.
- A **confidential** entity of another agency does not exist for the viewer, yet the entry still
  does — so that nobody opens a parallel investigation blind. Decision: the entry is shown with
  `entity: null`, `entity_id: null`, `entity_type: null`, `entity_hidden: true` and no
  justification (which describes the entity); its tier, status, lead agency and the lead's
  contact remain, so the viewer knows whom to call. Its history keeps who/when/which
  transition but withholds reasons and values (`redacted: true`), and its evidence panel is empty.
- The justification and the history's reasons and values are shown to viewers who see the entity
  in full, to the central agency and to the proposer's agency; a stub viewer gets them withheld
  too, since they describe the restricted person.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from neo4j import AsyncManagedTransaction
from pydantic import BaseModel, ConfigDict, Field

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.api.deps import get_db, get_policy
from service.api.views import edge_out, node_out
from service.core.db import Database
from service.core.errors import ApiError
from service.domain.explore.exports import refuse_h2
from service.domain.targets import reports
from service.queries import priority_targets as q

router = APIRouter(prefix="/v1/priority-targets", tags=["priority targets"])

Status = Literal["proposed", "active", "rejected", "suspended", "neutralised", "archived"]
Sort = Literal["tier", "-tier", "review_due", "-review_due", "updated_at", "-updated_at"]

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "proposed": ("active", "rejected"),
    "active": ("suspended", "neutralised", "archived"),
    "suspended": ("active", "archived"),
    "rejected": (),
    "neutralised": (),
    "archived": (),
}
TERMINAL = frozenset({"rejected", "neutralised", "archived"})
REVIEW_MONTHS = {1: 6, 2: 12, 3: 12}
EXPORT_MAX = 10_000
NEW_LINKS_SHOWN = 100

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid bearer token"},
    403: {"description": "The caller's role or agency may not do this"},
    404: {"description": "No priority target with this id is visible to the caller"},
}
CHANGE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    400: {"description": "If-Match is not a version number"},
    409: {"description": "Transition not allowed from the current status; `details.allowed` lists those that are"},
    412: {"description": "If-Match names a version that is no longer current; nothing was changed"},
    422: {"description": "A field the transition needs is missing or invalid"},
}


# --- models ------------------------------------------------------------------------------------


class ProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str = Field(min_length=1, max_length=200, description="Id of the Person or Network to designate")
    justification: str = Field(min_length=1, max_length=10_000, description="Why this target should be a priority")
    proposed_tier: int = Field(ge=1, le=3, description="1 (highest) to 3")


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: Status = Field(description="The status to move to")
    reason: str = Field(min_length=1, max_length=10_000, description="Why; kept in the history")
    tier: int | None = Field(None, ge=1, le=3, description="On activation; defaults to the proposed tier")
    lead_agency: str | None = Field(None, min_length=1, max_length=100,
                                    description="On activation: the agency leading the investigations")
    lead_unit: str | None = Field(None, min_length=1, max_length=200, description="On activation: the lead unit")
    neutralised_at: dt.date | None = Field(None, description="Required when neutralising (YYYY-MM-DD)")
    case_ref: str | None = Field(None, min_length=1, max_length=200,
                                 description="Required when neutralising: the judicial case reference")


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=10_000, description="What the review concluded")
    tier: int | None = Field(None, ge=1, le=3)
    lead_agency: str | None = Field(None, min_length=1, max_length=100)
    lead_unit: str | None = Field(None, min_length=1, max_length=200)


class ProposedBy(BaseModel):
    agency: str
    unit: str | None = None
    sub: str | None = Field(None, description="Shown to the central agency and the proposer's agency only")


class TargetOut(BaseModel):
    id: str
    status: Status
    tier: int | None
    proposed_tier: int | None
    justification: str | None = Field(description="Withheld unless the viewer sees the entity in full, "
                                                   "is the central agency or the proposer's agency")
    entity_id: str | None
    entity_type: str | None
    entity: dict[str, Any] | None = Field(description="The designated entity as the viewer may see it "
                                                      "(full or stub); null when hidden")
    entity_hidden: bool = Field(description="True when the entity is confidential to the viewer")
    lead_agency: str | None
    lead_unit: str | None
    lead_contact: str | None = Field(description="How to reach the lead agency (from the access policy)")
    proposed_by: ProposedBy
    review_due: str | None
    overdue: bool
    last_reviewed_at: str | None
    neutralised_at: str | None
    neutralised_case_ref: str | None
    territories: list[str] = Field(description="Territories of the network, or of the person's networks, "
                                               "that the viewer may see")
    version: int
    created_at: str
    updated_at: str
    allowed_transitions: list[str]


class TargetList(BaseModel):
    items: list[TargetOut]
    total: int


class VersionOut(BaseModel):
    target_id: str
    version: int
    at: str
    by_sub: str | None
    by_agency: str | None
    by_unit: str | None
    kind: str = Field(description="proposal, transition or review")
    transition_from: str | None
    transition_to: str | None
    reason: str | None
    values: dict[str, Any] | None = Field(description="The whole entry after the change")
    previous: dict[str, Any] | None = Field(description="The whole entry before the change (null for the proposal)")
    redacted: bool


class HistoryOut(BaseModel):
    target_id: str
    versions: list[VersionOut]


class CasesByAgency(BaseModel):
    agency: str | None
    cases: int


class SeizuresByDrug(BaseModel):
    drug: str
    unit: str | None
    seizures: int
    quantity: float


class AssetsByStatus(BaseModel):
    status: str
    assets: int
    value_eur: float


class NetworkSize(BaseModel):
    networks: int
    members: int


class NewLinks(BaseModel):
    count: int
    items: list[dict[str, Any]] = Field(description="Links the viewer may know, newest first, with both ends")


class EvidenceOut(BaseModel):
    target_id: str
    entity_id: str | None
    entity_type: str | None
    entity_hidden: bool
    statistics_count_all: bool = Field(description="Whether counts include items hidden from the viewer")
    since: str | None = Field(description="The last review (or activation, or proposal): start of `links_since_review`")
    cases_total: int
    cases_by_agency: list[CasesByAgency]
    seizures_by_drug: list[SeizuresByDrug]
    assets_by_status: list[AssetsByStatus]
    network: NetworkSize | None
    links_since_review: NewLinks


# --- helpers -----------------------------------------------------------------------------------


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus `months`, clamped to the month's last day (31 Aug + 6 months = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def review_due(tier: int, today: dt.date) -> str:
    return add_months(today, REVIEW_MONTHS[tier]).isoformat()


def parse_if_match(header: str | None) -> int | None:
    """`If-Match: 3`, `"3"` or `W/"3"` → 3; absent or `*` → None (no version check)."""
    if header is None or header.strip() in ("", "*"):
        return None
    value = header.strip()
    value = value.removeprefix("W/").strip('"')
    if not value.isdigit():
        raise ApiError(400, "invalid_if_match",
                       f"If-Match must be the entry's version number (its ETag), got {header!r}")
    return int(value)


def _etag(version: int) -> str:
    return f'"{version}"'


def _target_out(item: dict[str, Any], policy: Policy) -> TargetOut:
    today = _today().isoformat()
    entity = node_out(item["entity"], policy) if item.get("entity") else None
    return TargetOut(
        id=item["id"], status=item["status"], tier=item.get("tier"), proposed_tier=item.get("proposed_tier"),
        justification=item.get("justification"), entity_id=item.get("entity_id"),
        entity_type=item.get("entity_type"), entity=entity, entity_hidden=bool(item.get("entity_hidden")),
        lead_agency=item.get("lead_agency"), lead_unit=item.get("lead_unit"),
        lead_contact=policy.contact(item["lead_agency"]) if item.get("lead_agency") else None,
        proposed_by=ProposedBy(agency=item["proposed_by_agency"], unit=item.get("proposed_by_unit"),
                               sub=item.get("proposed_by_sub")),
        review_due=item.get("review_due"),
        overdue=bool(item.get("review_due")) and item["review_due"] < today,
        last_reviewed_at=item.get("last_reviewed_at"), neutralised_at=item.get("neutralised_at"),
        neutralised_case_ref=item.get("neutralised_case_ref"), territories=sorted(set(item.get("territories") or [])),
        version=item["version"], created_at=item["created_at"], updated_at=item["updated_at"],
        allowed_transitions=list(TRANSITIONS.get(item["status"], ())),
    )


def _not_found(target_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no priority target with id {target_id!r}")


def _require_central_manager(principal: Principal, policy: Policy) -> None:
    if not principal.is_central:
        raise ApiError(403, "forbidden",
                       f"only target managers of the central agency ({policy.central_agency}) change "
                       f"priority targets; agency {principal.agency!r} may propose them")


def _check_agency(policy: Policy, agency: str | None) -> None:
    if agency is not None and agency not in policy.agencies:
        raise ApiError(422, "unknown_agency", f"lead agency {agency!r} is not in the access policy",
                       {"known_agencies": sorted(policy.agencies)})


def _snapshot(props: dict[str, Any]) -> dict[str, Any]:
    """The entry as kept in a version: every stored field but the lock stamp, nulls dropped."""
    return {k: v for k, v in sorted(props.items()) if k != "locked_at" and v is not None}


async def _read_item(tx: AsyncManagedTransaction, target_id: str, viewer: dict[str, Any]) -> dict[str, Any] | None:
    row = await (await tx.run(q.GET_ENTRY, id=target_id, viewer=viewer,
                              public_statuses=q.PUBLIC_STATUSES)).single()
    return dict(row["item"]) if row else None


def _purpose(request: Request) -> str | None:
    return request.headers.get("x-purpose") or None


async def _apply(
    tx: AsyncManagedTransaction,
    *,
    target_id: str,
    principal: Principal,
    expected: int | None,
    kind: str,
    reason: str,
    decide: Any,
) -> dict[str, Any]:
    """Lock the entry, check the version, let `decide(props)` return (to_status, changes), write.

    Any ApiError raised here aborts the transaction: nothing is changed.
    """
    now = _now()
    if await (await tx.run(q.LOCK_ENTRY, id=target_id, now=now)).single() is None:
        raise _not_found(target_id)
    row = await (await tx.run(q.READ_ENTRY, id=target_id)).single()
    assert row is not None  # locked by this transaction
    props = dict(row["props"])
    current = int(props["version"])
    if expected is not None and expected != current:
        raise ApiError(412, "version_mismatch",
                       f"priority target {target_id!r} is at version {current}, not {expected}: "
                       "reload it and decide again",
                       {"current_version": current, "expected_version": expected},
                       headers={"ETag": _etag(current)})
    to_status, changes = await decide(props)
    changes = {**changes, "status": to_status, "version": current + 1, "updated_at": now}
    after = {**props, **changes}
    version = {
        "target_id": target_id, "version": current + 1, "at": now, "by_sub": principal.sub,
        "by_agency": principal.agency, "by_unit": principal.unit, "kind": kind, "reason": reason,
        "transition_from": props["status"], "transition_to": to_status,
        "values": json.dumps(_snapshot(after), ensure_ascii=False),
        "previous": json.dumps(_snapshot(props), ensure_ascii=False),
    }
    written = await (await tx.run(q.APPLY_CHANGE, id=target_id, expected=current, changes=changes,
                                  version=version)).single()
    if written is None:  # cannot happen under the lock; never write blind if it does
        raise ApiError(412, "version_mismatch", f"priority target {target_id!r} changed meanwhile")
    return props


# --- endpoints ---------------------------------------------------------------------------------


@router.post("", status_code=201, response_model=TargetOut, responses={
    **ERRORS, 404: {"description": "No entity with this id is known to the caller"},
    409: {"description": "The entity is already an active or suspended priority target"},
    422: {"description": "The entity is not a Person or a Network, or the body is invalid"}})
async def propose(body: ProposalIn, request: Request, response: Response,
                  principal: Principal = Depends(require("write")),
                  db: Database = Depends(get_db), policy: Policy = Depends(get_policy)) -> TargetOut:
    """Propose a Person or a Network as a priority target (any investigator).

    The entry starts as `proposed`, version 1, visible to the central agency and the proposer's
    agency until a target manager of the central agency activates or rejects it. The entity must
    be one the caller may know exists.
    """
    viewer = viewer_params(principal)

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        found = await (await tx.run(q.PROPOSAL_ENTITY, entity_id=body.entity_id, viewer=viewer)).single()
        if found is None:
            raise ApiError(404, "not_found", f"no entity with id {body.entity_id!r}")
        if found["type"] not in q.DESIGNABLE:
            raise ApiError(422, "not_designable",
                           f"a priority target designates a Person or a Network, not a {found['type']}",
                           {"entity_type": found["type"], "allowed": list(q.DESIGNABLE)})
        live = await (await tx.run(q.LIVE_DESIGNATION, entity_id=body.entity_id)).single()
        if live is not None:
            raise ApiError(409, "already_designated",
                           f"entity {body.entity_id!r} is already a priority target ({live['status']})",
                           {"target_id": live["id"], "status": live["status"]})
        now, target_id = _now(), str(uuid.uuid4())
        props = {
            "id": target_id, "entity_id": body.entity_id, "entity_type": found["type"], "status": "proposed",
            "tier": None, "proposed_tier": body.proposed_tier, "justification": body.justification,
            "lead_agency": None, "lead_unit": None, "proposed_by_agency": principal.agency,
            "proposed_by_unit": principal.unit, "proposed_by_sub": principal.sub, "review_due": None,
            "version": 1, "created_at": now, "updated_at": now,
        }
        version = {
            "target_id": target_id, "version": 1, "at": now, "by_sub": principal.sub,
            "by_agency": principal.agency, "by_unit": principal.unit, "kind": "proposal",
            "reason": body.justification, "transition_from": None, "transition_to": "proposed",
            "values": json.dumps(_snapshot(props), ensure_ascii=False), "previous": None,
        }
        await (await tx.run(q.CREATE_ENTRY, entity_id=body.entity_id, props=props, version=version)).consume()
        item = await _read_item(tx, target_id, viewer)
        assert item is not None  # the proposer's agency always sees its proposal
        return item

    item = await db.write(work)
    await request.app.state.audit.record(principal, "priority_target.propose",
                                         target_ids=[item["id"], body.entity_id], result_count=1,
                                         purpose=_purpose(request))
    response.headers["ETag"] = _etag(item["version"])
    return _target_out(item, policy)


@router.get("", response_model=TargetList, responses=ERRORS)
async def list_targets(
    request: Request,
    status: Status | None = Query(None, description="Only entries in this status"),
    tier: int | None = Query(None, ge=1, le=3),
    lead_agency: str | None = Query(None, max_length=100),
    territory: str | None = Query(None, max_length=200,
                                  description="Network territory, or a territory of the person's networks "
                                              "(case-insensitive)"),
    overdue: bool | None = Query(None, description="true: review_due before today; false: not overdue"),
    sort: Sort = Query("tier", description="tier, review_due or updated_at; prefix `-` for descending"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
) -> TargetList:
    """The national priority target list, filtered, sorted and paginated.

    Every agency sees active, suspended, neutralised and archived entries; proposals and
    rejected proposals only reach the central agency and the proposer's agency. Each entry
    embeds the designated entity as the caller may see it (a stub when restricted; hidden —
    `entity: null, entity_hidden: true` — when confidential to the caller).
    """
    total, items = await _fetch(db, principal, status=status, tier=tier, lead_agency=lead_agency,
                                territory=territory, overdue=overdue, sort=sort, limit=limit, offset=offset)
    await request.app.state.audit.record(principal, "priority_target.list", target_ids=[i["id"] for i in items],
                                         result_count=len(items), purpose=_purpose(request))
    return TargetList(items=[_target_out(i, policy) for i in items], total=total)


async def _fetch(db: Database, principal: Principal, *, status: str | None, tier: int | None,
                 lead_agency: str | None, territory: str | None, overdue: bool | None, sort: str,
                 limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    rows = await db.read_records(
        q.list_entries(sort), viewer=viewer_params(principal), public_statuses=q.PUBLIC_STATUSES,
        status=status, tier=tier, lead_agency=lead_agency, territory=territory, overdue=overdue,
        today=_today().isoformat(), limit=limit, offset=offset,
    )
    row = rows[0]
    return int(row["total"]), [dict(i) for i in row["items"]]


EXPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS, 403: {"description": "Missing role, or an entry's entity is another agency's item coded H2 "
                                   "(error `handling_h2`, its ids in `details`)"}}


async def _export_entries(request: Request, db: Database, principal: Principal, policy: Policy, action: str,
                          **filters: Any) -> list[dict[str, Any]]:
    """The entries of an export (CSV, HTML report), refused whole when one carries another
    agency's H2 item, audited under `action` once allowed."""
    _, items = await _fetch(db, principal, limit=EXPORT_MAX, offset=0, **filters)
    entries = [_target_out(i, policy).model_dump() for i in items]
    refuse_h2([e["entity"] for e in entries if e["entity"]], [], principal.agency)
    await request.app.state.audit.record(principal, action, target_ids=[i["id"] for i in items],
                                         result_count=len(items), purpose=_purpose(request))
    return entries


@router.get("/export.csv", response_class=Response, responses={
    **EXPORT_ERRORS, 200: {"content": {"text/csv": {}}, "description": "The list as CSV (UTF-8, one entry a line)"}})
async def export_csv(
    request: Request,
    status: Status | None = Query(None), tier: int | None = Query(None, ge=1, le=3),
    lead_agency: str | None = Query(None, max_length=100), territory: str | None = Query(None, max_length=200),
    overdue: bool | None = Query(None), sort: Sort = Query("tier"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
) -> Response:
    """The priority target list as CSV. Same filters and visibility as the list; at most 10 000 entries.

    Refused (403 `handling_h2`) when an entry's entity is another agency's item coded H2: an export
    is a dissemination, which H2 forbids without the owner's consent."""
    entries = await _export_entries(request, db, principal, policy, "priority_target.export_csv", status=status,
                                    tier=tier, lead_agency=lead_agency, territory=territory, overdue=overdue,
                                    sort=sort)
    return Response(reports.render_csv(entries), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="priority-targets.csv"'})


@router.get("/report.html", response_class=Response, responses={
    **EXPORT_ERRORS, 200: {"content": {"text/html": {}}, "description": "A printable report with inline SVG charts"}})
async def report_html(
    request: Request,
    status: Status | None = Query(None), tier: int | None = Query(None, ge=1, le=3),
    lead_agency: str | None = Query(None, max_length=100), territory: str | None = Query(None, max_length=200),
    overdue: bool | None = Query(None), sort: Sort = Query("tier"),
    principal: Principal = Depends(require("read")),
    db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
) -> Response:
    """A printable HTML report of the list for the annual threat assessment (measure 4).

    Counts by tier, status, lead agency and territory drawn as inline SVG bar charts (no script,
    no external resource), then the entries. Same filters and visibility as the list; refused
    (403 `handling_h2`) like the CSV when an entry's entity is another agency's H2 item.
    """
    entries = await _export_entries(request, db, principal, policy, "priority_target.report", status=status,
                                    tier=tier, lead_agency=lead_agency, territory=territory, overdue=overdue,
                                    sort=sort)
    filters = {"status": status, "tier": tier, "lead_agency": lead_agency, "territory": territory,
               "overdue": overdue}
    html = reports.render_html(entries, viewer_agency=principal.agency, generated_at=_now(),
                               filters={k: v for k, v in filters.items() if v is not None})
    return Response(html, media_type="text/html; charset=utf-8", headers={
        # The report is self-contained: forbid any script or external fetch if it is opened in a browser.
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    })


@router.get("/{target_id}", response_model=TargetOut, responses=ERRORS)
async def get_target(target_id: str, request: Request, response: Response,
                     principal: Principal = Depends(require("read")),
                     db: Database = Depends(get_db), policy: Policy = Depends(get_policy)) -> TargetOut:
    """One entry, with its designated entity as the caller may see it; `ETag` is its version."""
    viewer = viewer_params(principal)

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any] | None:
        return await _read_item(tx, target_id, viewer)

    item = await db.read(work)
    await request.app.state.audit.record(principal, "priority_target.read", target_ids=[target_id],
                                         result_count=1 if item else 0, purpose=_purpose(request))
    if item is None:
        raise _not_found(target_id)
    response.headers["ETag"] = _etag(item["version"])
    return _target_out(item, policy)


@router.post("/{target_id}/transitions", response_model=TargetOut, responses=CHANGE_ERRORS)
async def transition(target_id: str, body: TransitionIn, request: Request, response: Response,
                     principal: Principal = Depends(require("manage_targets")),
                     db: Database = Depends(get_db), policy: Policy = Depends(get_policy)) -> TargetOut:
    """Move an entry to another status (target managers of the central agency only).

    proposed → active | rejected; active → suspended | neutralised | archived;
    suspended → active | archived. Activation takes `tier` (default: the proposed tier) and needs
    `lead_agency` (kept from before on re-activation); neutralisation needs `neutralised_at` and
    `case_ref`. Send `If-Match: <version>` to change only the version you looked at: a stale one
    gets 412 and nothing changes. An illegal transition gets 409 with the allowed ones.
    """
    _require_central_manager(principal, policy)
    expected = parse_if_match(request.headers.get("if-match"))
    _check_agency(policy, body.lead_agency)
    viewer = viewer_params(principal)
    today = _today()

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        async def decide(props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
            current = props["status"]
            allowed = TRANSITIONS.get(current, ())
            if body.to not in allowed:
                raise ApiError(409, "illegal_transition",
                               f"a priority target cannot go from {current!r} to {body.to!r}; "
                               + (f"allowed: {', '.join(allowed)}" if allowed else f"{current!r} is final"),
                               {"from": current, "to": body.to, "allowed": list(allowed)})
            if body.to != "active" and (body.tier or body.lead_agency or body.lead_unit):
                raise ApiError(422, "unexpected_field",
                               "tier, lead_agency and lead_unit are set on activation (or by a review)",
                               {"to": body.to})
            if body.to != "neutralised" and (body.neutralised_at or body.case_ref):
                raise ApiError(422, "unexpected_field", "neutralised_at and case_ref belong to a neutralisation",
                               {"to": body.to})
            changes: dict[str, Any] = {}
            if body.to == "active":
                tier = int(body.tier or props.get("tier") or props["proposed_tier"])
                lead = body.lead_agency or props.get("lead_agency")
                if not lead:
                    raise ApiError(422, "lead_agency_required", "activation needs the lead_agency",
                                   {"known_agencies": sorted(policy.agencies)})
                other = await (await tx.run(q.OTHER_LIVE_DESIGNATION, entity_id=props["entity_id"],
                                            id=target_id)).single()
                if other is not None:
                    raise ApiError(409, "already_designated",
                                   f"the entity is already designated by priority target {other['id']!r} "
                                   f"({other['status']}); reject this one or archive that one",
                                   {"target_id": other["id"], "status": other["status"], "allowed": ["rejected"]
                                    if current == "proposed" else ["archived"]})
                changes = {"tier": tier, "lead_agency": lead,
                           "lead_unit": body.lead_unit or props.get("lead_unit"),
                           "review_due": review_due(tier, today), "last_reviewed_at": _now()}
            elif body.to == "neutralised":
                if body.neutralised_at is None or body.case_ref is None:
                    raise ApiError(422, "neutralisation_incomplete",
                                   "neutralising needs neutralised_at (YYYY-MM-DD) and case_ref",
                                   {"missing": [f for f in ("neutralised_at", "case_ref") if getattr(body, f) is None]})
                if body.neutralised_at > today:
                    raise ApiError(422, "neutralised_in_future", "neutralised_at cannot be in the future")
                changes = {"neutralised_at": body.neutralised_at.isoformat(), "neutralised_case_ref": body.case_ref}
            if body.to in TERMINAL:
                changes["review_due"] = None
            return body.to, changes

        await _apply(tx, target_id=target_id, principal=principal, expected=expected, kind="transition",
                     reason=body.reason, decide=decide)
        item = await _read_item(tx, target_id, viewer)
        assert item is not None  # the central agency sees every entry
        return item

    item = await db.write(work)
    await request.app.state.audit.record(principal, f"priority_target.transition.{body.to}",
                                         target_ids=[target_id], result_count=1, purpose=body.reason)
    response.headers["ETag"] = _etag(item["version"])
    return _target_out(item, policy)


@router.post("/{target_id}/reviews", response_model=TargetOut, responses=CHANGE_ERRORS)
async def review(target_id: str, body: ReviewIn, request: Request, response: Response,
                 principal: Principal = Depends(require("manage_targets")),
                 db: Database = Depends(get_db), policy: Policy = Depends(get_policy)) -> TargetOut:
    """Record the periodic review of an active entry (target managers of the central agency).

    Sets a new `review_due` from today (tier 1: 6 months, else 12), may change tier and lead,
    and starts a new window for the evidence panel's "links added since the last review".
    Honours `If-Match` like transitions; 409 when the entry is not active.
    """
    _require_central_manager(principal, policy)
    expected = parse_if_match(request.headers.get("if-match"))
    _check_agency(policy, body.lead_agency)
    viewer = viewer_params(principal)
    today = _today()

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        async def decide(props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
            if props["status"] != "active":
                allowed = list(TRANSITIONS.get(props["status"], ()))
                raise ApiError(409, "not_active",
                               f"only active priority targets are reviewed; this one is {props['status']!r}",
                               {"from": props["status"], "to": "active", "allowed": allowed})
            tier = int(body.tier or props["tier"])
            return "active", {"tier": tier, "lead_agency": body.lead_agency or props.get("lead_agency"),
                              "lead_unit": body.lead_unit or props.get("lead_unit"),
                              "review_due": review_due(tier, today), "last_reviewed_at": _now()}

        await _apply(tx, target_id=target_id, principal=principal, expected=expected, kind="review",
                     reason=body.reason, decide=decide)
        item = await _read_item(tx, target_id, viewer)
        assert item is not None
        return item

    item = await db.write(work)
    await request.app.state.audit.record(principal, "priority_target.review", target_ids=[target_id],
                                         result_count=1, purpose=body.reason)
    response.headers["ETag"] = _etag(item["version"])
    return _target_out(item, policy)


@router.get("/{target_id}/history", response_model=HistoryOut, responses=ERRORS)
async def history(target_id: str, request: Request, principal: Principal = Depends(require("read")),
                  db: Database = Depends(get_db)) -> HistoryOut:
    """Every version of the entry, oldest first: who, when, which transition, why, values before and after.

    Reasons and values are withheld (`redacted: true`) from viewers who may not see the
    designated entity in full (unless central or of the proposer's agency).
    """
    rows = await db.read_records(q.HISTORY, id=target_id, viewer=viewer_params(principal),
                                 public_statuses=q.PUBLIC_STATUSES)
    versions = [dict(v) for v in rows[0]["versions"]] if rows else []
    await request.app.state.audit.record(principal, "priority_target.history", target_ids=[target_id],
                                         result_count=len(versions), purpose=_purpose(request))
    if not versions:
        raise _not_found(target_id)
    for v in versions:
        v["values"] = json.loads(v["values"]) if v.get("values") else None
        v["previous"] = json.loads(v["previous"]) if v.get("previous") else None
    return HistoryOut(target_id=target_id, versions=[VersionOut.model_validate(v) for v in versions])


@router.get("/{target_id}/evidence", response_model=EvidenceOut, responses=ERRORS)
async def evidence(target_id: str, request: Request, principal: Principal = Depends(require("read")),
                   db: Database = Depends(get_db), policy: Policy = Depends(get_policy)) -> EvidenceOut:
    """The evidence panel, live from the graph.

    Cases linked to the entity (for a network: to it and its members) by owner agency, seizures
    by drug with total quantities (per unit), assets by status with total value, network size,
    and the links added since the last review. Counts and totals include items hidden from the
    caller when the policy's `statistics_count_all` is on (a hidden item's drug, status and
    value then still count, but show as `undisclosed` when it is off); the list of new links
    shows only what the caller may know. Empty when the entity is hidden from the caller.
    """
    viewer = viewer_params(principal)
    count_all = policy.statistics_count_all

    async def work(tx: AsyncManagedTransaction) -> EvidenceOut | None:
        head = await (await tx.run(q.EVIDENCE_ENTRY, id=target_id, viewer=viewer,
                                   public_statuses=q.PUBLIC_STATUSES)).single()
        if head is None:
            return None
        if not head["known"]:
            return EvidenceOut(target_id=target_id, entity_id=None, entity_type=None, entity_hidden=True,
                               statistics_count_all=count_all, since=None, cases_total=0, cases_by_agency=[],
                               seizures_by_drug=[], assets_by_status=[], network=None,
                               links_since_review=NewLinks(count=0, items=[]))
        params = {"entity_id": head["entity_id"], "viewer": viewer, "count_all": count_all, "since": head["since"]}

        async def rows(query: str, **extra: Any) -> list[dict[str, Any]]:
            return [r.data() async for r in await tx.run(query, {**params, **extra})]

        cases = [CasesByAgency(**r) for r in await rows(q.EVIDENCE_CASES)]
        seizures = [SeizuresByDrug(**r) for r in await rows(q.EVIDENCE_SEIZURES)]
        assets = [AssetsByStatus(**r) for r in await rows(q.EVIDENCE_ASSETS)]
        network = (await rows(q.EVIDENCE_NETWORK))[0]
        new_count = (await rows(q.EVIDENCE_NEW_LINKS_COUNT))[0]["links"]
        new_links = [
            {"edge": edge_out(r["edge"]), "source": node_out(r["source"], policy),
             "target": node_out(r["target"], policy), "created_at": r["created_at"]}
            for r in await rows(q.EVIDENCE_NEW_LINKS, limit=NEW_LINKS_SHOWN)
        ]
        return EvidenceOut(
            target_id=target_id, entity_id=head["entity_id"], entity_type=head["entity_type"],
            entity_hidden=False, statistics_count_all=count_all, since=head["since"],
            cases_total=sum(c.cases for c in cases), cases_by_agency=cases, seizures_by_drug=seizures,
            assets_by_status=assets, network=NetworkSize(**network),
            links_since_review=NewLinks(count=int(new_count), items=new_links),
        )

    out = await db.read(work)
    await request.app.state.audit.record(principal, "priority_target.evidence", target_ids=[target_id],
                                         result_count=1 if out else 0, purpose=_purpose(request))
    if out is None:
        raise _not_found(target_id)
    return out
