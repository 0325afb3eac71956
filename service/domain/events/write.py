"""One POST /v1/events batch's write transaction: probe, refuse or write, aggregate, alert — atomically.

The batch has been checked against the schema (`service.domain.events.models.build_plan`); here,
inside one write transaction (`Database.write`, which retries deadlocks):

1. ownership: event ids given by the caller are probed; another agency's event is refused (403,
   each item named), an id that is not the one the service derives is a 422, with every other error;
2. the identifiers the events name, merged as /v1/ingest merges them (same statement), then the
   places (the caller's Location entities), then the events, one `UNWIND` per kind, rows by id;
3. the agencies holding events are recorded on each identifier named (`event_agencies`,
   `event_agencies_known`): what lookups and alerts read instead of the events;
4. the derived CALLED / TRANSFERRED links: one statement per kind, counting the events created
   now (a re-push counts nothing), pairs sorted by their ends so locks come in one order;
5. `shared_identifier` alerts both ways and `late_hit` alerts, with the machinery of ingest
   (`service.domain.ingest.write.shared_identifier_alerts`, `service.domain.lifecycle.late_hits`);
   review dates for the places created or changed; `watch_hit` alerts for the watches on what the
   written events name (`service.domain.lifecycle.watches`).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from typing import Any

from neo4j import AsyncManagedTransaction

from graph_schema import get_schema
from service.access.auth import Principal
from service.access.policy import Policy
from service.core import clock, ids, metrics
from service.core.db import Database
from service.core.errors import ApiError
from service.domain.events.models import SECTION, EventPlan, EventRow, utc_text
from service.domain.ingest.models import content_hash
from service.domain.ingest.write import Written, run_upsert, shared_identifier_alerts, validation_error
from service.domain.lifecycle import late_hits, retention, watches
from service.queries import events_write as q
from service.queries import ingest as ingest_q

CODES = ("reliability", "accuracy", "handling", "handling_note")


def check_ownership(plan: EventPlan, agency: str, existing: dict[str, str]) -> None:
    """Another agency's event can never be modified: 403, naming each item; then every other error
    of the batch at once (422). `existing`: the owner of each probed event id."""
    forbidden, errors = [], list(plan.errors)
    for row in plan.events:
        if row.explicit_id is None:
            continue
        owner = existing.get(row.explicit_id)
        if owner is not None and owner != agency:
            forbidden.append({"section": SECTION, "index": row.index, "id": row.explicit_id,
                              "message": f"event {row.explicit_id} belongs to agency {owner!r}"})
        elif row.explicit_id != row.id:
            errors.append({"section": SECTION, "index": row.index, "field": "id",
                           "message": "does not match the event: ids are computed by the service"})
    if forbidden:
        items = ", ".join(f"events[{f['index']}] (id {f['id']})" for f in forbidden)
        raise ApiError(403, "forbidden", f"another agency's event can never be modified: {items}", forbidden)
    if errors:
        errors.sort(key=lambda e: (e["section"] != "batch", e["index"]))
        raise validation_error(errors)


def aggregate_id(agency: str, rel_type: str, src: str, dst: str, group: tuple[Any, ...]) -> str:
    """A derived link's id: prefixed so that no ingested link (`ids.link_id`) can take it."""
    return ids.uuid5("\x1f".join(["derived", agency, rel_type, src, dst, *(str(g) for g in group)]))


