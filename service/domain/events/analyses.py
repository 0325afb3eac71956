"""The analyses investigators run on events: timeline, contacts, activity profile, common contacts,
co-location and handset swaps, each over a time window.

The Cypher (`service.queries.events`) decides what the caller sees: events in full, the count
of those it may only know exist (`withheld`, per owner agency), nothing of the others. This
module runs it in one read transaction per request, fills in what Cypher leaves sparse (a 7 × 24
grid, the nodes an answer names) and writes times as the API does: UTC, ISO 8601 with `Z`.
Answers name nodes by id under `nodes` (each as the caller may see it: full, stub, or absent);
the router lays them out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from neo4j import AsyncManagedTransaction
from neo4j.time import DateTime

from graph_schema import get_schema
from service.core.db import Database
from service.core.errors import ApiError
from service.queries import events as q

EARLIEST = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIME_ZONE = q.TIME_ZONE
MAX_PHONES = 10  # common contacts: every phone is one more pass over its calls


@dataclass(frozen=True)
class Window:
    """`since` and `until`, both included, in UTC; the widest instants where the caller set none."""

    since: dt.datetime = EARLIEST
    until: dt.datetime = LATEST

    @property
    def params(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until}


def _instant(name: str, value: str, end: bool) -> dt.datetime:
    """An ISO 8601 date or date-time; without an offset it is UTC; a date alone is the whole day
    (its first instant for `since`, its last for `until`)."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            parsed = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
        else:
            parsed = dt.datetime.fromisoformat(text.replace("z", "Z"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset taking year 1 or 9999 out of range
        raise ApiError(422, f"invalid_{name}",
                       f"{name} must be an ISO 8601 date or date-time (2026-03-14, 2026-03-14T23:41:07+01:00, "
                       f"2026-03-14T22:41:07Z), got {value!r}", {"parameter": name}) from None


def window(since: str | None, until: str | None) -> Window | None:
    """The window a request names, or None when it names neither end; 422 naming the parameter
    that is not an ISO 8601 instant, or both when `since` is after `until`."""
    if not since and not until:
        return None
    start = _instant("since", since, end=False) if since else EARLIEST
    stop = _instant("until", until, end=True) if until else LATEST
    if start > stop:
        raise ApiError(422, "invalid_window", f"since ({since}) is after until ({until})",
                       {"parameter": ["since", "until"]})
    return Window(start, stop)


def utc(value: Any) -> str | None:
    """A stored time (a Neo4j DATETIME) as the API writes it: ISO 8601 in UTC with `Z`."""
    if value is None:
        return None
    native = value.to_native() if isinstance(value, DateTime) else value
    return str(native.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"))


def kinds(names: list[str]) -> tuple[str, ...]:
    """Event kinds named by the caller (all when none); an unknown one is a 422 listing the known."""
    known = q.kinds_of(None)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ApiError(422, "unknown_kind", f"unknown event kind(s) {unknown}; known: {', '.join(known)}",
                       {"parameter": "kinds", "unknown": unknown})
    return q.kinds_of(names)


def withheld(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Withheld counts merged per owner agency, the largest first."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["owner_agency"]] = counts.get(row["owner_agency"], 0) + int(row["count"])
    return [{"owner_agency": a, "count": c} for a, c in sorted(counts.items(), key=lambda x: (-x[1], x[0]))]


async def _nodes(tx: AsyncManagedTransaction, ids: set[str], viewer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    result = await tx.run(q.NODES, ids=sorted(ids), viewer=viewer)
    return {r["id"]: r["node"] async for r in result}


async def _subject(tx: AsyncManagedTransaction, node_id: str, viewer: dict[str, Any]) -> dict[str, Any] | None:
    record = await (await tx.run(q.SUBJECT, id=node_id, viewer=viewer)).single()
    return record.data() if record else None


def _require_type(subject: dict[str, Any] | None, node_id: str, parameter: str, types: tuple[str, ...]) -> None:
    if subject is None:
        raise ApiError(404, "not_found", f"no node with id {node_id!r}", {"parameter": parameter})
    if subject["type"] not in types:
        raise ApiError(422, "wrong_type", f"{parameter} must name a {' or '.join(types)}, {node_id!r} is a "
                                          f"{subject['type']}", {"parameter": parameter, "allowed": list(types)})


async def timeline(db: Database, viewer: dict[str, Any], node_id: str, win: Window, event_kinds: tuple[str, ...],
                   limit: int, offset: int) -> dict[str, Any] | None:
    """A page of the events of a node (newest first), their total and the withheld counts; None
    when the caller may not know the node."""

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any] | None:
        subject = await _subject(tx, node_id, viewer)
        if subject is None:
            return None
        params = {"parties": subject["parties"], "viewer": viewer, **win.params}
        counted = await (await tx.run(q.timeline_count(event_kinds), params)).single()
        page = await tx.run(q.timeline_page(event_kinds), params, offset=offset, limit=limit, window=offset + limit)
        events = [r["event"] async for r in page]
        named = {v for e in events for k, v in e.items() if k.endswith("_id") and isinstance(v, str)}
        return {"events": events, "total": counted["total"] if counted else 0,
                "withheld": withheld(counted["withheld"] if counted else []),
                "nodes": await _nodes(tx, named, viewer)}

    return await db.read(work)


async def activity(db: Database, viewer: dict[str, Any], node_id: str, win: Window,
                   event_kinds: tuple[str, ...]) -> dict[str, Any] | None:
    """The node's events seen in full by weekday (Monday first) and hour, in local time."""

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any] | None:
        subject = await _subject(tx, node_id, viewer)
        if subject is None:
            return None
        rows = [r.data() async for r in await tx.run(q.activity(event_kinds), parties=subject["parties"],
                                                     viewer=viewer, **win.params)]
        grid = [[0] * 24 for _ in WEEKDAYS]
        for row in rows:
            if row["full"]:
                grid[row["weekday"] - 1][row["hour"]] += row["c"]
        hidden = [{"owner_agency": r["owner"], "count": r["c"]} for r in rows if not r["full"]]
        return {"node": subject["node"], "by_weekday_hour": grid, "total": sum(map(sum, grid)),
                "withheld": withheld(hidden), "nodes": {}}

    return await db.read(work)


async def contacts(db: Database, viewer: dict[str, Any], phone: str, win: Window, limit: int) -> dict[str, Any]:
    """The phone's correspondents, most calls first (404 / 422 when `phone` is no phone it may know)."""

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        subject = await _subject(tx, phone, viewer)
        _require_type(subject, phone, "phone", ("Phone",))
        assert subject is not None
        row = await (await tx.run(q.CONTACTS, phone=phone, viewer=viewer, limit=limit, **win.params)).single()
        found = row["contacts"] if row else []
        items = [{**c, "first": utc(c["first"]), "last": utc(c["last"])} for c in found]
        return {"phone": subject["node"], "contacts": items, "withheld": withheld(row["withheld"] if row else []),
                "nodes": await _nodes(tx, {c["phone"] for c in found}, viewer)}

    return await db.read(work)


async def common_contacts(db: Database, viewer: dict[str, Any], phones: list[str], win: Window,
                          limit: int) -> dict[str, Any]:
    """The correspondents every phone of `phones` called or was called by, with each phone's count."""
    if not 2 <= len(phones) <= MAX_PHONES:
        raise ApiError(422, "invalid_phones", f"phones names 2 to {MAX_PHONES} distinct phone ids, "
                                              f"comma-separated; got {len(phones)}", {"parameter": "phones"})

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        for phone in phones:
            _require_type(await _subject(tx, phone, viewer), phone, "phones", ("Phone",))
        row = await (await tx.run(q.COMMON_CONTACTS, phones=phones, viewer=viewer, limit=limit,
                                  **win.params)).single()
        found = row["contacts"] if row else []
        items = [{"phone": c["phone"], "calls": {p: 0 for p in phones} | {x["phone"]: x["calls"] for x in c["calls"]}}
                 for c in found]
        return {"contacts": items, "withheld": withheld(row["withheld"] if row else []),
                "nodes": await _nodes(tx, {c["phone"] for c in found}, viewer)}

    return await db.read(work)


async def co_location(db: Database, viewer: dict[str, Any], node_id: str, minutes: int, win: Window,
                      limit: int) -> dict[str, Any]:
    """Other phones and vehicles seen where the node was, at most `minutes` apart; most recent first."""
    types = q.locatable_types()

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        subject = await _subject(tx, node_id, viewer)
        _require_type(subject, node_id, "id", types)
        assert subject is not None
        row = await (await tx.run(q.co_location(subject["type"]), id=node_id, viewer=viewer, limit=limit,
                                  window=dt.timedelta(minutes=minutes), **win.params)).single()
        found = row["items"] if row else []
        items = [{"other": i["other"], "place": i["place"], "at": utc(i["at"]), "other_at": utc(i["other_at"])}
                 for i in found]
        named = {i["other"] for i in found} | {i["place"] for i in found if i["place"]}
        return {"node": subject["node"], "items": items, "total": row["total"] if row else 0,
                "withheld": withheld(row["withheld"] if row else []), "nodes": await _nodes(tx, named, viewer)}

    return await db.read(work)


async def handset_swaps(db: Database, viewer: dict[str, Any], node_id: str, win: Window) -> dict[str, Any]:
    """Every (phone, handset) pair around a phone or a handset, in order of first use."""
    call = get_schema().events["call"]
    phone_types, handset_types = next(iter(call.parties.values())).types, call.parties["handset"].types

    async def work(tx: AsyncManagedTransaction) -> dict[str, Any]:
        subject = await _subject(tx, node_id, viewer)
        _require_type(subject, node_id, "id", (*phone_types, *handset_types))
        assert subject is not None
        row = await (await tx.run(q.handset_swaps(subject["type"] in handset_types), id=node_id, viewer=viewer,
                                  **win.params)).single()
        found = row["items"] if row else []
        items = [{**i, "first": utc(i["first"]), "last": utc(i["last"])} for i in found]
        return {"node": subject["node"], "items": items, "withheld": withheld(row["withheld"] if row else []),
                "nodes": await _nodes(tx, {i["phone"] for i in found} | {i["handset"] for i in found}, viewer)}

    return await db.read(work)
