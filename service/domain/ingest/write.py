"""One ingest batch's write transaction: probe what exists, refuse or write, raise alerts — atomically.

The batch has been checked against the schema (`service.domain.ingest.models.build_plan`); here,
inside one write transaction:

1. ownership: the ids the batch names are probed; another agency's entity is refused (403, each
   item named), and a link end that is neither in the batch nor the caller's stored entity is a 422;
   so is a value that only moves forward (graph_schema `progression`: an Asset's status) moving
   back from the stored one, read under the items' write locks;
2. writes, in an order that keeps links valid and locks predictable: identifiers first (links need
   both ends), then entities, then links, one `UNWIND` per label or type in type order, rows sorted
   by id (links by their pair of ends) so concurrent batches take locks in one order. Batches on the
   same hub identifiers can still deadlock on the hubs' relationship-group locks;
   `Database.write` retries them. Write-locking the batch's identifiers up front, in order,
   removed the deadlocks but serialised every batch on a hub, and measured slower;
3. `shared_identifier` alerts for both sides of each (own entity, identifier) pair the batch linked;
4. the lifecycle hooks (`service.domain.ingest.hooks`: late hits, person matching, watches); review
   dates are set by the entity upserts themselves.

Every time written in the transaction is one reading of the service clock. The metrics
(`service.core.metrics`) count once the transaction has committed, so a retried or refused batch
counts nothing twice.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from typing import Any

from neo4j import AsyncManagedTransaction

from graph_schema import get_schema
from service.access.auth import Principal
from service.access.policy import Policy
from service.core import clock, metrics
from service.core.db import Database
from service.core.errors import ApiError
from service.domain.ingest import hooks
from service.domain.ingest.models import EntityRow, LinkRow, Plan
from service.domain.lifecycle import retention
from service.queries import ingest as q

Written = dict[str, str]  # {id: "created" | "updated"} for the rows a statement wrote (others unchanged)


def validation_error(errors: list[dict[str, Any]]) -> ApiError:
    return ApiError(422, "validation_error",
                    f"the batch has {len(errors)} invalid item(s); nothing was written", errors)


def check_ownership(plan: Plan, agency: str, existing: dict[str, dict[str, Any]]) -> None:
    """Another agency's data can never be modified: refuse (403), naming each item; then every
    other error of the batch at once (422). `existing`: the probed nodes by id."""
    forbidden = []
    errors = list(plan.errors)
    for row in plan.entities:
        if row.explicit_id is None:
            continue
        found = existing.get(row.explicit_id)
        if found is not None and not found["identifier"] and found["owner"] != agency:
            forbidden.append({"section": "entities", "index": row.index, "id": row.explicit_id,
                              "message": f"entity {row.explicit_id} belongs to agency {found['owner']!r}"})
        elif row.explicit_id != row.id:
            errors.append({"section": "entities", "index": row.index, "field": "id",
                           "message": "does not match type and ref: ids are computed by the service"})
    if forbidden:
        items = ", ".join(f"entities[{f['index']}] (id {f['id']})" for f in forbidden)
        raise ApiError(403, "forbidden", f"another agency's entity can never be modified: {items}", forbidden)
    for link in plan.links:
        for field_, end_id in link.owned_ends:
            found = existing.get(end_id)
            if found is None or found["owner"] != agency:
                errors.append({"section": "links", "index": link.index, "field": field_,
                               "message": "no such entity of yours, neither in this batch nor stored"})
    if errors:
        errors.sort(key=lambda e: (e["section"] != "batch", e["section"] != "entities", e["index"]))
        raise validation_error(errors)


def progressing_rows(plan: Plan) -> list[EntityRow]:
    """The batch's items of a type with properties that only move forward (graph_schema `progression`)."""
    schema = get_schema()
    return [row for row in plan.entities if not row.identifier and schema.nodes[row.type].progression]


def check_progression(rows: list[EntityRow], stored: dict[str, dict[str, Any]]) -> None:
    """Refuse (422, each item named) a value moving back from the stored one; `stored`:
    {id: {property: value}} of the stored items. (An item named twice in a batch is identical.)"""
    schema = get_schema()
    errors = []
    for row in rows:
        node = schema.nodes[row.type]
        before = stored.get(row.id, {})
        for prop, steps in node.progression.items():
            given = row.props.get(prop)
            if row.id in stored and node.moves_back(prop, before.get(prop), given):
                path = " → ".join(" or ".join(step) for step in steps)
                errors.append({"section": "entities", "index": row.index, "field": f"properties.{prop}",
                               "message": f"{prop} cannot move back from {before.get(prop) or steps[0][0]} to "
                                          f"{given or steps[0][0]} (the steps go {path}, the last ones final)"})
    if errors:
        raise validation_error(errors)


