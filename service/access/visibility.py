"""The access rules as Cypher fragments, so every read path applies them inside its query.

Every query that uses these takes one parameter, `$viewer` = `viewer_params(principal)`:
`{agency: str, central: bool}`. Never filter results in Python instead: what the database
does not return cannot leak. Every fragment also takes the viewer as a Cypher expression
(`viewer=`, `$viewer` by default), for the queries that decide what *another* agency may know —
the other side of an alert, a match or a late hit: `viewer_of("o.owner_agency")` is that
agency's viewer map, so the same rule is spelled once for the caller and for anyone else.

- full(x):  the caller sees x in full — x is an identifier, or open, or the caller's agency owns
  it, is the central agency, or holds a grant.
- known(x): the caller may learn that x exists — full, or not confidential. A restricted item
  that is known but not full is shown as a stub.
- minors: a Person flagged `minor` (under 18 when pushed) is neither full nor known to any agency
  but its owner — the central agency and grantees included. Other agencies only get hit / no-hit
  on identifiers linked to it (`/v1/lookup`, which uses `node_hit` instead of `node_known`).
  Every read path that uses `node_full` / `node_known` therefore never returns, stubs, counts
  (outside `statistics_count_all`) or traverses a minor of another agency.
- events (calls, plate reads, transfers) follow the link rules (`event_full`, `event_known`).
- stubs carry the item's handling code (`handling`), never its content nor its handling note.
"""

from __future__ import annotations

from typing import Any

from service.access.auth import Principal
from service.access.policy import ACCURACY_CODES, RELIABILITY_CODES, Policy
from service.core.errors import ApiError


def viewer_params(principal: Principal) -> dict[str, Any]:
    return {"agency": principal.agency, "central": principal.is_central}


def full_without_grant(policy: Policy, agency: str, owner: str) -> bool:
    """`agency` sees an entity of `owner` in full whatever its sharing (as `node_full` decides, the
    minors rule aside, which no grant lifts): it is the owner or the central agency, so a grant
    would give it nothing."""
    return agency == owner or policy.is_central(agency)


def evaluation_params(min_reliability: str | None, min_accuracy: str | None) -> dict[str, str] | None:
    """`{min_reliability, min_accuracy}` for `node_evaluated` / `rel_evaluated`, or None when the
    caller filters on neither; a code outside the scale is the caller's mistake (422)."""
    if min_reliability is None and min_accuracy is None:
        return None
    reliability = (min_reliability or "X").strip().upper()
    accuracy = (min_accuracy or "4").strip()
    if reliability not in RELIABILITY_CODES:
        raise ApiError(422, "invalid_min_reliability",
                       f"min_reliability must be one of {', '.join(RELIABILITY_CODES)} (A best, X cannot be "
                       f"assessed; min_reliability=B keeps A and B), got {min_reliability!r}",
                       {"allowed": list(RELIABILITY_CODES)})
    if accuracy not in ACCURACY_CODES:
        raise ApiError(422, "invalid_min_accuracy",
                       f"min_accuracy must be one of {', '.join(ACCURACY_CODES)} (1 best, 4 cannot be judged; "
                       f"min_accuracy=2 keeps 1 and 2), got {min_accuracy!r}", {"allowed": list(ACCURACY_CODES)})
    return {"min_reliability": reliability, "min_accuracy": accuracy}


def viewer_of(agency: str) -> str:
    """The viewer map of another agency than the caller's, for the fragments' `viewer=`: `agency`
    is a Cypher expression (`o.owner_agency`, `$agency`); the query takes `$central_agency`."""
    return f"{{agency: {agency}, central: {agency} = $central_agency}}"


def grantees(var: str) -> str:
    """The agencies holding a grant on entity `var`: its `grantees` list, empty when none. The grant
    workflow writes it (`add_grantees`, `remove_grantee`) and these fragments read it; relationships
    never carry one."""
    return f"coalesce({var}.grantees, [])"


