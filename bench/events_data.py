"""Synthetic phone records (CDR) for the events benchmarks: realistic shape and hot spots.

Calls between a pool of subscribers, each with its own handset and a home area of cell sites;
a few hub numbers (a courier's phone, a call centre) take part in 5 % of the calls, so that
concurrent imports meet on the same nodes as real requisitions do. Times follow a daily rhythm
(quiet nights, busy evenings) over six months, as `POST /v1/events` receives them: ISO 8601 with
the Europe/Paris offset. Deterministic by seed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
START = dt.datetime(2026, 1, 1, tzinfo=PARIS)
DAYS = 181
AGENCIES = ("police", "gendarmerie", "douane")
OPERATORS = ("Orange", "SFR", "Bouygues", "Free")
# Weight of each local hour of the day: the rhythm of phone use (few calls from 2 to 6 am).
HOUR_WEIGHTS = (3, 2, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 8, 7, 7, 7, 8, 9, 10, 11, 11, 10, 8, 5)
HUBS = 5
HUB_SHARE = 0.05


def phone_number(n: int) -> str:
    """The n-th subscriber's French mobile number, as operators print it (E.164)."""
    return f"+336{n:08d}"


def imei(n: int) -> str:
    """A valid IMEI for subscriber n: a fixed TAC, a serial, the Luhn check digit."""
    body = f"35209900{n % 10**6:06d}"
    total = 0
    for i, ch in enumerate(body):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def cell(n: int) -> dict[str, Any]:
    """Cell site n: an operator's cell id and where its mast stands (around Marseille)."""
    return {"ref": f"208-{10 + n % 4}-{10000 + n // 7}-{n % 7}", "operator": OPERATORS[n % 4],
            "lat": round(43.2 + (n % 97) * 0.004, 5), "lon": round(5.3 + (n // 97 % 97) * 0.004, 5),
            "azimuth": (n % 3) * 120}


def _at(rng: random.Random) -> str:
    day = START + dt.timedelta(days=rng.randrange(DAYS))
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    local = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
    # Normalise through UTC so a time inside the spring-forward gap gets a real offset.
    return local.astimezone(dt.UTC).astimezone(PARIS).isoformat()


def calls(total: int, seed: int = 5, subscribers: int | None = None, cells: int = 2000) -> Iterator[dict[str, Any]]:
    """`total` call events; subscribers default to one per 40 calls."""
    rng = random.Random(seed)
    subscribers = subscribers or max(total // 40, 100)
    for i in range(total):
        caller = rng.randrange(HUBS, subscribers + HUBS)
        callee = rng.randrange(HUBS) if rng.random() < HUB_SHARE else rng.randrange(HUBS, subscribers + HUBS)
        if callee == caller:
            callee = (callee + 1) % (subscribers + HUBS)
        if rng.random() < 0.5:
            caller, callee = callee, caller
        home = caller * 7 % cells
        event: dict[str, Any] = {
            "kind": "call", "ref": f"REQ-BENCH/{i:09d}", "at": _at(rng),
            "mode": "voice" if rng.random() < 0.7 else "sms",
            "from": {"type": "Phone", "ref": phone_number(caller)},
            "to": {"type": "Phone", "ref": phone_number(callee)},
            "handset": imei(caller),
            "cell": cell((home + rng.randrange(5)) % cells),
        }
        if event["mode"] == "voice":
            event["duration_s"] = int(rng.expovariate(1 / 90)) + 1
        event["sharing"] = "restricted" if rng.random() < 0.8 else "open"
        yield event


def batches(total: int, batch: int = 5000, seed: int = 5) -> Iterator[tuple[str, dict[str, Any]]]:
    """(agency, body) pairs of `batch` calls each, the agencies in turn."""
    chunk: list[dict[str, Any]] = []
    n = 0
    for event in calls(total, seed):
        chunk.append(event)
        if len(chunk) == batch:
            yield AGENCIES[n % len(AGENCIES)], {"events": chunk}
            chunk, n = [], n + 1
    if chunk:
        yield AGENCIES[n % len(AGENCIES)], {"events": chunk}