class EventsWork:
    """The transaction function of one batch (`Database.write` may run it again on a transient error)."""

    def __init__(self, plan: EventPlan, principal: Principal, policy: Policy, source: str | None) -> None:
        self.plan = plan
        self.principal = principal
        self.policy = policy
        self.source = source
        self.batch_id = str(uuid.uuid4())
        self.status: dict[str, str] = {}  # event id -> created | updated (absent: unchanged)
        self.alerts: dict[str, int] = {}

    async def __call__(self, tx: AsyncManagedTransaction) -> None:
        plan, agency = self.plan, self.principal.agency
        probe = sorted({row.explicit_id for row in plan.events if row.explicit_id})
        existing = ({r["id"]: r["owner"] async for r in await tx.run(q.PROBE_EVENTS, ids=probe)} if probe else {})
        check_ownership(plan, agency, existing)
        now = clock.iso_now()
        params = {"agency": agency, "unit": self.principal.unit, "source": self.source, "batch": self.batch_id,
                  "now": now}

        identifiers = await self._write_identifiers(tx, params)
        places = await self._write_places(tx, params)
        by_label: dict[str, dict[str, EventRow]] = defaultdict(dict)
        schema = get_schema()
        for row in plan.events:
            by_label[schema.events[row.kind].label].setdefault(row.id, row)
        self.status = {}
        for label, rows in sorted(by_label.items()):
            self.status.update(await run_upsert(tx, q.upsert_events(label), [
                {"id": k, "p": {**rows[k].p, "at": utc_text(rows[k].at)}} for k in sorted(rows)], params))
        written = [row for row in self._unique() if row.id in self.status]

        await self._record_agencies(tx, written)
        await self._aggregate(tx, [row for row in written if self.status[row.id] == "created"], params)
        named: dict[str, list[str]] = defaultdict(list)
        for row in written:
            for _, ident in row.parties.values():
                named[ident].append(row.id)
        groups = [{"identifier": i} for i in sorted(named) if identifiers.get(i) != "created"]
        shared = (await shared_identifier_alerts(tx, q.FIND_SHARED_IDENTIFIERS, groups, agency, self.policy, now)
                  if groups else 0)
        remembered = ([r["id"] async for r in await tx.run(q.REMEMBERED, ids=sorted(named), now=now, agency=agency)]
                      if named else [])
        late = await late_hits.raise_late_hits(
            tx, [{"identifier": i, "events": sorted(set(named[i]))} for i in sorted(remembered)], self.principal,
            self.policy, now, find=q.FIND_LATE_HITS)
        watched = await watches.raise_for_events(
            tx, {row.id: [i for _, i in row.parties.values()] + ([row.p["place_id"]] if row.p.get("place_id") else [])
                 for row in written}, self.principal, self.policy, now)
        await retention.set_review_dates(tx, sorted(places), self.policy.lifecycle)
        self.alerts = {"shared_identifier": shared, "late_hit": late, "watch_hit": watched}

    def _unique(self) -> list[EventRow]:
        """One row per event id (a repeat in the batch is the same event)."""
        return list({row.id: row for row in self.plan.events}.values())

    async def _write_identifiers(self, tx: AsyncManagedTransaction, params: dict[str, Any]) -> Written:
        by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for ident in sorted(self.plan.identifiers):
            found = self.plan.identifiers[ident]
            by_type[found["type"]].append({"id": ident, "value": found["value"], "p": found["props"]})
        written: Written = {}
        for type_name, rows in sorted(by_type.items()):  # as ingest: types in one order, rows by id
            written.update(await run_upsert(tx, ingest_q.upsert_identifiers(type_name), rows, params))
        return written

    async def _write_places(self, tx: AsyncManagedTransaction, params: dict[str, Any]) -> Written:
        if not self.plan.places:
            return {}
        codes = dict(zip(CODES, (*self.policy_codes(), None), strict=True))
        rows = []
        for place_id in sorted(self.plan.places):
            place = self.plan.places[place_id]
            given = {"kind": place.kind, **place.props}
            rows.append({"id": place.id, "ref": place.ref, "given": given,
                         "created": {"sharing": place.sharing, "search_text": "", **codes,
                                     "content_hash": content_hash(place.sharing, given, codes)}})
        return await run_upsert(tx, q.UPSERT_PLACES, rows, params)

    def policy_codes(self) -> tuple[str, str, str]:
        return self.policy.default_reliability, self.policy.default_accuracy, self.policy.default_handling

    async def _record_agencies(self, tx: AsyncManagedTransaction, written: list[EventRow]) -> None:
        pairs = sorted({(ident, row.p["sharing"]) for row in written for _, ident in row.parties.values()})
        if pairs:
            await (await tx.run(q.RECORD_EVENT_AGENCIES, rows=[{"id": i, "sharing": s} for i, s in pairs],
                                agency=self.principal.agency)).consume()

    async def _aggregate(self, tx: AsyncManagedTransaction, created: list[EventRow], params: dict[str, Any]) -> None:
        """The derived links of the events created now, one statement per relationship type."""
        schema, agency = get_schema(), self.principal.agency
        groups: dict[tuple[str, ...], dict[str, Any]] = {}
        for row in created:
            rel_type = schema.events[row.kind].aggregate
            if rel_type is None or "from" not in row.parties or "to" not in row.parties:
                continue
            src, dst = row.parties["from"][1], row.parties["to"][1]
            owned = (row.p["sharing"], *(row.p[c] for c in CODES))
            key = (rel_type, src, dst, *(str(o) for o in owned))
            group = groups.get(key)
            at = row.at
            amount = row.p.get("amount_eur")
            if group is None:
                groups[key] = {"rel": rel_type, "id": aggregate_id(agency, rel_type, src, dst, owned), "src": src,
                               "dst": dst, "count": 1, "first": at, "last": at, "amount_eur": amount,
                               "p": {"sharing": owned[0], **dict(zip(CODES, owned[1:], strict=True))}}
                continue
            group["count"] += 1
            group["first"], group["last"] = min(group["first"], at), max(group["last"], at)
            if amount is not None:
                group["amount_eur"] = (group["amount_eur"] or 0.0) + amount
        by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for group in groups.values():
            rel_type = group.pop("rel")
            group["first"], group["last"] = utc_text(group["first"]), utc_text(group["last"])
            by_type[rel_type].append(group)
        for rel_type, rows in sorted(by_type.items()):
            rows.sort(key=lambda g: (min(g["src"], g["dst"]), max(g["src"], g["dst"]), g["id"]))
            await (await tx.run(q.merge_aggregates(rel_type), rows=rows, **params)).consume()

    def response(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id,
                "events": [{"index": row.index, "id": row.id, "status": self.status.get(row.id, "unchanged")}
                           for row in self.plan.events]}

    def count(self) -> None:
        """Once committed: the events by status, the alerts by kind."""
        metrics.batch_committed(Counter(("event", self.status.get(row.id, "unchanged")) for row in self.plan.events),
                                self.alerts)


async def write_events(db: Database, plan: EventPlan, principal: Principal, policy: Policy,
                       source: str | None) -> dict[str, Any]:
    """Write the batch in one transaction (or nothing); the per-event result of POST /v1/events."""
    work = EventsWork(plan, principal, policy, source)
    await db.write(work)
    work.count()
    return work.response()
