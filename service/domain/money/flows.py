"""Following the money over transfer events: the chains from one account (or the accounts of a
person, company or network) to another, and the laundering indicators of the accounts around a
network or an entity.

The Cypher (`service.queries.money`) decides what the caller sees and computes every figure: only
transfers seen in full make a chain or an indicator; another agency's restricted transfers count,
per owner agency, in `withheld`; confidential ones of other agencies are not there. This module
names the subjects (404 / 422), runs the statements in one read transaction, and writes times as
the API does (UTC, ISO 8601 with `Z`). Answers name nodes by id under `nodes` (each as the caller
may see it); the router lays them out.

A chain a0 → a1 → … → ak (k ≤ `max_hops`, no account twice, none in between a source or a target
account) is made of hops; hop i's transfers are those from a(i-1) to a(i) in the window made at or
after the first transfer of hop i-1 (hop 1: from `since`) — a transfer earlier than the money it
would pass on does not count. A hop's amount is the sum of its transfers; the chain's `amount_eur`
is the smallest hop amount: at most that much can have flowed from a0 to ak along it. The search
is bounded: at most `max_hops`, at most the policy's `flow_walk_budget` transfers read per hop level
(past it the answer says `truncated`: chains may be missing), at most `limit` chains returned.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from neo4j import AsyncManagedTransaction

from service.access.policy import Money
from service.core.db import Database
from service.core.errors import ApiError
from service.domain.events.analyses import Window, utc, withheld
from service.queries import money as q

MAX_HOPS = 6
MAX_SCOPE_ACCOUNTS = 500  # indicators: every account is one more pass of each indicator's seeks
ROUND_TRIPS_SHOWN = 5  # round trips given per account (largest first; `count` says how many)


def _params(viewer: dict[str, Any], win: Window, budget: int) -> dict[str, Any]:
    return {"viewer": viewer, **win.params, "budget": budget, "budget_plus": budget + 1}


async def _subject(tx: AsyncManagedTransaction, node_id: str, viewer: dict[str, Any], parameter: str,
                   types: tuple[str, ...]) -> dict[str, Any]:
    record = await (await tx.run(q.SUBJECT, id=node_id, viewer=viewer, account_types=list(q.account_types()))).single()
    if record is None:
        raise ApiError(404, "not_found", f"no node with id {node_id!r}", {"parameter": parameter})
    if record["type"] not in types:
        raise ApiError(422, "wrong_type", f"{parameter} must name a {' or '.join(types)}, {node_id!r} is a "
                                          f"{record['type']}", {"parameter": parameter, "allowed": list(types)})
    return record.data()


async def _nodes(tx: AsyncManagedTransaction, ids: set[str], viewer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    return {r["id"]: r["node"] async for r in await tx.run(q.NODES, ids=sorted(ids), viewer=viewer)}


def _chain(raw: dict[str, Any]) -> dict[str, Any]:
    hops = [{"from": h["from"], "to": h["to"], "transfers": h["transfers"], "amount_eur": h["amount_eur"],
             "first": utc(h["first"]), "last": utc(h["last"])} for h in raw["hops"]]
    # The latest instant compared as times: ISO strings with and without fractions do not sort.
    return {"accounts": raw["accounts"], "amount_eur": raw["amount_eur"], "hops": hops,
            "first": hops[0]["first"], "last": utc(max(h["last"].to_native() for h in raw["hops"]))}


def flow_types() -> tuple[str, ...]:
    """What a money flow may start or end at: an account or wallet, or an entity that holds or uses one."""
    return (*q.account_types(), *q.holder_types())


def check_hops(max_hops: int, parameter: str = "max_hops") -> None:
    if not 1 <= max_hops <= MAX_HOPS:
        raise ApiError(422, f"invalid_{parameter}", f"{parameter} is 1 to {MAX_HOPS}, got {max_hops}",
                       {"parameter": parameter})


async def money_flows(db: Database, viewer: dict[str, Any], money: Money, source: str, target: str, win: Window,
                      max_hops: int, min_amount: float, limit: int) -> dict[str, Any]:
    """The chains seen in full from `source` to `target`, largest amount first, with the withheld
    transfers of the chains the caller may not see."""
    check_hops(max_hops)
    if source == target:
        raise ApiError(422, "invalid_target", "target must differ from source (round trips: GET "
                                              "/v1/analytics/laundering-indicators)", {"parameter": "target"})

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        src = await _subject(tx, source, viewer, "source", flow_types())
        dst = await _subject(tx, target, viewer, "target", flow_types())
        # An account both sides hold (a person paying its own company's account) starts chains only.
        sources = list(src["accounts"])
        targets = [a for a in dst["accounts"] if a not in sources]
        row = await (await tx.run(q.money_flows(max_hops), _params(viewer, win, money.flow_walk_budget),
                                  sources=sources, targets=targets, min_amount=min_amount, limit=limit)).single()
        items = [_chain(c) for c in row["items"]] if row else []
        named = {a for c in items for a in c["accounts"]}
        return {"source": src["node"], "target": dst["node"], "items": items, "total": row["total"] if row else 0,
                "truncated": bool(row and row["truncated"]), "walk_budget": money.flow_walk_budget,
                "withheld": withheld(row["withheld"] if row else []), "nodes": await _nodes(tx, named, viewer)}

    return await db.read(work)


def _reasons(money: Money, rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Reasons per account id from the indicators' rows."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows["round_trips"]:
        out.setdefault(r["account"], []).append({
            "kind": "round_trip", "count": r["total"], "truncated": r["truncated"],
            "chains": [_chain(c) for c in r["items"]],
            "rule": f"money back to the account within {money.round_trip_max_hops} hops, in time order"})
    for r in rows["fan"]:
        if r["payers"] >= money.fan_min_counterparties:
            out.setdefault(r["account"], []).append({
                "kind": "fan_in", "counterparties": r["payers"], "transfers": r["n_in"], "amount_eur": r["amount_in"],
                "first": utc(r["first_in"]), "last": utc(r["last_in"]),
                "rule": f"at least {money.fan_min_counterparties} distinct payers"})
        if r["payees"] >= money.fan_min_counterparties:
            out.setdefault(r["account"], []).append({
                "kind": "fan_out", "counterparties": r["payees"], "transfers": r["n_out"],
                "amount_eur": r["amount_out"], "first": utc(r["first_out"]), "last": utc(r["last_out"]),
                "rule": f"at least {money.fan_min_counterparties} distinct payees"})
    low = money.structuring_threshold_eur - money.structuring_margin_eur
    for r in rows["structuring"]:
        out.setdefault(r["account"], []).append({
            "kind": "structuring", "direction": r["direction"], "transfers": r["transfers"], "amount_eur": r["total"],
            "first": utc(r["first"]), "last": utc(r["last"]),
            "rule": f"at least {money.structuring_min_count} transfers of {low:g} to under "
                    f"{money.structuring_threshold_eur:g} EUR"})
    for r in rows["pass_through"]:
        out.setdefault(r["account"], []).append({
            "kind": "pass_through", "amount_in_eur": r["amount_in"], "transfers_in": r["n_in"],
            "amount_out_eur": r["amount_out"], "transfers_out": r["n_out"],
            "ratio": round(r["amount_out"] / r["amount_in"], 4) if r["amount_in"] else None,
            "first": utc(r["first_in"]), "last": utc(r["last_out"]),
            "rule": f"at least {money.pass_through_ratio:g} of what came in (at least {money.pass_through_min_eur:g} "
                    f"EUR) left within {money.pass_through_days} days"})
    return out


async def laundering_indicators(db: Database, viewer: dict[str, Any], money: Money, network: str | None,
                                entity: str | None, win: Window) -> dict[str, Any]:
    """The accounts around a network (its members' and their companies') or an entity with the
    indicators they raise, and the companies holding them."""
    if (network is None) == (entity is None):
        raise ApiError(422, "invalid_scope", "name exactly one of network (a Network id: its members' accounts) "
                                             "or entity (a person, company, network, account or wallet id)",
                       {"parameter": ["network", "entity"]})
    node_id = network or entity
    assert node_id is not None
    parameter = "network" if network else "entity"
    types = ("Network",) if network else flow_types()

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        scope = await (await tx.run(q.SCOPE, id=node_id, viewer=viewer, members=network is not None,
                                    account_types=list(q.account_types()))).single()
        if scope is None:
            raise ApiError(404, "not_found", f"no node with id {node_id!r}", {"parameter": parameter})
        if scope["type"] not in types:
            raise ApiError(422, "wrong_type", f"{parameter} must name a {' or '.join(types)}, {node_id!r} is a "
                                              f"{scope['type']}", {"parameter": parameter, "allowed": list(types)})
        holders = {a["account"]: a["holders"] for a in scope["accounts"]}
        accounts = sorted(holders)[:MAX_SCOPE_ACCOUNTS]
        params = {**_params(viewer, win, money.flow_walk_budget), "accounts": accounts}
        low = money.structuring_threshold_eur - money.structuring_margin_eur
        rows: dict[str, list[dict[str, Any]]] = {
            "round_trips": [r.data() async for r in await tx.run(
                q.round_trips(money.round_trip_max_hops), params, min_amount=0.0, limit=ROUND_TRIPS_SHOWN)],
            "fan": [r.data() async for r in await tx.run(q.fan(), params, fan_min=money.fan_min_counterparties)],
            "structuring": [r.data() async for r in await tx.run(
                q.structuring(), params, low=low, threshold=money.structuring_threshold_eur,
                min_count=money.structuring_min_count)],
            "pass_through": [r.data() async for r in await tx.run(
                q.pass_through(), params, pass_min=money.pass_through_min_eur, ratio=money.pass_through_ratio,
                days=dt.timedelta(days=money.pass_through_days))],
        }
        hidden = [r.data() async for r in await tx.run(q.withheld(), params)]
        reasons = _reasons(money, rows)
        flagged = [{"account": a, "holders": sorted(holders[a]), "reasons": reasons[a]}
                   for a in accounts if a in reasons]
        companies = []
        for company in scope["companies"]:
            own = [a for a in accounts if company in holders[a] and a in reasons]
            if own:
                companies.append({"company": company, "accounts": own,
                                  "reasons": sorted({r["kind"] for a in own for r in reasons[a]})})
        named = ({f["account"] for f in flagged} | {h for f in flagged for h in f["holders"]}
                 | {a for rs in reasons.values() for r in rs for c in r.get("chains", []) for a in c["accounts"]}
                 | {c["company"] for c in companies})
        return {"scope": scope["node"], "accounts": flagged, "companies": companies,
                "scope_accounts": len(holders), "truncated": len(holders) > MAX_SCOPE_ACCOUNTS,
                "withheld": withheld(hidden), "nodes": await _nodes(tx, named, viewer)}

    return await db.read(work)
