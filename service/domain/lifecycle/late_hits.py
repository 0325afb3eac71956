"""Late hits: a lookup that found nothing is remembered; data linked to that identifier later
raises a `late_hit` alert for the searcher and for the new holder.

- `remember_no_hit` runs after a no-hit lookup (GET /v1/lookup): it re-asks the lookup under the
  identifier's lock and, if still nothing, remembers (agency, unit, identifier, purpose) until
  `lifecycle.lookup_memory_months` from now (policy). A repeated no-hit refreshes the purpose
  and the expiry.
- `raise_late_hits` runs in the ingest transaction (`service.domain.ingest.hooks`): for each link the
  batch wrote to an identifier, the unexpired memories of other agencies that may learn of that
  link (as a lookup would) give two alerts — to the searcher (the holder's agency and contact,
  its own purpose) and to the holder (the searcher's agency, contact and purpose) — once per
  memory and holder agency (`pair_key`), so a re-push never alerts again. Nothing else is said:
  no entity, no unit, no name.
"""

from __future__ import annotations

from typing import Any

from neo4j import AsyncManagedTransaction

from service.access.auth import Principal
from service.access.policy import Policy
from service.access.visibility import viewer_params
from service.core import clock
from service.core.db import Database
from service.queries import alerts as alerts_q
from service.queries import late_hits as q
from service.queries import search as search_q


async def remember_no_hit(db: Database, principal: Principal, policy: Policy, type_: str, value: str,
                          identifier_id: str, purpose: str) -> list[str]:
    """Remember a no-hit lookup; returns the holders found when the lookup is re-asked under the
    identifier's lock (normally none: then the memory is written)."""
    now = clock.now()
    expires = clock.add_months(now, policy.lifecycle.lookup_memory_months)

    async def work(tx: AsyncManagedTransaction) -> list[str]:
        lock = await (await tx.run(q.LOCK_IDENTIFIER, id=identifier_id)).single()
        row = await (await tx.run(search_q.LOOKUP, id=identifier_id, viewer=viewer_params(principal))).single()
        owners = sorted(set(row["owners"])) if row is not None and row["id"] else []
        if not owners:
            await (await tx.run(
                q.REMEMBER, key=f"{principal.agency}|{principal.unit}|{identifier_id}", agency=principal.agency,
                unit=principal.unit, id=identifier_id, type=type_, value=value, purpose=purpose,
                now=now.isoformat(timespec="microseconds"),
                expires_at=expires.isoformat(timespec="microseconds"))).consume()
        if lock is not None and lock["probe"]:  # (an error above rolls the probe back with the rest)
            await (await tx.run(q.PROBE_DELETE, id=identifier_id)).consume()
        return owners

    return await db.write(work)


async def raise_late_hits(tx: AsyncManagedTransaction, rows: list[dict[str, Any]], principal: Principal,
                          policy: Policy, now: str, find: str = q.FIND) -> int:
    """In the ingest transaction: `rows` are `{identifier, link}` written by the batch (for `find` =
    `q.FIND`; the events writer passes its own query and rows). Returns the number of alerts newly
    merged (0 on a re-push)."""
    if not rows:
        return 0
    holder = principal.agency
    found = [r.data() async for r in await tx.run(find, rows=rows, now=now, agency=holder,
                                                   central_agency=policy.central_agency)]
    alerts: dict[str, dict[str, Any]] = {}
    for f in found:
        base = {"kind": "late_hit", "entity_id": f["identifier"], "identifier_id": f["identifier"],
                "purpose": f["purpose"], "reasons": None, "match_id": None}
        key = f"late_hit|{f['memory']}|{holder}"
        alerts[key + "|searcher"] = {**base, "pair_key": key + "|searcher", "agency": f["searcher"],
                                     "counterpart_agency": holder, "counterpart_contact": policy.contact(holder)}
        alerts[key + "|holder"] = {**base, "pair_key": key + "|holder", "agency": holder,
                                   "counterpart_agency": f["searcher"],
                                   "counterpart_contact": policy.contact(f["searcher"])}
    if not alerts:
        return 0
    summary = await (await tx.run(alerts_q.RAISE, alerts=[alerts[k] for k in sorted(alerts)], now=now)).consume()
    return summary.counters.nodes_created