def add_grantees(var: str, agencies: str) -> str:
    """A SET item: the agencies of list expression `agencies` become grantees of entity `var`, once each."""
    return f"{var}.grantees = {grantees(var)} + [_a IN {agencies} WHERE NOT _a IN {grantees(var)}]"


def remove_grantee(var: str, agency: str) -> str:
    """A SET item: agency expression `agency` no longer holds a grant on entity `var`."""
    return f"{var}.grantees = [_a IN {grantees(var)} WHERE _a <> {agency}]"


def sharing_between(rel: str, a: str, b: str) -> str:
    """A SET item for a link the service itself draws between `a` and `b` (a judged SAME_AS): it is
    confidential when either end is, restricted otherwise, so it never shows more than its ends."""
    return (f"{rel}.sharing = CASE WHEN 'confidential' IN [{a}.sharing, {b}.sharing] THEN 'confidential' "
            f"ELSE 'restricted' END")


def _owned_full(var: str, viewer: str) -> str:
    return (f"({viewer}.central OR {var}.sharing = 'open' OR {var}.owner_agency = {viewer}.agency "
            f"OR {viewer}.agency IN {grantees(var)})")


def _minor_guard(var: str, viewer: str) -> str:
    """x is not flagged a minor (only Persons carry `minor`), or the viewer's agency owns it.

    A CASE on purpose: Neo4j 5.26's planner fails ("Property cannot be cast to ASTCachedProperty")
    on `a OR (b AND c)` shapes of property predicates inside a list comprehension's CASE, which
    is where `node_view` runs; a CASE is left alone by its boolean rewriting."""
    return f"(CASE WHEN {var}.minor = true THEN {var}.owner_agency = {viewer}.agency ELSE true END)"


def node_full(var: str, viewer: str = "$viewer") -> str:
    return f"(({var}:Identifier OR {_owned_full(var, viewer)}) AND {_minor_guard(var, viewer)})"


def node_known(var: str, viewer: str = "$viewer") -> str:
    return (f"(({var}:Identifier OR {var}.sharing <> 'confidential' OR {_owned_full(var, viewer)}) "
            f"AND {_minor_guard(var, viewer)})")


def node_hit(var: str, viewer: str = "$viewer") -> str:
    """node_known without the minors rule: for hit / no-hit answers only (`/v1/lookup`, late hits,
    shared-identifier alerts), which name the agencies holding data, never an id or a value."""
    return f"({var}:Identifier OR {var}.sharing <> 'confidential' OR {_owned_full(var, viewer)})"


def rel_full(var: str, viewer: str = "$viewer") -> str:
    return _owned_full(var, viewer)


def rel_known(var: str, viewer: str = "$viewer") -> str:
    """A link the viewer may know exists (and cross). A link derived from events (`derived`: the
    aggregated CALLED / TRANSFERRED) is known only to whoever sees it in full: crossing another
    agency's restricted one would show the counterpart number its calls withhold."""
    return (f"(({var}.sharing <> 'confidential' AND {var}.derived IS NULL) OR {_owned_full(var, viewer)})")


def node_view(var: str, viewer: str = "$viewer") -> str:
    """A map for `service.api.views.node_out`: all stored properties when full, a stub otherwise."""
    return (f"CASE WHEN {node_full(var, viewer)} THEN properties({var}) "
            f"ELSE {{id: {var}.id, type: {var}.type, owner_agency: {var}.owner_agency, "
            f"handling: coalesce({var}.handling, 'H0'), redacted: true}} END")


def agency_record(var: str, *fields: str, viewer: str = "$viewer") -> str:
    """The viewer reads workflow record `var` (an audit event, a match candidate, a proposal): the
    central agency reads them all, another agency those whose `fields` (default `agency`) name it.
    Such records are not owned data: they are about the agencies they name, and hold no sharing."""
    names = fields or ("agency",)
    return "(" + " OR ".join([f"{viewer}.central", *(f"{var}.{f} = {viewer}.agency" for f in names)]) + ")"


