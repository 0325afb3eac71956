"""What the lifecycle features do inside an ingest transaction — one call from
`service.domain.ingest.write.IngestWork`, so it commits (or not) with the batch and is never lost:

1. review dates (`service.domain.lifecycle.retention`): entities created or changed are due for review anew —
   set by the entity upserts themselves (`service.queries.ingest.upsert_entities`), no statement here;
2. late hits (`service.domain.lifecycle.late_hits`): links written to an identifier meet the remembered no-hit
   lookups of other agencies;
3. person matching (`service.domain.lifecycle.matching`): persons created or changed, or newly linked to an
   identifier, are compared with other agencies' persons of the same birth date or identifier;
4. watches (`service.domain.lifecycle.watches`): links created or changed on a watched entity or
   identifier, and entities created matching a search watch, alert the watchers' agencies.

Late hits and matching have a budget per batch (policy section `lifecycle`, `hook_max_*`), measured
before they run (`service.queries.hook_queue.BUDGET`: the links of hub identifiers they would
walk). Past it, the batch still commits, and the hook's work is written in its transaction to the
durable queue (`service.domain.lifecycle.queue`) that finishes it: an ingest never fails because
its data is popular. The same statement tells which hooks have nothing to do — no live watch of
another agency, no memory on the identifiers linked — and those run no statement at all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from neo4j import AsyncManagedTransaction

from graph_schema import get_schema
from service.access.auth import Principal
from service.access.policy import Policy
from service.domain.ingest.models import Plan
from service.domain.lifecycle import late_hits, matching, queue, watches
from service.queries import hook_queue as queue_q


async def after_ingest(tx: AsyncManagedTransaction, plan: Plan, principal: Principal, policy: Policy,
                       written: dict[str, str], links_written: dict[str, str], now: str) -> dict[str, int]:
    """`written` / `links_written`: {id: "created" | "updated"} of the entities and links the batch wrote;
    `now`: the batch's time. Returns the alerts created, by kind."""
    schema = get_schema()
    persons = {row.id for row in plan.entities if row.type == "Person" and row.id in written}
    ident_links = []
    for link in plan.links:
        if link.id not in links_written:
            continue
        src_ident, dst_ident = schema.nodes[link.src_type].is_identifier, schema.nodes[link.dst_type].is_identifier
        for ident, end in ((src_ident, link.src), (dst_ident, link.dst)):
            if ident:
                ident_links.append({"identifier": end, "link": link.id})
        if src_ident != dst_ident:
            own, own_type = (link.dst, link.dst_type) if src_ident else (link.src, link.src_type)
            if own_type == "Person":
                persons.add(own)
    person_ids = sorted(persons)
    changed_links = [(link.id, link.src, link.dst) for link in plan.links if link.id in links_written]
    created = sorted({(row.id, row.type, row.search) for row in plan.entities
                      if not row.identifier and written.get(row.id) == "created"})
    probe = await probe_hooks(tx, person_ids, ident_links, bool(changed_links or created), principal, policy, now)
    size = policy.lifecycle.hook_task_size
    tasks = []
    if probe.defer_matching:
        tasks += queue.tasks_for("matching", "persons", person_ids, size, now=now)
    if probe.defer_late_hits:
        tasks += queue.tasks_for("late_hits", "rows", ident_links, size, agency=principal.agency,
                                 unit=principal.unit, now=now)
    await queue.enqueue(tx, tasks, now)
    watched = 0
    if probe.watched:
        watched = (await watches.raise_for_links(tx, changed_links, principal, policy, now)
                   + await watches.raise_for_entities(tx, created, principal, policy, now))
    late = 0
    if not probe.defer_late_hits:
        remembered = [row for row in ident_links if row["identifier"] in probe.remembered]
        late = await late_hits.raise_late_hits(tx, remembered, principal, policy, now)
    return {"late_hit": late,
            "possible_match": 0 if probe.defer_matching else await matching.detect(tx, person_ids, policy, now),
            "watch_hit": watched}


@dataclass(frozen=True)
class HookProbe:
    """What `BUDGET` read for the hooks of one batch: whether matching and late hits are past their
    budget (deferred to the queue), the identifiers an unexpired memory of another agency remembers
    (late hits find nothing elsewhere), whether any live watch of another agency exists."""
    defer_matching: bool
    defer_late_hits: bool
    remembered: frozenset[str]
    watched: bool


async def probe_hooks(tx: AsyncManagedTransaction, persons: list[str], ident_links: list[dict[str, str]],
                      watchable: bool, principal: Principal, policy: Policy, now: str) -> HookProbe:
    """One statement for every hook: their budgets, and what they would find nothing to do for.
    `watchable`: the batch wrote a link or created an entity (what watches look at)."""
    lifecycle = policy.lifecycle
    persons_over = len(persons) > lifecycle.hook_max_match_persons
    if persons_over:
        persons = []  # deferred whatever their identifiers: no need to measure them
    if not persons and not ident_links and not watchable:
        return HookProbe(persons_over, False, frozenset(), False)
    links_by_identifier = Counter(row["identifier"] for row in ident_links)
    idents = [{"identifier": i, "links": n} for i, n in sorted(links_by_identifier.items())]
    row = await (await tx.run(queue_q.BUDGET, persons=persons, idents=idents, now=now, agency=principal.agency,
                              hub_links=lifecycle.match_hub_links)).single()
    if row is None:
        return HookProbe(persons_over, False, frozenset(), False)
    return HookProbe(persons_over or (row["match_walk"] or 0) > lifecycle.hook_max_match_walk,
                     (row["late_walk"] or 0) > lifecycle.hook_max_late_hit_walk,
                     frozenset(row["remembered"]), bool(row["watched"]))
