"""Watches: "tell me when anything new touches this person, this phone, this search".

- `create` resolves what a watch names — an entity the caller may know exists, an identifier
  normalised as ingest normalises it (the watch names the identifier node's id, whether it
  exists yet or not), or a search's words folded as the search index folds them — and its expiry
  (policy section `watches`).
- `raise_for_links`, `raise_for_events` and `raise_for_entities` run in the writing transaction
  (ingest's hooks, the events writer), one statement per batch: each live watch of another agency
  that the batch's new or changed link or event touches, or whose search a new entity matches,
  gives its agency one `watch_hit` alert — when that agency may learn of the item (the rules of
  `service.access.visibility`, in `service.queries.watches`). The alert names the watched node
  (the new entity for a search), the writer's agency and its contact; nothing else. `pair_key`
  `watch:<watch id>:<item id>` makes it once per watch and item: a re-push, an update, a retry
  never alert again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from neo4j import AsyncManagedTransaction

from graph_schema import get_schema
from service.access.auth import Principal
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.core import clock
from service.core.db import Database
from service.core.errors import ApiError, not_found
from service.domain.explore.search import identifier, search_terms
from service.queries import alerts as alerts_q
from service.queries import watches as q


def expiry(policy: Policy, now: dt.datetime, expires_at: dt.datetime | None) -> dt.datetime:
    """The policy's default when none is asked; otherwise in the future and within `max_days`."""
    rules = policy.watches
    if expires_at is None:
        return now + dt.timedelta(days=rules.default_days)
    if expires_at.tzinfo is None:
        raise ApiError(422, "invalid_request", "expires_at needs a time zone (e.g. 2026-06-30T00:00:00Z)",
                       {"field": "expires_at"})
    if expires_at <= now:
        raise ApiError(422, "invalid_request", "expires_at is in the past: a watch watches what comes next",
                       {"field": "expires_at"})
    if expires_at > now + dt.timedelta(days=rules.max_days):
        raise ApiError(422, "invalid_request", f"expires_at is more than {rules.max_days} days away (the "
                       "policy's longest watch): watch again when it expires", {"field": "expires_at"})
    return expires_at.astimezone(dt.UTC)


async def target_props(db: Database, principal: Principal, target: dict[str, Any]) -> dict[str, Any]:
    """The stored description of what the watch names (`target`: exactly one of `entity_id`,
    `identifier` {type, value}, `search` {q, type})."""
    if target.get("entity_id") is not None:
        rows = await db.read_records(q.TARGET, id=target["entity_id"], viewer=viewer_params(principal))
        if not rows:
            raise not_found("entity", target["entity_id"])
        row = rows[0]
        if row["identifier"]:
            return {"kind": "identifier", "target_id": row["id"], "identifier_type": row["type"],
                    "value": row["value"]}
        return {"kind": "entity", "target_id": row["id"], "entity_type": row["type"]}
    if target.get("identifier") is not None:
        type_, value = target["identifier"]["type"], target["identifier"]["value"]
        normalised, ident = identifier(type_, value, where="target.identifier.")
        return {"kind": "identifier", "target_id": ident, "identifier_type": type_, "value": normalised}
    search = target["search"]
    terms = search_terms(search["q"])
    if not terms:
        raise ApiError(422, "invalid_request", "the search has no word to watch for (English stop words are "
                       "ignored)", {"field": "target.search.q"})
    type_ = search.get("type")
    if type_ is not None and type_ not in get_schema().entity_types:
        raise ApiError(422, "invalid_request", f"{type_!r} is not an entity type; one of: "
                       f"{', '.join(sorted(get_schema().entity_types))}", {"field": "target.search.type"})
    return {"kind": "search", "q": search["q"], "terms": terms, "anchor": max(terms, key=len), "entity_type": type_}


async def create(db: Database, principal: Principal, policy: Policy, target: dict[str, Any], purpose: str,
                 expires_at: dt.datetime | None) -> dict[str, Any]:
    now = clock.now()
    props = await target_props(db, principal, target)
    props |= {"purpose": purpose, "expires_at": expiry(policy, now, expires_at).isoformat(timespec="microseconds")}
    rows = await db.write_records(q.CREATE, agency=principal.agency, unit=principal.unit, sub=principal.sub,
                                  now=now.isoformat(timespec="microseconds"), props=props)
    watch: dict[str, Any] = rows[0]["watch"]
    return watch


async def delete(db: Database, principal: Principal, watch_id: str) -> dict[str, Any] | None:
    """Delete one of the agency's watches; the watch as it was (its purpose is audited), or None
    when the agency has no watch with this id."""
    rows = await db.write_records(q.DELETE, id=watch_id, agency=principal.agency, now=clock.iso_now())
    return dict(rows[0]["watch"]) if rows else None


async def _raise(tx: AsyncManagedTransaction, query: str, rows: list[dict[str, Any]], principal: Principal,
                 policy: Policy, now: str) -> int:
    if not rows:
        return 0
    found = [r.data() async for r in await tx.run(query, rows=rows, now=now, agency=principal.agency,
                                                   central_agency=policy.central_agency)]
    alerts: dict[str, dict[str, Any]] = {}
    for f in found:
        key = f"watch:{f['watch']}:{f['item']}"
        alerts[key] = {"pair_key": key, "kind": "watch_hit", "agency": f["agency"], "entity_id": f["entity"],
                       "identifier_id": f["entity"] if f["kind"] == "identifier" else None,
                       "counterpart_agency": f["owner"], "counterpart_contact": policy.contact(f["owner"]),
                       "purpose": None, "reasons": None, "match_id": None, "watch_id": f["watch"]}
    if not alerts:
        return 0
    summary = await (await tx.run(alerts_q.RAISE, alerts=[alerts[k] for k in sorted(alerts)], now=now)).consume()
    return summary.counters.nodes_created


async def raise_for_links(tx: AsyncManagedTransaction, links: Iterable[tuple[str, str, str]], principal: Principal,
                          policy: Policy, now: str) -> int:
    """`links`: (id, source id, target id) of each link the batch created or changed."""
    rows = [row for link, src, dst in links
            for row in ({"link": link, "end": src, "other": dst}, {"link": link, "end": dst, "other": src})]
    return await _raise(tx, q.LINK_HITS, rows, principal, policy, now)


async def raise_for_events(tx: AsyncManagedTransaction, events: dict[str, list[str]], principal: Principal,
                           policy: Policy, now: str) -> int:
    """`events`: {event id: the ids it names} for each event the batch created or changed."""
    rows = [{"event": e, "ends": sorted(set(events[e]))} for e in sorted(events)]
    return await _raise(tx, q.EVENT_HITS, rows, principal, policy, now)


async def raise_for_entities(tx: AsyncManagedTransaction, created: Iterable[tuple[str, str, str]],
                             principal: Principal, policy: Policy, now: str) -> int:
    """`created`: (id, type, search text) of each entity the batch created."""
    rows = [{"id": id_, "type": type_, "words": words} for id_, type_, text in created
            if (words := search_terms(text))]
    return await _raise(tx, q.SEARCH_HITS, rows, principal, policy, now)
