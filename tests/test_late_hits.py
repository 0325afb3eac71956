"""Late hits (issue 9, part B) on a real Neo4j: a lookup that found nothing is remembered, and
data another agency links to that identifier later tells both sides of each other — once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import neo4j
from fastapi.testclient import TestClient

from service.core import ids
from tests.builders import Auth, alerts_of, person, push, uses
from tests.conftest import cypher

PHONE = "06 99 88 77 66"
PHONE_ID = ids.identifier_id("Phone", "+33699887766")
PURPOSE = "PROC-2026-113 go-fast Marseille"


def _push_suspect(client: TestClient, headers: dict[str, str], ref: str, sharing: str = "restricted",
          phone: str = PHONE, name: str = "Yacine") -> dict[str, Any]:
    return push(client, headers, [person(ref, sharing, first_name=name, last_name=f"Secret-{ref}")],
                [uses(ref, phone, sharing)])


def _lookup(client: TestClient, auth: Auth, agency: str, unit: str = "OFAST-Marseille",
            purpose: str = PURPOSE, value: str = PHONE) -> dict[str, Any]:
    r = client.get("/v1/lookup", params={"type": "Phone", "value": value},
                   headers=auth(agency, "investigator", unit=unit, purpose=purpose))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _late_hits(client: TestClient, auth: Auth, agency: str) -> list[dict[str, Any]]:
    return alerts_of(client, auth(agency, "analyst"), "late_hit")


def test_no_hit_then_later_push_alerts_both_sides_once(client: TestClient, auth: Auth, graph: neo4j.Driver,
                                                        clock: Any) -> None:
    assert _lookup(client, auth, "police")["hit"] is False
    memories = cypher(graph, "MATCH (m:LookupMemory) RETURN m {.*} AS m")
    assert len(memories) == 1
    m = memories[0]["m"]
    assert (m["agency"], m["unit"], m["identifier_type"], m["value"], m["purpose"]) == (
        "police", "OFAST-Marseille", "Phone", "+33699887766", PURPOSE)
    expires = dt.datetime.fromisoformat(m["expires_at"])
    assert 364 <= (expires - clock.now()).days <= 366  # 12 months by default
    # No probe node was left behind by the lock taken to remember.
    assert cypher(graph, "MATCH (n:Node) RETURN count(n) AS n")[0]["n"] == 0

    clock.advance(dt.timedelta(days=7))
    douane = auth("douane", "investigator", unit="DNRED-LeHavre")
    _push_suspect(client, douane, "DN-1")

    [police_alert] = _late_hits(client, auth, "police")
    assert police_alert["counterpart_agency"] == "douane"
    assert police_alert["counterpart_contact"].startswith("DNRED")
    assert police_alert["purpose"] == PURPOSE
    assert police_alert["entity_id"] == PHONE_ID
    assert "reasons" not in police_alert and "match_id" not in police_alert
    [douane_alert] = _late_hits(client, auth, "douane")
    assert douane_alert["counterpart_agency"] == "police"
    assert douane_alert["counterpart_contact"].startswith("Police nationale")
    assert douane_alert["purpose"] == PURPOSE
    # The searcher learns whom to call, nothing of the holder's data.
    body = client.get("/v1/alerts", headers=auth("police", "analyst")).text
    assert "Secret-DN-1" not in body and "DN-1" not in body and "DNRED-LeHavre" not in body

    # Re-pushes (same batch, another person on the same phone) never alert again.
    _push_suspect(client, douane, "DN-1")
    _push_suspect(client, douane, "DN-2")
    assert len(_late_hits(client, auth, "police")) == 1
    assert len(_late_hits(client, auth, "douane")) == 1
    # Now a hit: the lookup is not remembered again.
    assert _lookup(client, auth, "police")["hit"] is True

    # Another holder agency is another late hit for the searcher.
    _push_suspect(client, auth("gendarmerie", "investigator"), "GN-1")
    assert sorted(a["counterpart_agency"] for a in _late_hits(client, auth, "police")) == ["douane", "gendarmerie"]
    assert len(_late_hits(client, auth, "gendarmerie")) == 1
    assert len(_late_hits(client, auth, "douane")) == 1


def test_expired_memory_is_ignored(client: TestClient, auth: Auth, graph: neo4j.Driver, clock: Any) -> None:
    _lookup(client, auth, "police")
    clock.advance(dt.timedelta(days=400))
    _push_suspect(client, auth("douane", "investigator"), "DN-1")
    assert _late_hits(client, auth, "police") == []
    assert _late_hits(client, auth, "douane") == []


def test_confidential_push_and_own_push_raise_nothing(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    _lookup(client, auth, "police")
    _push_suspect(client, auth("douane", "investigator"), "DN-1", sharing="confidential")
    _push_suspect(client, auth("police", "investigator"), "PN-1")
    for agency in ("police", "douane"):
        assert _late_hits(client, auth, agency) == []
    # The confidential holder is not revealed to a later lookup either; the memory stays.
    assert _lookup(client, auth, "police")["holders"] == [{"agency": "police", "contact": client.app.state.policy
                                                           .contact("police")}]  # type: ignore[attr-defined]


def test_one_memory_per_unit_refreshed_and_each_unit_told(client: TestClient, auth: Auth,
                                                          graph: neo4j.Driver, clock: Any) -> None:
    _lookup(client, auth, "police", purpose="first")
    clock.advance(dt.timedelta(days=30))
    _lookup(client, auth, "police", purpose="second")
    _lookup(client, auth, "police", unit="OCRTIS", purpose="other unit")
    rows = cypher(graph, "MATCH (m:LookupMemory) RETURN m.unit AS unit, m.purpose AS purpose ORDER BY unit")
    assert rows == [{"unit": "OCRTIS", "purpose": "other unit"}, {"unit": "OFAST-Marseille", "purpose": "second"}]
    _push_suspect(client, auth("douane", "investigator"), "DN-1")
    assert sorted(a["purpose"] for a in _late_hits(client, auth, "police")) == ["other unit", "second"]
    assert len(_late_hits(client, auth, "douane")) == 2


def test_concurrent_lookup_and_push_never_lose_the_late_hit(client: TestClient, auth: Auth,
                                                             graph: neo4j.Driver) -> None:
    """A no-hit lookup racing a push on the same identifier: either the lookup sees the data (a hit)
    or both sides get their late hit — never neither (the identifier's lock orders the two)."""
    from concurrent.futures import ThreadPoolExecutor

    douane = auth("douane", "investigator")
    with ThreadPoolExecutor(max_workers=2) as pool:
        for k in range(6):
            phone = f"06 77 00 00 {k:02d}"
            lookup = pool.submit(_lookup, client, auth, "police", "OFAST-Marseille", PURPOSE, phone)
            pool.submit(_push_suspect, client, douane, f"DN-race-{k}", "restricted", phone).result()
            hit = lookup.result()["hit"]
            phone_id = ids.identifier_id("Phone", f"+3367700000{k}")
            told = [a for a in _late_hits(client, auth, "police") if a["entity_id"] == phone_id]
            assert hit or len(told) == 1, (k, hit, told)
            assert len([a for a in _late_hits(client, auth, "douane") if a["entity_id"] == phone_id]) == len(told)
