"""/v1/priority-targets: the national priority target list (measure 17 of the national plan).

The workflow, its rules and who sees what are in `service.domain.targets` (`workflow`, `rules`,
`models`; the CSV and HTML renderings in `reports`). Here: parse the request, call the domain,
record the audit, shape the response (the designated entity as the caller may see it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.api.deps import OptionalPurpose, get_db, get_policy
from service.api.openapi import errors
from service.api.views import edge_out, node_out
from service.core import clock
from service.core.db import Database
from service.domain.explore.exports import refuse_h2
from service.domain.targets import models, reports, rules, workflow

router = APIRouter(prefix="/v1/priority-targets", tags=["priority targets"])

EXPORT_MAX = 10_000

NOT_FOUND = "No priority target with this id is visible to the caller"
ROLE_OR_AGENCY = "The caller's role or agency may not do this"
ERRORS = errors({404: NOT_FOUND})
CHANGE_ERRORS = errors({
    403: ROLE_OR_AGENCY, 404: NOT_FOUND,
    400: "If-Match is not a version number",
    409: "Transition not allowed from the current status; `details.allowed` lists those that are",
    412: "If-Match names a version that is no longer current; nothing was changed",
    422: "A field the transition needs is missing or invalid",
})
# Declared, so the OpenAPI document shows it; parsed by `rules.parse_if_match` (400 when no version).
IfMatch = Annotated[str | None, Header(alias="If-Match", description=(
    "The entry's version you decided on (its ETag: `3`, `\"3\"` or `W/\"3\"`); `*` or none: no check"))]
EXPORT_ERRORS = errors({403: "Missing role, or an entry's entity is another agency's item coded H2 "
                             "(error `handling_h2`, its ids in `details`)", 404: NOT_FOUND})


def _target_out(item: dict[str, Any], policy: Policy) -> models.TargetOut:
    today = clock.today().isoformat()
    entity = node_out(item["entity"], policy) if item.get("entity") else None
    return models.TargetOut(
        id=item["id"], status=item["status"], tier=item.get("tier"), proposed_tier=item.get("proposed_tier"),
        justification=item.get("justification"), entity_id=item.get("entity_id"),
        entity_type=item.get("entity_type"), entity=entity, entity_hidden=bool(item.get("entity_hidden")),
        lead_agency=item.get("lead_agency"), lead_unit=item.get("lead_unit"),
        lead_contact=policy.contact(item["lead_agency"]) if item.get("lead_agency") else None,
        proposed_by=models.ProposedBy(agency=item["proposed_by_agency"], unit=item.get("proposed_by_unit"),
                               sub=item.get("proposed_by_sub")),
        review_due=item.get("review_due"),
        overdue=bool(item.get("review_due")) and item["review_due"] < today,
        last_reviewed_at=item.get("last_reviewed_at"), neutralised_at=item.get("neutralised_at"),
        neutralised_case_ref=item.get("neutralised_case_ref"), territories=sorted(set(item.get("territories") or [])),
        version=item["version"], created_at=item["created_at"], updated_at=item["updated_at"],
        allowed_transitions=list(rules.TRANSITIONS.get(item["status"], ())),
    )


def _with_etag(response: Response, item: dict[str, Any], policy: Policy) -> models.TargetOut:
    response.headers["ETag"] = rules.etag(item["version"])
    return _target_out(item, policy)


@router.post("", status_code=201, response_model=models.TargetOut, responses=errors({
    403: ROLE_OR_AGENCY, 404: "No entity with this id is known to the caller",
    409: "The entity is already an active or suspended priority target",
    422: "The entity is not a Person or a Network, or the body is invalid"}))
async def propose(body: models.ProposalIn, request: Request, purpose: OptionalPurpose, response: Response,
                  principal: Principal = Depends(require("write")),
                  db: Database = Depends(get_db), policy: Policy = Depends(get_policy)) -> models.TargetOut:
    """Propose a Person or a Network as a priority target (any investigator).

    The entry starts as `proposed`, version 1, visible to the central agency and the proposer's
    agency until a target manager of the central agency activates or rejects it. The entity must
    be one the caller may know exists.
    """
    item = await workflow.propose(db, principal, body)
    await request.app.state.audit.record(principal, "priority_target.propose",
                                         target_ids=[item["id"], body.entity_id], result_count=1,
                                         purpose=purpose)
    return _with_etag(response, item, policy)


@router.get("", response_model=models.TargetList, responses=ERRORS)
async def list_targets(request: Request, purpose: OptionalPurpose, page: Annotated[models.Page, Query()],
                       principal: Principal = Depends(require("read")),
                       db: Database = Depends(get_db), policy: Policy = Depends(get_policy)) -> models.TargetList:
    """The national priority target list, filtered, sorted and paginated.

    Every agency sees active, suspended, neutralised and archived entries; proposals and
    rejected proposals only reach the central agency and the proposer's agency. Each entry
    embeds the designated entity as the caller may see it (a stub when restricted; hidden —
    `entity: null, entity_hidden: true` — when confidential to the caller).
    """
    total, items = await workflow.fetch(db, principal, page, page.limit, page.offset)
    await request.app.state.audit.record(principal, "priority_target.list", target_ids=[i["id"] for i in items],
                                         result_count=len(items), purpose=purpose)
    return models.TargetList(items=[_target_out(i, policy) for i in items], total=total)


async def _export_entries(request: Request, purpose: str | None, db: Database, principal: Principal, policy: Policy,
                          action: str, filters: models.Filters) -> list[dict[str, Any]]:
    """The entries of an export (CSV, HTML report), refused whole when one carries another
    agency's H2 item, audited under `action` once allowed."""
    _, items = await workflow.fetch(db, principal, filters, EXPORT_MAX, 0)
    entries = [_target_out(i, policy).model_dump() for i in items]
    refuse_h2([e["entity"] for e in entries if e["entity"]], [], principal.agency)
    await request.app.state.audit.record(principal, action, target_ids=[i["id"] for i in items],
                                         result_count=len(items), purpose=purpose)
    return entries


