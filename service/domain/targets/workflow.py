"""The national priority target list (measure 17 of the national plan), maintained by OFAST.

Workflow: any investigator (permission `write`) proposes a Person or a Network; a
`target_manager` (permission `manage_targets`) of the **central** agency moves the entry
through its states (`service.domain.targets.rules`), records periodic reviews, and every change
is a new immutable version (who, when, why, the values before and after).

Concurrency: a change may carry `If-Match: <version>` (the `ETag` of the entry); the version is
checked under the entry's write lock inside the write transaction, so of two managers sending
the same version one succeeds and the other gets 412 with nothing changed.

What each agency sees (decided in the Cypher of `service.queries.priority_targets`):
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

Entries come back as the Cypher lays them out (`item` maps); the router shapes them for the API.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from neo4j import AsyncManagedTransaction

from service.access.auth import Principal
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.core import clock
from service.core.db import Database
from service.core.errors import ApiError
from service.domain.targets import rules
from service.domain.targets.models import Filters, ProposalIn, ReviewIn, TransitionIn
from service.queries import priority_targets as q

NEW_LINKS_SHOWN = 100

# `decide(tx, props)` → (status to move to, changes): the rule of one kind of change, run under the lock.
Decide = Callable[[AsyncManagedTransaction, dict[str, Any]], Awaitable[tuple[str, dict[str, Any]]]]


async def _read_item(tx: AsyncManagedTransaction, target_id: str, viewer: dict[str, Any]) -> dict[str, Any] | None:
    row = await (await tx.run(q.GET_ENTRY, id=target_id, viewer=viewer,
                              public_statuses=q.PUBLIC_STATUSES)).single()
    return dict(row["item"]) if row else None


def _version(target_id: str, number: int, now: str, principal: Principal, kind: str, reason: str,
             moves: tuple[str | None, str], after: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "target_id": target_id, "version": number, "at": now, "by_sub": principal.sub,
        "by_agency": principal.agency, "by_unit": principal.unit, "kind": kind, "reason": reason,
        "transition_from": moves[0], "transition_to": moves[1],
        "values": json.dumps(rules.snapshot(after), ensure_ascii=False),
        "previous": json.dumps(rules.snapshot(before), ensure_ascii=False) if before is not None else None,
    }


async def propose(db: Database, principal: Principal, body: ProposalIn) -> dict[str, Any]:
    """A new entry in `proposed`, version 1; 404 when the caller may not know the entity, 422 when it
    is neither a Person nor a Network, 409 when it is already a live priority target."""
    viewer = viewer_params(principal)

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        found = await (await tx.run(q.PROPOSAL_ENTITY, entity_id=body.entity_id, viewer=viewer)).single()
        if found is None:
            raise ApiError(404, "not_found", f"no entity with id {body.entity_id!r}")
        if found["type"] not in q.DESIGNABLE:
            raise ApiError(422, "not_designable",
                           f"a priority target designates a Person or a Network, not a {found['type']}",
                           {"entity_type": found["type"], "allowed": list(q.DESIGNABLE)})
        live = await (await tx.run(q.LIVE_DESIGNATION, entity_id=body.entity_id, except_id=None)).single()
        if live is not None:
            raise ApiError(409, "already_designated",
                           f"entity {body.entity_id!r} is already a priority target ({live['status']})",
                           {"target_id": live["id"], "status": live["status"]})
        now, target_id = clock.iso_now(), str(uuid.uuid4())
        props = {
            "id": target_id, "entity_id": body.entity_id, "entity_type": found["type"], "status": "proposed",
            "tier": None, "proposed_tier": body.proposed_tier, "justification": body.justification,
            "lead_agency": None, "lead_unit": None, "proposed_by_agency": principal.agency,
            "proposed_by_unit": principal.unit, "proposed_by_sub": principal.sub, "review_due": None,
            "version": 1, "created_at": now, "updated_at": now,
        }
        version = _version(target_id, 1, now, principal, "proposal", body.justification, (None, "proposed"),
                           props, None)
        await (await tx.run(q.CREATE_ENTRY, entity_id=body.entity_id, props=props, version=version)).consume()
        item = await _read_item(tx, target_id, viewer)
        assert item is not None  # the proposer's agency always sees its proposal
        return item

    return await db.write(work)


async def fetch(db: Database, principal: Principal, filters: Filters, limit: int,
                offset: int) -> tuple[int, list[dict[str, Any]]]:
    """(entries matching the filters, the page of them) as the caller may see them."""
    rows = await db.read_records(
        q.list_entries(filters.sort), viewer=viewer_params(principal), public_statuses=q.PUBLIC_STATUSES,
        status=filters.status, tier=filters.tier, lead_agency=filters.lead_agency, territory=filters.territory,
        overdue=filters.overdue, today=clock.today().isoformat(), limit=limit, offset=offset,
    )
    row = rows[0]
    return int(row["total"]), [dict(i) for i in row["items"]]


async def read(db: Database, principal: Principal, target_id: str) -> dict[str, Any] | None:
    viewer = viewer_params(principal)

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any] | None:
        return await _read_item(tx, target_id, viewer)

    return await db.read(work)


async def _change(db: Database, principal: Principal, policy: Policy, target_id: str, if_match: str | None,
                  lead_agency: str | None, kind: str, reason: str, decide: Decide) -> dict[str, Any]:
    """Lock the entry, check the version, let `decide(props)` say what changes, write the new version.

    Any ApiError raised here aborts the transaction: nothing is changed."""
    rules.require_central_manager(principal, policy)
    expected = rules.parse_if_match(if_match)
    rules.check_agency(policy, lead_agency)
    viewer = viewer_params(principal)

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        now = clock.iso_now()
        if await (await tx.run(q.LOCK_ENTRY, id=target_id, now=now)).single() is None:
            raise rules.not_found(target_id)
        row = await (await tx.run(q.READ_ENTRY, id=target_id)).single()
        assert row is not None  # locked by this transaction
        props = dict(row["props"])
        current = int(props["version"])
        if expected is not None and expected != current:
            raise ApiError(412, "version_mismatch",
                           f"priority target {target_id!r} is at version {current}, not {expected}: "
                           "reload it and decide again",
                           {"current_version": current, "expected_version": expected},
                           headers={"ETag": rules.etag(current)})
        to_status, changes = await decide(tx, props)
        changes = {**changes, "status": to_status, "version": current + 1, "updated_at": now}
        version = _version(target_id, current + 1, now, principal, kind, reason, (props["status"], to_status),
                           {**props, **changes}, props)
        written = await (await tx.run(q.APPLY_CHANGE, id=target_id, expected=current, changes=changes,
                                      version=version)).single()
        if written is None:  # cannot happen under the lock; never write blind if it does
            raise ApiError(412, "version_mismatch", f"priority target {target_id!r} changed meanwhile")
        item = await _read_item(tx, target_id, viewer)
        assert item is not None  # the central agency sees every entry
        return item

    return await db.write(work)


async def transition(db: Database, principal: Principal, policy: Policy, target_id: str, body: TransitionIn,
                     if_match: str | None) -> dict[str, Any]:
    """Move an entry to `body.to` (central target managers only); the entry after the change. An
    activation is refused (409) while another entry designates the same entity live."""

    async def decide(tx: AsyncManagedTransaction, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        changes = rules.transition_changes(props, body, policy, clock.today(), clock.iso_now())
        if body.to == "active":
            other = await (await tx.run(q.LIVE_DESIGNATION, entity_id=props["entity_id"],
                                        except_id=target_id)).single()
            if other is not None:
                raise ApiError(409, "already_designated",
                               f"the entity is already designated by priority target {other['id']!r} "
                               f"({other['status']}); reject this one or archive that one",
                               {"target_id": other["id"], "status": other["status"],
                                "allowed": ["rejected"] if props["status"] == "proposed" else ["archived"]})
        return body.to, changes

    return await _change(db, principal, policy, target_id, if_match, body.lead_agency, "transition", body.reason,
                         decide)


async def review(db: Database, principal: Principal, policy: Policy, target_id: str, body: ReviewIn,
                 if_match: str | None) -> dict[str, Any]:
    """Record the periodic review of an active entry; the entry after it."""

    async def decide(tx: AsyncManagedTransaction, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "active", rules.review_changes(props, body, clock.today(), clock.iso_now())

    return await _change(db, principal, policy, target_id, if_match, body.lead_agency, "review", body.reason,
                         decide)


async def history(db: Database, principal: Principal, target_id: str) -> list[dict[str, Any]]:
    """Every version the caller may see, oldest first, values decoded; empty when the entry is not visible."""
    rows = await db.read_records(q.HISTORY, id=target_id, viewer=viewer_params(principal),
                                 public_statuses=q.PUBLIC_STATUSES)
    versions = [dict(v) for v in rows[0]["versions"]] if rows else []
    for v in versions:
        v["values"] = json.loads(v["values"]) if v.get("values") else None
        v["previous"] = json.loads(v["previous"]) if v.get("previous") else None
    return versions


async def evidence(db: Database, principal: Principal, policy: Policy, target_id: str) -> dict[str, Any] | None:
    """The evidence panel's figures (`EvidenceOut` fields), live from the graph; None when the entry is
    not visible. The new links come as the Cypher lays them out (`edge`, `source`, `target`, `created_at`)."""
    viewer = viewer_params(principal)
    count_all = policy.statistics_count_all

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any] | None:
        head = await (await tx.run(q.EVIDENCE_ENTRY, id=target_id, viewer=viewer,
                                   public_statuses=q.PUBLIC_STATUSES)).single()
        if head is None:
            return None
        if not head["known"]:
            return {"target_id": target_id, "entity_id": None, "entity_type": None, "entity_hidden": True,
                    "statistics_count_all": count_all, "since": None, "cases_total": 0, "cases_by_agency": [],
                    "seizures_by_drug": [], "assets_by_status": [], "network": None,
                    "links_since_review": {"count": 0, "items": []}}
        params = {"entity_id": head["entity_id"], "viewer": viewer, "count_all": count_all, "since": head["since"]}

        async def rows(query: str, **extra: Any) -> list[dict[str, Any]]:
            return [r.data() async for r in await tx.run(query, {**params, **extra})]

        cases = await rows(q.EVIDENCE_CASES)
        return {
            "target_id": target_id, "entity_id": head["entity_id"], "entity_type": head["entity_type"],
            "entity_hidden": False, "statistics_count_all": count_all, "since": head["since"],
            "cases_total": sum(c["cases"] for c in cases), "cases_by_agency": cases,
            "seizures_by_drug": await rows(q.EVIDENCE_SEIZURES), "assets_by_status": await rows(q.EVIDENCE_ASSETS),
            "network": (await rows(q.EVIDENCE_NETWORK))[0],
            "links_since_review": {"count": int((await rows(q.EVIDENCE_NEW_LINKS_COUNT))[0]["links"]),
                                   "items": await rows(q.EVIDENCE_NEW_LINKS, limit=NEW_LINKS_SHOWN)},
        }

    return await db.read(work)