def shared_pairs(plan: Plan, written: Written, links_written: Written) -> list[tuple[str, str]]:
    """The (own entity, identifier) pairs this batch linked. An identifier this transaction created
    has no other agency's links yet: skipped."""
    schema = get_schema()
    pairs: set[tuple[str, str]] = set()
    for link in plan.links:
        if link.id not in links_written:
            continue
        src_ident = schema.nodes[link.src_type].is_identifier
        if src_ident != schema.nodes[link.dst_type].is_identifier:
            entity, identifier = (link.dst, link.src) if src_ident else (link.src, link.dst)
            if written.get(identifier) != "created":
                pairs.add((entity, identifier))
    return sorted(pairs)


async def run_upsert(tx: AsyncManagedTransaction, query: str, rows: list[dict[str, Any]],
                     params: dict[str, Any]) -> Written:
    """Run one upsert of `service.queries.ingest` shape (its record: the ids created, those updated);
    what it wrote."""
    record = await (await tx.run(query, rows=rows, **params)).single()
    if record is None:
        return {}
    return {**dict.fromkeys(record["updated"], "updated"), **dict.fromkeys(record["created"], "created")}


async def shared_identifier_alerts(tx: AsyncManagedTransaction, query: str, groups: list[dict[str, Any]],
                                   agency: str, policy: Policy, now: str) -> int:
    """Run `query` (FIND_SHARED_IDENTIFIERS or its events twin) over `groups` for the batch of
    `agency` and merge a `shared_identifier` alert for each side that may know, once per (recipient,
    counterpart, identifier); the number newly created. The query's rows name the identifier, each
    side's smallest entity (`entity`, `their_entity`), the other agency and whether each side may know."""
    result = await tx.run(query, groups=groups, agency=agency, central_agency=policy.central_agency)
    alerts: dict[str, dict[str, Any]] = {}

    def add(recipient: str, counterpart: str, entity: str, identifier: str) -> None:
        key = f"shared_identifier|{recipient}|{counterpart}|{identifier}"
        known = alerts.get(key)
        if known is None or entity < known["entity_id"]:  # deterministic: the smallest id
            alerts[key] = {"pair_key": key, "agency": recipient, "entity_id": entity, "identifier_id": identifier,
                           "counterpart_agency": counterpart, "counterpart_contact": policy.contact(counterpart)}

    async for r in result:
        if r["we_may_know"]:
            add(agency, r["other"], r["entity"], r["identifier"])
        if r["they_may_know"]:
            add(r["other"], agency, r["their_entity"], r["identifier"])
    if not alerts:
        return 0
    rows = [alerts[k] for k in sorted(alerts)]
    summary = await (await tx.run(q.MERGE_ALERTS, alerts=rows, now=now)).consume()
    return summary.counters.nodes_created