def agency_addressee(agencies: str, viewer: str = "$viewer") -> str:
    """The viewer reads a record sent to the agencies of list expression `agencies` (a dissemination):
    the central agency reads them all, another agency those sent to it."""
    return f"({viewer}.central OR {viewer}.agency IN {agencies})"


def rel_view(var: str, viewer: str = "$viewer") -> str:
    """A map for `service.api.views.edge_out`: `{props, type, source, target}`; props as in node_view."""
    return (f"{{props: CASE WHEN {rel_full(var, viewer)} THEN properties({var}) "
            f"ELSE {{id: {var}.id, owner_agency: {var}.owner_agency, handling: coalesce({var}.handling, 'H0'), "
            f"redacted: true}} END, "
            f"type: type({var}), source: startNode({var}).id, target: endNode({var}).id}}")


def event_full(var: str, viewer: str = "$viewer") -> str:
    """Event `var` (a call, plate read or transfer) seen in full: events are owned exactly as links
    are, and carry no minor flag (their parties are identifiers), so the link rule is theirs."""
    return rel_full(var, viewer)


def event_known(var: str, viewer: str = "$viewer") -> str:
    """The viewer may learn that event `var` exists (counted as withheld when not full)."""
    return rel_known(var, viewer)


def event_known_to_all(var: str) -> str:
    """Every agency may learn that event `var` exists (`event_known` for any viewer): it is not
    confidential. `var` is an event or a row map with its `sharing`. The event writer records the
    agencies with such an event on each identifier they name (`event_agencies_known`), and the
    agencies with any event (`event_agencies`), which `event_holders` reads."""
    return f"({var}.sharing <> 'confidential')"


def event_holders(ident: str, viewer: str = "$viewer") -> str:
    """The agencies holding events that name identifier `ident` and that the viewer may know exist,
    as `event_known` decides them (the owner and the central agency know every event; another
    agency those `event_known_to_all`), read from the identifier's lists, not from the events."""
    return (f"[_a IN coalesce({ident}.event_agencies, []) WHERE {viewer}.central OR _a = {viewer}.agency "
            f"OR _a IN coalesce({ident}.event_agencies_known, [])]")


def event_view(var: str, viewer: str = "$viewer") -> str:
    """A map of event `var`: all stored properties when full; otherwise a stub naming no time, no
    party and no place — only what a withheld count already says."""
    return (f"CASE WHEN {event_full(var, viewer)} THEN properties({var}) "
            f"ELSE {{id: {var}.id, kind: {var}.kind, owner_agency: {var}.owner_agency, "
            f"handling: coalesce({var}.handling, 'H0'), redacted: true}} END")


# Evaluation filters (`min_reliability`, `min_accuracy`): parameters `$min_reliability` (A, B, C
# or X) and `$min_accuracy` ("1".."4"); the codes are strings whose order is best first, so
# "at least B" is `<= 'B'`. Items stored before the codes existed read as X and 4. Only items
# the caller sees in full can pass: a stub's codes are not the caller's to know (a filter that
# kept or dropped it by its codes would reveal them), so a filtered traversal leaves stubs out.


def node_evaluated(var: str, viewer: str = "$viewer") -> str:
    """x is an identifier (no codes), or an entity seen in full whose codes meet the minimums."""
    return (f"({node_full(var, viewer)} AND CASE WHEN {var}:Identifier THEN true ELSE "
            f"coalesce({var}.reliability, 'X') <= $min_reliability AND coalesce({var}.accuracy, '4') <= $min_accuracy "
            f"END)")


def rel_evaluated(var: str, viewer: str = "$viewer") -> str:
    """r is seen in full and its codes meet the minimums."""
    return (f"({rel_full(var, viewer)} AND coalesce({var}.reliability, 'X') <= $min_reliability "
            f"AND coalesce({var}.accuracy, '4') <= $min_accuracy)")
