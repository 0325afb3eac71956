"""Review dates and retention (issue 9, part B) on a real Neo4j, with the service clock moved on.

Review dates are set at ingest and shown to the owner only; the review queue lists an agency's
due items; a confirmation moves the date on. `ofast-graph retention run` deletes exactly the
expired entities (review date passed by the grace period) with their links and the identifiers
nothing else links to, audits each deletion, and `--dry-run` deletes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import neo4j
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.audit.verify import verify_chain
from service.cli import app as cli_app
from service.core import ids
from service.core.db import Database, make_driver
from service.core.settings import Settings, get_settings
from service.domain.lifecycle.retention import add_months
from tests.builders import Auth, link, push, uses
from tests.conftest import cypher


def _retention(monkeypatch: pytest.MonkeyPatch, settings: Settings, *args: str) -> dict[str, Any]:
    """`ofast-graph retention run …` in this process (so it reads the moved clock)."""
    monkeypatch.setenv("OFAST_GRAPH_NEO4J_URI", settings.neo4j_uri)
    monkeypatch.setenv("OFAST_GRAPH_NEO4J_USER", settings.neo4j_user)
    monkeypatch.setenv("OFAST_GRAPH_NEO4J_PASSWORD", settings.neo4j_password)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["retention", "run", *args])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def _chain_ok(settings: Settings) -> None:
    async def check() -> tuple[bool, int, str]:
        db = Database(make_driver(settings), settings.neo4j_database, 1)
        try:
            return await verify_chain(db)
        finally:
            await db.close()

    ok, _, message = asyncio.run(check())
    assert ok, message


def test_review_date_set_at_ingest_shown_to_owner_only(client: TestClient, auth: Auth, clock: Any) -> None:
    police = auth("police", "investigator")
    today = clock.today()
    minor_birth = (today - dt.timedelta(days=365 * 10)).isoformat()
    push(client, police, [
        {"type": "Case", "ref": "C-1", "sharing": "open", "properties": {"title": "Go-fast"}},
        {"type": "Person", "ref": "P-minor", "properties": {"last_name": "Young", "birth_date": minor_birth}},
    ])
    case = ids.entity_id("police", "Case", "C-1")
    mine = client.get(f"/v1/entities/{case}", headers=police).json()
    assert mine["review_due"] == add_months(today, 36).isoformat()
    assert "review_due" not in mine["properties"]
    theirs = client.get(f"/v1/entities/{case}", headers=auth("douane", "analyst")).json()
    assert "review_due" not in theirs and "review_due" not in json.dumps(theirs)
    minor = client.get(f"/v1/entities/{ids.entity_id('police', 'Person', 'P-minor')}", headers=police).json()
    assert minor["review_due"] == add_months(today, 12).isoformat()

    # An unchanged re-push is no update: the date stays; a change moves it.
    clock.advance(dt.timedelta(days=40))
    push(client, police, [{"type": "Case", "ref": "C-1", "sharing": "open", "properties": {"title": "Go-fast"}}])
    assert client.get(f"/v1/entities/{case}", headers=police).json()["review_due"] == add_months(today, 36).isoformat()
    push(client, police, [{"type": "Case", "ref": "C-1", "sharing": "open", "properties": {"title": "Go-fast 2"}}])
    assert client.get(f"/v1/entities/{case}", headers=police).json()["review_due"] == \
        add_months(clock.today(), 36).isoformat()


def test_review_queue_confirm_and_delete(client: TestClient, auth: Auth, graph: neo4j.Driver, clock: Any) -> None:
    police = auth("police", "investigator", unit="OFAST-Marseille")
    push(client, police, [{"type": "Person", "ref": f"P-{k}", "properties": {"last_name": f"N{k}"}}
                          for k in range(3)], [uses("P-2", "06 11 11 11 11")])
    push(client, auth("douane", "investigator"), [{"type": "Person", "ref": "D-1"}])
    assert client.get("/v1/review-queue", headers=police).json()["total"] == 0
    clock.advance(dt.timedelta(days=1100))  # past 36 months

    queue = client.get("/v1/review-queue", params={"limit": 2}, headers=police).json()
    assert queue["total"] == 3 and len(queue["items"]) == 2
    page2 = client.get("/v1/review-queue", params={"limit": 2, "offset": 2}, headers=police).json()
    assert {i["id"] for i in queue["items"] + page2["items"]} == {ids.entity_id("police", "Person", f"P-{k}")
                                                                   for k in range(3)}
    item = queue["items"][0]
    assert item["retained_until"] == (dt.date.fromisoformat(item["review_due"]) + dt.timedelta(days=90)).isoformat()
    early = clock.today() - dt.timedelta(days=1000)
    assert client.get("/v1/review-queue", params={"due_before": early.isoformat()},
                      headers=police).json()["total"] == 0
    douane_queue = client.get("/v1/review-queue", headers=auth("douane", "analyst")).json()
    assert [i["id"] for i in douane_queue["items"]] == [ids.entity_id("douane", "Person", "D-1")]
    assert client.get("/v1/review-queue", params={"due_before": "not-a-date"}, headers=police).status_code == 422

    p0 = ids.entity_id("police", "Person", "P-0")
    assert client.post(f"/v1/review-queue/{p0}/confirm", headers=auth("douane", "investigator")).status_code == 403
    assert client.post("/v1/review-queue/nope/confirm", headers=police).status_code == 404
    phone = ids.identifier_id("Phone", "+33611111111")
    r = client.post(f"/v1/review-queue/{phone}/confirm", headers=police)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = client.post(f"/v1/review-queue/{p0}/confirm", headers=police)
    assert r.status_code == 200, r.text
    assert r.json()["review_due"] == add_months(clock.today(), 36).isoformat()
    assert r.json()["review_confirmed_at"]
    assert client.get("/v1/review-queue", headers=police).json()["total"] == 2

    p2 = ids.entity_id("police", "Person", "P-2")
    assert client.delete(f"/v1/review-queue/{p2}", headers=auth("douane", "investigator")).status_code == 403
    r = client.delete(f"/v1/review-queue/{p2}", headers=police)
    assert r.status_code == 200 and r.json() == {"id": p2, "deleted": True, "identifiers": [phone]}
    assert cypher(graph, "MATCH (n:Node) WHERE n.id IN $ids RETURN n.id AS id", ids=[p2, phone]) == []
    actions = {r["action"]: r for r in cypher(graph, "MATCH (a:AuditEvent) WHERE a.action STARTS WITH 'review.' "
                                                     "RETURN a.action AS action, a.target_ids AS targets")}
    assert actions["review.confirm"]["targets"] == [p0]
    assert actions["review.delete"]["targets"] == [p2, phone]


def test_retention_deletes_exactly_the_expired(client: TestClient, auth: Auth, graph: neo4j.Driver, clock: Any,
                                               settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    police = auth("police", "investigator")
    douane = auth("douane", "investigator")
    push(client, police, [{"type": "Person", "ref": "P-old"}, {"type": "Case", "ref": "C-kept"},
                          {"type": "Person", "ref": "P-other"}],
         [uses("P-old", "06 00 00 00 01"), uses("P-old", "06 00 00 00 02"),
          link("INVOLVED_IN", ("Person", "P-old"), ("Case", "C-kept"))])
    push(client, douane, [{"type": "Person", "ref": "D-1", "properties": {"last_name": "A"}}],
         [uses("D-1", "06 00 00 00 02")])
    # A lookup that found nothing: its memory expires after 12 months.
    r = client.get("/v1/lookup", params={"type": "Phone", "value": "06 00 00 00 09"},
                   headers=auth("gendarmerie", "investigator", purpose="case 7"))
    assert r.json()["hit"] is False

    clock.advance(dt.timedelta(days=1110))  # due (36 months), within the grace period
    r = client.post(f"/v1/review-queue/{ids.entity_id('police', 'Case', 'C-kept')}/confirm", headers=police)
    assert r.status_code == 200
    push(client, douane, [{"type": "Person", "ref": "D-1", "properties": {"last_name": "B"}}])  # an update
    assert _retention(monkeypatch, settings, "--dry-run")["counts"]["entities"] == 0  # still within grace
    clock.advance(dt.timedelta(days=85))  # now more than 90 days past the review date

    before = cypher(graph, "MATCH (n) RETURN count(n) AS n")[0]["n"]
    expired = {ids.entity_id("police", "Person", "P-old"), ids.entity_id("police", "Person", "P-other")}
    orphan = ids.identifier_id("Phone", "+33600000001")
    shared = ids.identifier_id("Phone", "+33600000002")
    dry = _retention(monkeypatch, settings, "--dry-run")
    assert dry["dry_run"] is True
    assert {e["id"] for e in dry["entities"]} == expired
    assert dry["identifiers"] == [orphan]
    assert dry["counts"] == {"entities": 2, "identifiers": 1, "lookup_memories": 1, "review_dates_set": 0}
    assert cypher(graph, "MATCH (n) RETURN count(n) AS n")[0]["n"] == before  # nothing deleted

    done = _retention(monkeypatch, settings)
    assert {e["id"] for e in done["entities"]} == expired
    assert done["identifiers"] == [orphan]
    assert done["counts"]["lookup_memories"] == 1
    left = {r["id"] for r in cypher(graph, "MATCH (n:Node) RETURN n.id AS id")}
    assert left == {ids.entity_id("police", "Case", "C-kept"), ids.entity_id("douane", "Person", "D-1"), shared}
    assert cypher(graph, "MATCH (:Node {id: $id})-[r]-() RETURN count(r) AS n",
                  id=ids.entity_id("police", "Case", "C-kept"))[0]["n"] == 0  # its link to P-old went
    assert cypher(graph, "MATCH (m:LookupMemory) RETURN count(m) AS n")[0]["n"] == 0

    audit = cypher(graph, "MATCH (a:AuditEvent) WHERE a.action STARTS WITH 'retention.' RETURN a.action AS action, "
                          "a.agency AS agency, a.subject AS subject, a.target_ids AS targets")
    deletions = sorted((a["targets"] for a in audit if a["action"] == "retention.delete"), key=len)
    assert [a["agency"] for a in audit if a["action"] == "retention.delete"] == ["police", "police"]
    assert deletions == [[ids.entity_id("police", "Person", "P-other")],
                         [ids.entity_id("police", "Person", "P-old"), orphan]]
    assert [a["agency"] for a in audit if a["action"] == "retention.purge_lookup_memories"] == ["gendarmerie"]
    assert {a["subject"] for a in audit} == {"system:retention"}
    _chain_ok(settings)

    again = _retention(monkeypatch, settings)
    assert again["counts"] == {"entities": 0, "identifiers": 0, "lookup_memories": 0, "review_dates_set": 0}

    # Data stored before review dates existed gets one, never before today: nothing of it goes now.
    cypher(graph, "MATCH (n:Entity) REMOVE n.review_due")
    legacy = _retention(monkeypatch, settings)
    assert legacy["counts"] == {"entities": 0, "identifiers": 0, "lookup_memories": 0, "review_dates_set": 2}
    # D-1 was re-pushed on the service clock after it moved: its date is 36 months after that update,
    # already past today; the case, last written long ago, gets today.
    d1 = ids.entity_id("douane", "Person", "D-1")
    updated = {r["id"]: r["at"] for r in cypher(graph, "MATCH (n:Entity) RETURN n.id AS id, n.updated_at AS at")}
    assert {r["id"]: r["due"] for r in cypher(graph, "MATCH (n:Entity) RETURN n.id AS id, n.review_due AS due")} == {
        ids.entity_id("police", "Case", "C-kept"): clock.today().isoformat(),
        d1: add_months(dt.date.fromisoformat(updated[d1][:10]), 36).isoformat()}


def test_dates_and_policy_settings() -> None:
    from service.access.policy import Lifecycle, load_lifecycle

    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2027, 11, 30), 3) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2026, 5, 2), 36) == dt.date(2029, 5, 2)
    assert load_lifecycle({}) == Lifecycle()
    assert load_lifecycle({"grace_days": 30, "match_name_threshold": 0.9}).grace_days == 30
    for bad in ({"grace_day": 3}, {"grace_days": -1}, {"review_months": 0}, {"match_name_threshold": 1.5},
                {"lookup_memory_months": "twelve"}, {"review_months": 1.5}):
        with pytest.raises(ValueError):
            load_lifecycle(bad)