@router.get("/export.csv", response_class=Response, responses={
    **EXPORT_ERRORS, 200: {"content": {"text/csv": {}}, "description": "The list as CSV (UTF-8, one entry a line)"}})
async def export_csv(request: Request, purpose: OptionalPurpose, filters: Annotated[models.Filters, Query()],
                     principal: Principal = Depends(require("read")),
                     db: Database = Depends(get_db), policy: Policy = Depends(get_policy)) -> Response:
    """The priority target list as CSV. Same filters and visibility as the list; at most 10 000 entries.

    Refused (403 `handling_h2`) when an entry's entity is another agency's item coded H2: an export
    is a dissemination, which H2 forbids without the owner's consent."""
    entries = await _export_entries(request, purpose, db, principal, policy, "priority_target.export_csv", filters)
    return Response(reports.render_csv(entries), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="priority-targets.csv"'})


@router.get("/report.html", response_class=Response, responses={
    **EXPORT_ERRORS, 200: {"content": {"text/html": {}}, "description": "A printable report with inline SVG charts"}})
async def report_html(request: Request, purpose: OptionalPurpose, filters: Annotated[models.Filters, Query()],
                      principal: Principal = Depends(require("read")),
                      db: Database = Depends(get_db), policy: Policy = Depends(get_policy)) -> Response:
    """A printable HTML report of the list for the annual threat assessment (measure 4).

    Counts by tier, status, lead agency and territory drawn as inline SVG bar charts (no script,
    no external resource), then the entries. Same filters and visibility as the list; refused
    (403 `handling_h2`) like the CSV when an entry's entity is another agency's H2 item.
    """
    entries = await _export_entries(request, purpose, db, principal, policy, "priority_target.report", filters)
    html = reports.render_html(entries, viewer_agency=principal.agency, generated_at=clock.iso_now(),
                               filters=filters.model_dump(exclude={"sort"}, exclude_none=True))
    return Response(html, media_type="text/html; charset=utf-8", headers={
        # The report is self-contained: forbid any script or external fetch if it is opened in a browser.
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    })


@router.get("/{target_id}", response_model=models.TargetOut, responses=ERRORS)
async def get_target(target_id: str, request: Request, purpose: OptionalPurpose, response: Response,
                     principal: Principal = Depends(require("read")),
                     db: Database = Depends(get_db), policy: Policy = Depends(get_policy)) -> models.TargetOut:
    """One entry, with its designated entity as the caller may see it; `ETag` is its version."""
    item = await workflow.read(db, principal, target_id)
    await request.app.state.audit.record(principal, "priority_target.read", target_ids=[target_id],
                                         result_count=1 if item else 0, purpose=purpose)
    if item is None:
        raise rules.not_found(target_id)
    return _with_etag(response, item, policy)


@router.post("/{target_id}/transitions", response_model=models.TargetOut, responses=CHANGE_ERRORS)
async def transition(target_id: str, body: models.TransitionIn, request: Request, response: Response,
                     principal: Principal = Depends(require("manage_targets")),
                     db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
                     if_match: IfMatch = None) -> models.TargetOut:
    """Move an entry to another status (target managers of the central agency only).

    proposed → active | rejected; active → suspended | neutralised | archived;
    suspended → active | archived. Activation takes `tier` (default: the proposed tier) and needs
    `lead_agency` (kept from before on re-activation); neutralisation needs `neutralised_at` and
    `case_ref`. Send `If-Match: <version>` to change only the version you looked at: a stale one
    gets 412 and nothing changes. An illegal transition gets 409 with the allowed ones.
    """
    item = await workflow.transition(db, principal, policy, target_id, body, if_match)
    await request.app.state.audit.record(principal, f"priority_target.transition.{body.to}",
                                         target_ids=[target_id], result_count=1, purpose=body.reason)
    return _with_etag(response, item, policy)


@router.post("/{target_id}/reviews", response_model=models.TargetOut, responses=CHANGE_ERRORS)
async def review(target_id: str, body: models.ReviewIn, request: Request, response: Response,
                 principal: Principal = Depends(require("manage_targets")),
                 db: Database = Depends(get_db), policy: Policy = Depends(get_policy),
                 if_match: IfMatch = None) -> models.TargetOut:
    """Record the periodic review of an active entry (target managers of the central agency).

    Sets a new `review_due` from today (tier 1: 6 months, else 12), may change tier and lead,
    and starts a new window for the evidence panel's "links added since the last review".
    Honours `If-Match` like transitions; 409 when the entry is not active.
    """
    item = await workflow.review(db, principal, policy, target_id, body, if_match)
    await request.app.state.audit.record(principal, "priority_target.review", target_ids=[target_id],
                                         result_count=1, purpose=body.reason)
    return _with_etag(response, item, policy)


@router.get("/{target_id}/history", response_model=models.HistoryOut, responses=ERRORS)
async def history(target_id: str, request: Request, purpose: OptionalPurpose,
                  principal: Principal = Depends(require("read")), db: Database = Depends(get_db)) -> models.HistoryOut:
    """Every version of the entry, oldest first: who, when, which transition, why, values before and after.

    Reasons and values are withheld (`redacted: true`) from viewers who may not see the
    designated entity in full (unless central or of the proposer's agency).
    """
    versions = await workflow.history(db, principal, target_id)
    await request.app.state.audit.record(principal, "priority_target.history", target_ids=[target_id],
                                         result_count=len(versions), purpose=purpose)
    if not versions:
        raise rules.not_found(target_id)
    return models.HistoryOut(target_id=target_id, versions=[models.VersionOut.model_validate(v) for v in versions])


@router.get("/{target_id}/evidence", response_model=models.EvidenceOut, responses=ERRORS)
async def evidence(target_id: str, request: Request, purpose: OptionalPurpose,
                   principal: Principal = Depends(require("read")), db: Database = Depends(get_db),
                   policy: Policy = Depends(get_policy)) -> models.EvidenceOut:
    """The evidence panel, live from the graph.

    Cases linked to the entity (for a network: to it and its members) by owner agency, seizures
    by drug with total quantities (per unit), assets by status with total value, network size,
    and the links added since the last review. Counts and totals include items hidden from the
    caller when the policy's `statistics_count_all` is on (a hidden item's drug, status and
    value then still count, but show as `undisclosed` when it is off); the list of new links
    shows only what the caller may know. Empty when the entity is hidden from the caller.
    """
    found = await workflow.evidence(db, principal, policy, target_id)
    await request.app.state.audit.record(principal, "priority_target.evidence", target_ids=[target_id],
                                         result_count=1 if found else 0, purpose=purpose)
    if found is None:
        raise rules.not_found(target_id)
    links = found["links_since_review"]
    links["items"] = [{"edge": edge_out(r["edge"]), "source": node_out(r["source"], policy),
                       "target": node_out(r["target"], policy), "created_at": r["created_at"]}
                      for r in links["items"]]
    return models.EvidenceOut.model_validate(found)