class IngestWork:
    """The transaction function of one batch (`Database.write` may run it again on a transient error)."""

    def __init__(self, plan: Plan, principal: Principal, policy: Policy, source: str | None) -> None:
        self.plan = plan
        self.principal = principal
        self.policy = policy
        self.source = source
        self.batch_id = str(uuid.uuid4())
        self.entity_status: dict[int, str] = {}
        self.link_status: dict[int, str] = {}
        self.alerts: dict[str, int] = {}  # alerts this run created, by kind

    def _params(self) -> dict[str, Any]:
        # `due` / `minor_due`: the review dates the entity upserts give what they create or change.
        return {"agency": self.principal.agency, "unit": self.principal.unit, "source": self.source,
                "batch": self.batch_id, "now": clock.iso_now(), **retention.review_dates(self.policy.lifecycle)}

    async def _run(self, tx: AsyncManagedTransaction, query: str, rows: list[dict[str, Any]],
                   params: dict[str, Any]) -> Written:
        return await run_upsert(tx, query, rows, params)

    async def __call__(self, tx: AsyncManagedTransaction) -> None:
        plan = self.plan
        probe_ids = {row.explicit_id for row in plan.entities if row.explicit_id}
        probe_ids.update(end_id for link in plan.links for _, end_id in link.owned_ends)
        existing: dict[str, dict[str, Any]] = {}
        if probe_ids:
            result = await tx.run(q.PROBE_NODES, ids=sorted(probe_ids))
            existing = {r["id"]: r.data() async for r in result}
        check_ownership(plan, self.principal.agency, existing)
        progressing = progressing_rows(plan)
        if progressing:
            await self._check_progression(tx, progressing)

        params = self._params()
        written = await self._write_entities(tx, params)
        self.entity_status = {row.index: written.get(row.id, "unchanged") for row in plan.entities}
        links_written = await self._write_links(tx, params)
        self.link_status = {link.index: links_written.get(link.id, "unchanged") for link in plan.links}

        pairs = shared_pairs(plan, written, links_written)
        shared = await self._alert(tx, pairs, params["now"]) if pairs else 0
        raised = await hooks.after_ingest(tx, plan, self.principal, self.policy, written, links_written,
                                          params["now"])
        self.alerts = {"shared_identifier": shared, **raised}

    @staticmethod
    async def _check_progression(tx: AsyncManagedTransaction, rows: list[EntityRow]) -> None:
        """Before any write: the stored values under the items' write locks, then the check."""
        ids = sorted({row.id for row in rows})
        props = sorted({p for row in rows for p in get_schema().nodes[row.type].progression})
        await (await tx.run(q.LOCK_PROGRESSING, ids=ids)).consume()
        result = await tx.run(q.READ_PROGRESSING, ids=ids, props=props)
        stored = {r["id"]: dict(zip(props, r["stored"], strict=True)) async for r in result}
        check_progression(rows, stored)

    async def _write_entities(self, tx: AsyncManagedTransaction, params: dict[str, Any]) -> Written:
        """Identifiers (with those only named as link ends), then owned entities; one statement per type."""
        identifiers: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        # By id: an item repeated in the batch is one row per index in the plan, written once.
        entities: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        schema = get_schema()
        for row in self.plan.entities:
            if row.identifier:
                identifiers[row.type].setdefault(row.id, {"id": row.id, "value": row.ref, "p": row.props})
            else:
                props = dict.fromkeys(schema.nodes[row.type].properties)
                props.update(row.props, sharing=row.sharing, content_hash=row.hash, search_text=row.search,
                             **row.codes)
                entities[row.type][row.id] = {"id": row.id, "ref": row.ref, "p": props, "minor": row.minor}
        for row in self.plan.extra_identifiers.values():
            identifiers[row.type].setdefault(row.id, {"id": row.id, "value": row.ref, "p": {}})
        written: Written = {}
        # Types in one order too: concurrent batches create new identifiers (unique-index locks) in one order.
        for type_name, by_id in sorted(identifiers.items()):
            rows = [by_id[k] for k in sorted(by_id)]
            written.update(await self._run(tx, q.upsert_identifiers(type_name), rows, params))
        for type_name, by_id in sorted(entities.items()):
            rows = [by_id[k] for k in sorted(by_id)]
            written.update(await self._run(tx, q.upsert_entities(type_name), rows, params))
        return written

    async def _write_links(self, tx: AsyncManagedTransaction, params: dict[str, Any]) -> Written:
        schema = get_schema()
        by_type: dict[str, dict[str, LinkRow]] = defaultdict(dict)
        for link in self.plan.links:
            by_type[link.type][link.id] = link
        links_written: Written = {}
        for rel_type, links in sorted(by_type.items()):
            declared = schema.relationships[rel_type].properties
            rows = []
            # By the pair of ends, whichever the direction: both ends' locks in one order.
            for link in sorted(links.values(), key=lambda link: (min(link.src, link.dst), max(link.src, link.dst),
                                                                  link.id)):
                props = dict.fromkeys(declared)
                props.update(link.props, sharing=link.sharing, content_hash=link.hash, **link.codes)
                rows.append({"id": link.id, "src": link.src, "dst": link.dst, "p": props})
            links_written.update(await self._run(tx, q.upsert_links(rel_type), rows, params))
        return links_written

    async def _alert(self, tx: AsyncManagedTransaction, pairs: list[tuple[str, str]], now: str) -> int:
        """Raise `shared_identifier` alerts for both sides, once per (recipient, counterpart, identifier);
        the number newly created."""
        by_identifier: dict[str, list[str]] = defaultdict(list)
        for entity, identifier in pairs:  # sorted: each identifier's entities sorted too
            by_identifier[identifier].append(entity)
        groups = [{"identifier": i, "entities": by_identifier[i]} for i in sorted(by_identifier)]
        return await shared_identifier_alerts(tx, q.FIND_SHARED_IDENTIFIERS, groups, self.principal.agency,
                                              self.policy, now)

    def response(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "entities": [{"index": row.index, "type": row.type, "ref": row.ref, "id": row.id,
                          "status": self.entity_status[row.index]} for row in self.plan.entities],
            "links": [{"index": link.index, "id": link.id, "status": self.link_status[link.index]}
                      for link in self.plan.links],
        }

    def count(self) -> None:
        """Once committed: the items by kind and status, the alerts by kind."""
        items = Counter(("identifier" if row.identifier else "entity", self.entity_status[row.index])
                        for row in self.plan.entities)
        items.update(("link", self.link_status[link.index]) for link in self.plan.links)
        metrics.batch_committed(items, self.alerts)


async def ingest(db: Database, plan: Plan, principal: Principal, policy: Policy,
                 source: str | None) -> dict[str, Any]:
    """Write the batch in one transaction (or nothing); the per-item result of POST /v1/ingest."""
    work = IngestWork(plan, principal, policy, source)
    await db.write(work)
    work.count()
    return work.response()
