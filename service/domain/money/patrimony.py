"""An entity's patrimony and the asset recovery totals, from `service.queries.patrimony`.

The Cypher decides what the caller sees (assets in full with their chains, the others counted by
owner agency); this module adds it up:

- an asset reached by several chains seen in full is listed once, `via` its shortest chain, and
  its share is the sum of its chains' shares (at most 1) — or null when any of them is unknown
  (a CONTROLS link, a missing share): the total then cannot be known;
- `totals.<status>` counts the Assets listed and sums their whole `value_eur` (an asset without a
  status is `identified`); `attributable_eur` sums share × value over the assets whose share is
  known, and `unknown_share_eur` the values of those whose share is not — apart, never as if the
  entity held them in full. Vehicles (identifiers, no value nor status) are listed, not totalled.
"""

from __future__ import annotations

from typing import Any

from neo4j import AsyncManagedTransaction

from graph_schema import get_schema
from service.core.db import Database
from service.core.errors import ApiError, not_found
from service.queries import patrimony as q

MAX_CHAINS = 10_000  # holding chains read per holder: bounds a hub's cost; `truncated` says when reached
NETWORK_DEPTH = 3  # the holding chains of a network, by-network recovery totals
GROUPS = ("network", "departement", "year")


def statuses() -> list[str]:
    """The Asset statuses, in the schema's order (identified → seized → confiscated, released)."""
    values = get_schema().node("Asset").properties["status"].values
    return list(values or [])


def _empty_totals() -> dict[str, Any]:
    return {s: {"count": 0, "value_eur": 0.0} for s in statuses()}


def _merge_withheld(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [{"owner_agency": a, "assets": c} for a, c in sorted(counts.items(), key=lambda x: (-x[1], x[0]))]


def _share(paths: list[dict[str, Any]]) -> float | None:
    shares = [p["share"] for p in paths]
    if any(s is None for s in shares):
        return None
    return min(1.0, float(sum(shares)))


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows of `q.patrimony` -> {assets, totals, withheld (without contacts), truncated}."""
    asset_type = get_schema().node("Asset").name
    assets: list[dict[str, Any]] = []
    withheld: dict[str, int] = {}
    totals = _empty_totals()
    attributable = unknown = 0.0
    for row in rows:
        if not row["shown"]:
            withheld[row["owner_agency"]] = withheld.get(row["owner_agency"], 0) + 1
            continue
        share, value = _share(row["paths"]), row["value_eur"]
        is_asset = row["asset"]["type"] == asset_type
        status = (row["status"] or statuses()[0]) if is_asset else None
        assets.append({"asset": row["asset"], "via": row["paths"][0]["via"], "chains": len(row["paths"]),
                       "share": share, "value_eur": value, "status": status})
        if not is_asset or status not in totals:
            continue
        totals[status]["count"] += 1
        totals[status]["value_eur"] += float(value or 0.0)
        if value is not None and share is not None:
            attributable += share * float(value)
        elif value is not None:
            unknown += float(value)
    assets.sort(key=lambda x: (-((x["share"] or 0.0) * (x["value_eur"] or 0.0)), x["asset"]["id"]))
    totals |= {"attributable_eur": round(attributable, 2), "unknown_share_eur": round(unknown, 2)}
    return {"assets": assets, "totals": totals, "withheld": _merge_withheld(withheld),
            "truncated": sum(int(r["chains"]) for r in rows) >= MAX_CHAINS}


async def patrimony(db: Database, viewer: dict[str, Any], entity_id: str, depth: int) -> dict[str, Any]:
    """The patrimony of a Person, Company or Network the caller may know: 404 otherwise, 422 for
    another type."""

    async def work(tx: AsyncManagedTransaction) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        subject = await (await tx.run(q.SUBJECT, id=entity_id, viewer=viewer)).single()
        if subject is None or subject["type"] not in q.HOLDERS:
            return (subject.data() if subject else None), []
        result = await tx.run(q.patrimony(depth), id=entity_id, viewer=viewer, max_chains=MAX_CHAINS)
        return subject.data(), [r.data() async for r in result]

    subject, rows = await db.read(work)
    if subject is None:
        raise not_found("entity", entity_id)
    if subject["type"] not in q.HOLDERS:
        raise ApiError(422, "wrong_type", f"the patrimony is that of a {', '.join(q.HOLDERS)}; {entity_id!r} is a "
                                          f"{subject['type']}", {"parameter": "entity_id", "allowed": list(q.HOLDERS)})
    return {"entity": subject["node"], **summarise(rows)}


async def recovery(db: Database, viewer: dict[str, Any], group_by: str) -> dict[str, Any]:
    """Assets seen in full by group and status (count and value), the others counted by owner
    agency; a by-network answer also names each network."""
    if group_by not in GROUPS:
        raise ApiError(422, "invalid_group_by", f"group_by must be one of {', '.join(GROUPS)}, got {group_by!r}",
                       {"parameter": "group_by", "allowed": list(GROUPS)})
    statement = {"network": q.recovery_by_network(NETWORK_DEPTH), "departement": q.recovery_by_department(),
                 "year": q.recovery_by_year()}[group_by]

    async def work(tx: AsyncManagedTransaction) -> tuple[list[dict[str, Any]], ...]:
        rows = [r.data() async for r in await tx.run(statement, viewer=viewer, max_chains=MAX_CHAINS)]
        hidden = [r.data() async for r in await tx.run(q.RECOVERY_WITHHELD, viewer=viewer)]
        ids = sorted({r["group"] for r in rows if r["group"] is not None}) if group_by == "network" else []
        names = [r.data() async for r in await tx.run(q.NETWORKS, ids=ids, viewer=viewer)] if ids else []
        return rows, hidden, names

    rows, hidden, names = await db.read(work)
    networks = {n["id"]: n for n in names}
    groups: dict[str | None, dict[str, Any]] = {}
    for row in rows:
        group = groups.setdefault(row["group"], {"group": row["group"], "count": 0, "value_eur": 0.0,
                                                 "statuses": _empty_totals()})
        if group_by == "network" and row["group"] is not None:
            group["network"] = networks.get(row["group"])
        group["statuses"][row["status"]] = {"count": int(row["assets"]), "value_eur": float(row["value_eur"])}
        group["count"] += int(row["assets"])
        group["value_eur"] += float(row["value_eur"])
    ordered = sorted(groups.values(), key=lambda g: (g["group"] is None, str(g["group"])))
    return {"group_by": group_by, "groups": ordered,
            "withheld": _merge_withheld({r["owner_agency"]: int(r["assets"]) for r in hidden})}
