"""The rules of the priority target list that need no database: the state machine, review dates,
who may change an entry, the `If-Match` version and what a version keeps.

    proposed  -> active | rejected
    active    -> suspended | neutralised (date and case reference required) | archived
    suspended -> active | archived

Review dates: activation (and re-activation, and each review) sets `review_due` to today + 6 months
for tier 1 and + 12 months for tiers 2 and 3. A suspended entry keeps its review date; a terminal
status (rejected, neutralised, archived) clears it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from service.access.auth import Principal
from service.access.policy import Policy
from service.core.clock import add_months
from service.core.errors import ApiError
from service.domain.targets.models import ReviewIn, TransitionIn

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


def review_due(tier: int, today: dt.date) -> str:
    return add_months(today, REVIEW_MONTHS[tier]).isoformat()


def parse_if_match(header: str | None) -> int | None:
    """`If-Match: 3`, `"3"` or `W/"3"` → 3; absent or `*` → None (no version check)."""
    if header is None or header.strip() in ("", "*"):
        return None
    value = header.strip()
    value = value.removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()):  # "²".isdigit() is true, and int() refuses it
        raise ApiError(400, "invalid_if_match",
                       f"If-Match must be the entry's version number (its ETag), got {header!r}")
    return int(value)


def etag(version: int) -> str:
    return f'"{version}"'


def snapshot(props: dict[str, Any]) -> dict[str, Any]:
    """The entry as kept in a version: every stored field but the lock stamp, nulls dropped."""
    return {k: v for k, v in sorted(props.items()) if k != "locked_at" and v is not None}


def not_found(target_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no priority target with id {target_id!r}")


def require_central_manager(principal: Principal, policy: Policy) -> None:
    if not principal.is_central:
        raise ApiError(403, "forbidden",
                       f"only target managers of the central agency ({policy.central_agency}) change "
                       f"priority targets; agency {principal.agency!r} may propose them")


def check_agency(policy: Policy, agency: str | None) -> None:
    if agency is not None and agency not in policy.agencies:
        raise ApiError(422, "unknown_agency", f"lead agency {agency!r} is not in the access policy",
                       {"known_agencies": sorted(policy.agencies)})


def transition_changes(props: dict[str, Any], body: TransitionIn, policy: Policy, today: dt.date,
                       now: str) -> dict[str, Any]:
    """What moving the stored entry `props` to `body.to` changes; 409 or 422 when it may not move so.

    An activation must still be checked against the entity's other live designations (a query)."""
    current = props["status"]
    allowed = TRANSITIONS.get(current, ())
    if body.to not in allowed:
        raise ApiError(409, "illegal_transition",
                       f"a priority target cannot go from {current!r} to {body.to!r}; "
                       + (f"allowed: {', '.join(allowed)}" if allowed else f"{current!r} is final"),
                       {"from": current, "to": body.to, "allowed": list(allowed)})
    if body.to != "active" and (body.tier or body.lead_agency or body.lead_unit):
        raise ApiError(422, "unexpected_field",
                       "tier, lead_agency and lead_unit are set on activation (or by a review)", {"to": body.to})
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
        changes = {"tier": tier, "lead_agency": lead, "lead_unit": body.lead_unit or props.get("lead_unit"),
                   "review_due": review_due(tier, today), "last_reviewed_at": now}
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
    return changes


def review_changes(props: dict[str, Any], body: ReviewIn, today: dt.date, now: str) -> dict[str, Any]:
    """What a periodic review of the stored entry `props` changes; 409 unless it is active."""
    if props["status"] != "active":
        allowed = list(TRANSITIONS.get(props["status"], ()))
        raise ApiError(409, "not_active",
                       f"only active priority targets are reviewed; this one is {props['status']!r}",
                       {"from": props["status"], "to": "active", "allowed": allowed})
    tier = int(body.tier or props["tier"])
    return {"tier": tier, "lead_agency": body.lead_agency or props.get("lead_agency"),
            "lead_unit": body.lead_unit or props.get("lead_unit"),
            "review_due": review_due(tier, today), "last_reviewed_at": now}
