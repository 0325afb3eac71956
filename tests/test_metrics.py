"""/metrics counts what ingest wrote and the alerts each feature created, on a real Neo4j.

The counters are process-wide and other tests move them too: each check compares the figures
just before and just after the requests it makes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.core import ids

Auth = Callable[..., dict[str, str]]
Sample = tuple[str, tuple[tuple[str, str], ...]]

ITEMS = "ofast_graph_ingest_items_total"
ALERTS = "ofast_graph_alerts_raised_total"


def scrape(client: TestClient) -> dict[Sample, float]:
    """Every sample of /metrics by (name, sorted labels)."""
    r = client.get("/metrics")
    assert r.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def moved(before: dict[Sample, float], after: dict[Sample, float], name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def batch(person_ref: str, phone: str) -> dict[str, Any]:
    """A person named Karim Benali, born 1990-04-12, who uses `phone` (both sides restricted)."""
    return {
        "entities": [
            {"type": "Person", "ref": person_ref, "sharing": "restricted",
             "properties": {"first_name": "Karim", "last_name": "Benali", "birth_date": "1990-04-12"}},
            {"type": "Phone", "ref": phone},
        ],
        "links": [{"type": "USES", "from": {"type": "Person", "ref": person_ref}, "to": {"type": "Phone", "ref": phone},
                   "sharing": "restricted"}],
    }


def test_ingest_and_alerts_are_counted(client: TestClient, auth: Auth) -> None:
    police, douane = auth("police", "investigator"), auth("douane", "investigator")
    assert client.post("/v1/ingest", json=batch("PN-1", "06 12 34 56 78"), headers=police).status_code == 200

    before = scrape(client)
    # The same phone, written another way, and a person of the same name and birth date: customs and
    # police each get a shared_identifier and a possible_match alert.
    r = client.post("/v1/ingest", json=batch("DN-7", "+33 6 12 34 56 78"), headers=douane)
    assert r.status_code == 200, r.text
    after = scrape(client)
    assert moved(before, after, ITEMS, kind="entity", status="created") == 1
    assert moved(before, after, ITEMS, kind="identifier", status="unchanged") == 1
    assert moved(before, after, ITEMS, kind="link", status="created") == 1
    assert moved(before, after, ALERTS, kind="shared_identifier") == 2
    assert moved(before, after, ALERTS, kind="possible_match") == 2
    alerts = client.get("/v1/alerts", headers=douane).json()["items"]
    assert sorted(a["kind"] for a in alerts) == ["possible_match", "shared_identifier"]

    # A re-push changes nothing and raises nothing: only the unchanged items count.
    before = scrape(client)
    assert client.post("/v1/ingest", json=batch("DN-7", "+33 6 12 34 56 78"), headers=douane).status_code == 200
    after = scrape(client)
    assert moved(before, after, ITEMS, kind="entity", status="unchanged") == 1
    assert moved(before, after, ITEMS, kind="link", status="unchanged") == 1
    assert moved(before, after, ITEMS, kind="entity", status="created") == 0
    assert all(moved(before, after, ALERTS, kind=k) == 0
               for k in ("shared_identifier", "possible_match", "objective_overlap", "late_hit"))

    # A refused batch (another agency's entity named by its id) writes and counts nothing.
    before = scrape(client)
    stolen = {"entities": [{"type": "Person", "ref": "DN-7", "id": ids.entity_id("police", "Person", "PN-1")}]}
    assert client.post("/v1/ingest", json=stolen, headers=douane).status_code == 403
    assert scrape(client).get((ITEMS, (("kind", "entity"), ("status", "created")))) == \
        before.get((ITEMS, (("kind", "entity"), ("status", "created"))))


def test_objective_overlap_and_late_hit_are_counted(client: TestClient, auth: Auth) -> None:
    police, douane = auth("police", "investigator", unit="OCRTIS"), auth("douane", "investigator", unit="DNRED")
    assert client.post("/v1/ingest", json=batch("PN-1", "06 12 34 56 78"), headers=police).status_code == 200
    assert client.post("/v1/ingest", json=batch("DN-7", "+33612345678"), headers=douane).status_code == 200

    before = scrape(client)
    for headers, agency, ref in ((police, "police", "PN-1"), (douane, "douane", "DN-7")):
        r = client.post("/v1/objectives", json={"entity_id": ids.entity_id(agency, "Person", ref),
                                                "case_ref": "PROC-1"}, headers=headers)
        assert r.status_code == 201, r.text
    assert moved(before, scrape(client), ALERTS, kind="objective_overlap") == 2

    # Customs looks an e-mail address up and finds nothing; police links data to it later: a late hit each.
    r = client.get("/v1/lookup", params={"type": "Email", "value": "k.benali@example.org"},
                   headers={**douane, "X-Purpose": "DNRED-2026-8"})
    assert r.status_code == 200 and r.json()["hit"] is False
    before = scrape(client)
    late = {"entities": [{"type": "Email", "ref": "k.benali@example.org"}],
            "links": [{"type": "USES", "from": {"type": "Person", "ref": "PN-1"},
                       "to": {"type": "Email", "ref": "k.benali@example.org"}, "sharing": "restricted"}]}
    assert client.post("/v1/ingest", json=late, headers=police).status_code == 200
    after = scrape(client)
    assert moved(before, after, ALERTS, kind="late_hit") == 2
    assert moved(before, after, ITEMS, kind="identifier", status="created") == 1
