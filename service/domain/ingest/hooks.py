"""What the lifecycle features do inside an ingest transaction — one call from
`service.domain.ingest.write.IngestWork`, so it commits (or not) with the batch and is never lost:

1. review dates (`service.domain.lifecycle.retention`): entities created or changed are due for review anew;
2. late hits (`service.domain.lifecycle.late_hits`): links written to an identifier meet the remembered no-hit
   lookups of other agencies;
3. person matching (`service.domain.lifecycle.matching`): persons created or changed, or newly linked to an
   identifier, are compared with other agencies' persons of the same birth date or identifier.
"""

from __future__ import annotations

from neo4j import AsyncManagedTransaction

from graph_schema import get_schema
from service.access.auth import Principal
from service.access.policy import Policy
from service.domain.ingest.models import Plan
from service.domain.lifecycle import late_hits, matching, retention


async def after_ingest(tx: AsyncManagedTransaction, plan: Plan, principal: Principal, policy: Policy,
                       written: dict[str, str], links_written: dict[str, str], now: str) -> dict[str, int]:
    """`written` / `links_written`: {id: "created" | "updated"} of the entities and links the batch wrote;
    `now`: the batch's time. Returns the alerts created, by kind."""
    schema = get_schema()
    entity_ids = sorted({row.id for row in plan.entities if not row.identifier and row.id in written})
    await retention.set_review_dates(tx, entity_ids, policy.lifecycle)

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
    return {"late_hit": await late_hits.raise_late_hits(tx, ident_links, principal, policy, now),
            "possible_match": await matching.detect(tx, sorted(persons), policy, now)}
