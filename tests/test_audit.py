"""The audit trail on a real Neo4j: what is recorded, who reads it, and tampering detected."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import neo4j
from fastapi.testclient import TestClient

from bench.process import api_env
from service.access.auth import Principal
from service.api.app import create_app
from service.audit.journal import journal_dir
from service.audit.trail import AuditLog
from service.audit.verify import replay_orphans, verify_chain
from service.core.db import Database, make_driver
from service.core.settings import Settings
from tests.builders import Auth, bearer, push
from tests.conftest import ROOT, TEST_JWT_SECRET, cypher
from tests.live import LiveService


def verify(settings: Settings) -> tuple[bool, int, str]:
    async def run() -> tuple[bool, int, str]:
        db = Database(make_driver(settings), settings.neo4j_database, 1)
        try:
            return await verify_chain(db, page=7)  # small pages: the paging is exercised too
        finally:
            await db.close()

    return asyncio.run(run())


def cli_verify(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OFAST_GRAPH_NEO4J_URI": settings.neo4j_uri,
           "OFAST_GRAPH_NEO4J_USER": settings.neo4j_user, "OFAST_GRAPH_NEO4J_PASSWORD": settings.neo4j_password,
           "OFAST_GRAPH_STATE_DIR": str(settings.state_dir)}
    return subprocess.run([str(ROOT / ".venv" / "bin" / "ofast-graph"), "audit", "verify", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def seed(client: TestClient, auth: Auth, n: int = 3) -> None:
    for i in range(n):
        push(client, {**auth("police", "investigator", unit="OCRTIS"), "X-Request-ID": f"req-{i}"},
             [{"type": "Person", "ref": f"P-{i}"}])


def events(drv: neo4j.Driver) -> list[dict[str, Any]]:
    return [r["a"] for r in cypher(drv, "MATCH (a:AuditEvent) RETURN a {.*} AS a ORDER BY a.seq")]


def test_reads_and_writes_are_recorded(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    seed(client, auth, 1)
    (ingest,) = events(graph)
    assert ingest["action"] == "ingest" and ingest["subject"] == "police-user" and ingest["agency"] == "police"
    assert ingest["unit"] == "OCRTIS" and ingest["request_id"] == "req-0" and ingest["result_count"] == 1
    assert len(ingest["target_ids"]) == 1 and ingest["seq"] == 1 and ingest["prev_hash"] == ""
    pid = ingest["target_ids"][0]
    r = client.get(f"/v1/entities/{pid}/grants", headers={**auth("police", "analyst"), "X-Request-ID": "rq-read"})
    assert r.status_code == 200
    read = events(graph)[-1]
    assert (read["action"], read["target_ids"], read["request_id"]) == ("grant.list", [pid], "rq-read")
    assert read["prev_hash"] == ingest["hash"]
    # Refused requests carry no data and leave no record; the trail is intact.
    assert client.get(f"/v1/entities/{pid}/grants", headers=auth("douane", "analyst")).status_code == 403
    assert len(events(graph)) == 2


def test_read_the_trail(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    seed(client, auth, 3)
    client.post("/v1/ingest", headers=auth("douane", "investigator"),
                json={"entities": [{"type": "Person", "ref": "D-1"}], "links": []})
    central = auth("ofast", "auditor")
    page = client.get("/v1/audit", headers=central).json()
    assert [i["agency"] for i in page["items"]] == ["douane", "police", "police", "police"]  # newest first
    assert page["next"] is None
    item = page["items"][-1]
    assert set(item) == {"at", "subject", "agency", "unit", "action", "purpose", "request_id", "target_ids",
                         "result_count"}
    assert item["request_id"] == "req-0" and item["unit"] == "OCRTIS"

    # Filters: subject, agency, action, time window.
    assert len(client.get("/v1/audit", params={"subject": "douane-user"}, headers=central).json()["items"]) == 1
    assert len(client.get("/v1/audit", params={"agency": "police", "action": "ingest"},
                          headers=central).json()["items"]) == 3
    # The reads of the trail are recorded themselves.
    assert len(client.get("/v1/audit", params={"action": "audit.read"}, headers=central).json()["items"]) == 3
    first_at = events(graph)[0]["at"]
    later = client.get("/v1/audit", params={"since": first_at, "action": "ingest"}, headers=central).json()
    assert len(later["items"]) == 4
    before = client.get("/v1/audit", params={"until": first_at}, headers=central).json()
    assert before["items"] == []
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.get("/v1/audit", params={"since": future}, headers=central).json()["items"] == []

    # Keyset pagination on seq.
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, "action": "ingest"}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/v1/audit", params=params, headers=central).json()
        seen += [i["subject"] for i in body["items"]]
        cursor = body["next"]
        if not cursor:
            break
    assert seen == ["douane-user", "police-user", "police-user", "police-user"]

    # Another agency's auditor reads its own agency's records only.
    douane = client.get("/v1/audit", params={"action": "ingest"}, headers=auth("douane", "auditor")).json()
    assert [i["agency"] for i in douane["items"]] == ["douane"]
    assert client.get("/v1/audit", params={"agency": "police"},
                      headers=auth("douane", "auditor")).json()["items"] == []

    # The service's own checks answer 400 with their code; the query model's bounds answer 422.
    for bad, status, code in (({"since": "yesterday"}, 400, "invalid_parameter"),
                              ({"until": "2026-13-01"}, 400, "invalid_parameter"),
                              ({"cursor": "abc"}, 400, "invalid_cursor"),
                              ({"limit": 0}, 422, "validation_error")):
        r = client.get("/v1/audit", params=bad, headers=central)
        assert r.status_code == status and r.json()["error"]["code"] == code, (bad, r.text)


def test_verify_detects_an_edited_record(client: TestClient, auth: Auth, graph: neo4j.Driver,
                                         settings: Settings) -> None:
    seed(client, auth, 5)
    assert verify(settings) == (True, 5, "5 records, chain intact")
    ok = cli_verify(settings)
    assert ok.returncode == 0 and "OK" in ok.stdout, ok.stdout + ok.stderr
    cypher(graph, "MATCH (a:AuditEvent {seq: 3}) SET a.subject = 'someone-else'")
    result = verify(settings)
    assert result[0] is False and "record 3 was altered" in result[2]
    broken = cli_verify(settings)
    assert broken.returncode == 1 and "record 3" in broken.stdout, broken.stdout + broken.stderr


def test_verify_detects_a_rehashed_record(client: TestClient, auth: Auth, graph: neo4j.Driver,
                                          settings: Settings) -> None:
    """Editing a record and recomputing its own hash still breaks the link to the next one."""
    from service.audit.chain import chain_hash

    seed(client, auth, 4)
    rec = events(graph)[1]
    rec["purpose"] = "nothing to see"
    cypher(graph, "MATCH (a:AuditEvent {seq: 2}) SET a.purpose = $p, a.hash = $h", p=rec["purpose"],
           h=chain_hash(rec["prev_hash"], rec))
    ok, _, message = verify(settings)
    assert not ok and "record 2 was altered or replaced" in message


def test_verify_detects_deleted_records(client: TestClient, auth: Auth, graph: neo4j.Driver,
                                       settings: Settings) -> None:
    seed(client, auth, 5)
    cypher(graph, "MATCH (a:AuditEvent {seq: 2}) DELETE a")
    ok, checked, message = verify(settings)
    assert not ok and checked == 1 and "record 2 is missing" in message
    assert cli_verify(settings).returncode == 1
    # Deleting the newest record (no gap left behind) is caught by the head.
    cypher(graph, "MATCH (h:AuditHead) SET h.seq = 0, h.hash = ''")
    cypher(graph, "MATCH (a:AuditEvent) DETACH DELETE a")
    seed(client, auth, 3)
    cypher(graph, "MATCH (a:AuditEvent {seq: 3}) DELETE a")
    ok, _, message = verify(settings)
    assert not ok and "record 3 is missing" in message
    cypher(graph, "MATCH (h:AuditHead) DELETE h")
    ok, _, message = verify(settings)
    assert not ok and "head is missing" in message


PRINCIPAL = Principal("sub", "police", "U", ("analyst",), frozenset({"read"}), False)


def test_group_commit_under_concurrency(graph: neo4j.Driver, settings: Settings, tmp_path: Path) -> None:
    """Many concurrent records, from two writers as if two API processes (two journals in one
    folder, one chain): one intact chain, and far fewer journal syncs than records."""
    journal = tmp_path / "audit-journal"

    async def run() -> list[int]:
        db1 = Database(make_driver(settings), settings.neo4j_database, 1)
        db2 = Database(make_driver(settings), settings.neo4j_database, 1)
        try:
            logs = [AuditLog(db1, journal), AuditLog(db2, journal)]
            await asyncio.gather(*(
                logs[i % 2].record(PRINCIPAL, "entity.read", target_ids=[f"id-{i}"], result_count=i)
                for i in range(300)
            ))
            # Both journals are live (locked): neither writer takes the other's for orphaned.
            assert len(list(journal.glob("*.journal"))) == 2
            for log in logs:
                await log.close()
            return [log.syncs for log in logs]
        finally:
            await db1.close()
            await db2.close()

    syncs = asyncio.run(run())
    assert sum(syncs) < 30, syncs  # group sync: one sync covers every record queued meanwhile
    rows = events(graph)
    assert [r["seq"] for r in rows] == list(range(1, 301))
    assert sorted(r["result_count"] for r in rows) == list(range(300))
    assert verify(settings) == (True, 300, "300 records, chain intact")
    assert list(journal.glob("*.journal")) == []  # everything moved: the journals are gone


def test_flush_and_replay_are_idempotent(graph: neo4j.Driver, settings: Settings, tmp_path: Path) -> None:
    """A journal replayed twice (a crash after the Neo4j commit, before the journal was emptied)
    adds its records once; a journal still locked by its writer is left alone."""
    journal = tmp_path / "audit-journal"

    async def run() -> None:
        db = Database(make_driver(settings), settings.neo4j_database, 1)
        try:
            log = AuditLog(db, journal, move_delay=3600)  # the mover waits: records stay in the journal
            for i in range(5):
                await log.record(PRINCIPAL, "entity.read", target_ids=[f"id-{i}"], result_count=i)
            (path,) = journal.glob("*.journal")
            assert len(path.read_text().splitlines()) == 5
            assert events(graph) == []
            assert await replay_orphans(db, journal) == 0  # locked by a live writer: not an orphan
            saved = path.read_bytes()
            await log.flush()  # moves now, whatever the delay
            assert len(events(graph)) == 5
            await log.close()
            assert not path.exists()
            path.write_bytes(saved)  # as if the process had died before emptying its journal
            assert await replay_orphans(db, journal) == 0  # every record is in the chain already
            assert not path.exists()
        finally:
            await db.close()

    asyncio.run(run())
    assert [r["result_count"] for r in events(graph)] == [0, 1, 2, 3, 4]
    assert verify(settings) == (True, 5, "5 records, chain intact")


def test_records_in_the_journal_survive_kill_9(graph: neo4j.Driver, settings: Settings, token: Any,
                                               tmp_path: Path) -> None:
    """The API is killed (-9) after answering reads whose records are in its journal only: the next
    process replays them into the chain at startup, each exactly once, and the chain verifies."""
    state = tmp_path / "state"
    # The mover waits an hour: every record is still only in the journal at the kill.
    env = api_env(settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password, TEST_JWT_SECRET,
                  state_dir=str(state), audit_move_delay_ms="3600000")
    reader = {**bearer(token("gendarmerie", "analyst")), "X-Purpose": "case 2026/7"}
    api = LiveService(env, log=tmp_path / "api.log")
    api.start()
    try:
        for i in range(5):
            r = httpx.get(api.url + "/v1/lookup", params={"type": "Phone", "value": f"06 12 34 56 7{i}"},
                          headers={**reader, "X-Request-ID": f"killed-{i}"}, timeout=30)
            assert r.status_code == 200, r.text
    finally:
        api.kill()
    journal = journal_dir(settings.model_copy(update={"state_dir": state}))
    (path,) = journal.glob("*.journal")
    saved = path.read_bytes()
    assert len(saved.splitlines()) == 5
    assert events(graph) == []  # answered, durable in the journal, not yet in Neo4j

    api = LiveService({**env, "OFAST_GRAPH_AUDIT_MOVE_DELAY_MS": "0"}, log=tmp_path / "api.log")
    api.start()
    try:
        # Reading the trail waits for the replay; the read itself is recorded after it.
        r = httpx.get(api.url + "/v1/audit", params={"action": "lookup"},
                      headers=bearer(token("ofast", "auditor")), timeout=30)
        assert r.status_code == 200, r.text
        assert sorted(i["request_id"] for i in r.json()["items"]) == [f"killed-{i}" for i in range(5)]
    finally:
        api.stop()  # a clean stop moves the audit.read record, then removes the journal
    assert list(journal.glob("*.journal")) == []
    rows = events(graph)
    assert [r["action"] for r in rows] == ["lookup"] * 5 + ["audit.read"]
    assert [r["request_id"] for r in rows[:5]] == [f"killed-{i}" for i in range(5)]
    assert all(r["purpose"] == "case 2026/7" and r["agency"] == "gendarmerie" for r in rows[:5])

    # The dead process's journal comes back (a crash after the replay's commit, before the
    # delete): `ofast-graph audit verify` replays it again, and nothing is added twice.
    path.write_bytes(saved)
    result = cli_verify(settings.model_copy(update={"state_dir": state}), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "ok": True, "checked": 6, "message": "6 records, chain intact", "replayed": 0}
    assert not path.exists()
    assert len(events(graph)) == 6


def test_concurrent_requests_keep_the_chain(client: TestClient, auth: Auth, graph: neo4j.Driver,
                                            settings: Settings) -> None:
    headers = auth("ofast", "auditor")

    def one(_: int) -> int:
        return client.get("/v1/audit", params={"limit": 1}, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(one, range(80)))
    assert statuses == [200] * 80
    assert len(events(graph)) == 80
    assert verify(settings)[0]


def test_records_survive_a_restart(graph: neo4j.Driver, settings: Settings, auth: Auth) -> None:
    with TestClient(create_app(settings), raise_server_exceptions=False) as first:
        r = first.post("/v1/ingest", headers=auth("police", "investigator"),
                       json={"entities": [{"type": "Person", "ref": "P-1"}], "links": []})
        assert r.status_code == 200
    with TestClient(create_app(settings), raise_server_exceptions=False) as second:
        items = second.get("/v1/audit", headers=auth("ofast", "auditor")).json()["items"]
        assert [i["action"] for i in items] == ["ingest"]
        assert second.get("/v1/audit", headers=auth("ofast", "auditor")).json()["items"][0]["action"] == "audit.read"
    assert verify(settings) == (True, 3, "3 records, chain intact")


def test_searches_that_found_nothing_are_recorded(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    headers = {**auth("gendarmerie", "analyst"), "X-Purpose": "procedure 2026/123 JIRS Lille"}
    r = client.get("/v1/search", params={"q": "nobody at all"}, headers=headers)
    assert r.status_code == 200 and r.json()["total"] == 0
    r = client.get("/v1/lookup", params={"type": "Phone", "value": "06 99 99 99 99"}, headers=headers)
    assert r.status_code == 200 and r.json()["hit"] is False
    rows = events(graph)
    assert [(e["action"], e["result_count"], e["purpose"]) for e in rows][:1] == \
        [("search", 0, "procedure 2026/123 JIRS Lille")]
    assert rows[1]["action"] == "lookup" and rows[1]["purpose"] == "procedure 2026/123 JIRS Lille"
    # Without a purpose: refused, nothing read.
    r = client.get("/v1/search", params={"q": "x"}, headers=auth("gendarmerie", "analyst"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "purpose_required"
