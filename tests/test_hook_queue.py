"""The hook queue (issue 15, item 5) on a real Neo4j: a batch whose matching or late hits would
exceed their budget commits (200) and queues the work; draining the queue — through the code the
API process's worker runs — raises exactly the alerts and match candidates the batch would have
raised in its transaction; two drainers never work a task twice; a failing task stays queued,
visible, and is retried."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
from collections.abc import Iterator
from typing import Any

import neo4j
import pytest
from fastapi.testclient import TestClient

from service.access.policy import Policy
from service.domain.lifecycle import queue
from tests.builders import Auth, person, push, uses
from tests.conftest import cypher, wipe

HUB = "06 11 22 33 44"
REMEMBERED = "06 55 66 77 88"

# Fields of what the hooks raise that do not depend on when they ran.
ALERTS = ("MATCH (a:Alert) WHERE a.kind IN ['possible_match', 'late_hit'] "
          "RETURN a {.pair_key, .kind, .agency, .entity_id, .identifier_id, .counterpart_agency, "
          ".counterpart_contact, .purpose, .reasons, .match_id} AS a ORDER BY a.pair_key")
CANDIDATES = ("MATCH (c:MatchCandidate) RETURN c {.pair_key, .id, .person_a, .person_b, .agency_a, .agency_b, "
              ".reasons, .score, .status} AS c ORDER BY c.pair_key")


@pytest.fixture
def tight(client: TestClient) -> Iterator[Policy]:
    """The app's policy with every hook budget at 0 (any hook work is queued) and its background
    worker paused, so the test drains the queue itself; the shipped policy is put back after."""
    app: Any = client.app
    shipped: Policy = app.state.policy
    lifecycle = dataclasses.replace(shipped.lifecycle, hook_max_match_persons=0, hook_max_match_walk=0,
                                    hook_max_late_hit_walk=0, hook_worker_poll_seconds=0)
    app.state.policy = dataclasses.replace(shipped, lifecycle=lifecycle)
    try:
        yield app.state.policy
    finally:
        app.state.policy = shipped


def _drain(client: TestClient, policy: Policy, worker: str = "test-worker", **kwargs: Any) -> queue.DrainReport:
    app: Any = client.app
    return client.portal.call(functools.partial(queue.drain, app.state.db, policy, worker, **kwargs))  # type: ignore[union-attr]


def _scenario(client: TestClient, auth: Auth) -> None:
    """A gendarmerie lookup with no hit, then douane's and police's persons: the same people under
    other spellings, on one hub phone; police also links the remembered phone (a late hit)."""
    r = client.get("/v1/lookup", params={"type": "Phone", "value": REMEMBERED},
                   headers=auth("gendarmerie", "investigator", unit="BR-Lyon", purpose="PROC-7 stups Lyon"))
    assert r.status_code == 200 and r.json()["hit"] is False
    push(client, auth("douane", "ingest", unit="DNRED"),
         [person("DN-1", first_name="Karim", last_name="Benali", birth_date="1990-04-02"),
          person("DN-2", first_name="Dmitri", last_name="Ivanov", birth_date="1985-07-14")],
         [uses("DN-1", HUB), uses("DN-2", HUB)])
    push(client, auth("police", "ingest", unit="OCRTIS"),
         [person("PN-1", first_name="BENALI", last_name="karim", birth_date="1990-04-02"),
          person("PN-2", first_name="Dmitry", last_name="Ivanov", birth_date="1985-07-15"),
          person("PN-3", first_name="Yacine", last_name="Haddad")],
         [uses("PN-1", HUB), uses("PN-2", HUB), uses("PN-3", REMEMBERED)])


def _raised(graph: neo4j.Driver) -> dict[str, list[dict[str, Any]]]:
    """The hooks' alerts and candidates; a late hit's key names its memory by (agency|unit|identifier),
    not by the memory's random id, so that two runs compare."""
    memories = {r["id"]: r["key"] for r in cypher(graph, "MATCH (m:LookupMemory) RETURN m.id AS id, m.key AS key")}
    alerts = [r["a"] for r in cypher(graph, ALERTS)]
    for alert in alerts:
        for memory_id, key in memories.items():
            alert["pair_key"] = alert["pair_key"].replace(memory_id, key)
    return {"alerts": sorted(alerts, key=lambda a: a["pair_key"]),
            "candidates": [r["c"] for r in cypher(graph, CANDIDATES)]}


def _tasks(graph: neo4j.Driver) -> list[dict[str, Any]]:
    return [r["t"] for r in cypher(graph, "MATCH (t:HookTask) RETURN t {.*} AS t ORDER BY t.created_at, t.id")]


def test_over_budget_batch_commits_and_the_drained_queue_raises_what_the_transaction_would(
        client: TestClient, auth: Auth, graph: neo4j.Driver, tight: Policy) -> None:
    _scenario(client, auth)  # every push answered 200 (`push` asserts it)
    tasks = _tasks(graph)
    assert sorted(t["kind"] for t in tasks) == ["late_hits", "matching", "matching"]
    assert all(t["attempts"] == 0 and "claimed_by" not in t for t in tasks)
    assert _raised(graph) == {"alerts": [], "candidates": []}  # nothing yet: the work is queued
    assert cypher(graph, "MATCH (p:Person) RETURN count(p) AS n")[0]["n"] == 5  # the batches committed

    report = _drain(client, tight)
    assert (report.done, report.failed, report.skipped) == (3, 0, 0)
    assert report.alerts["possible_match"] == 4 and report.alerts["late_hit"] == 2
    assert _tasks(graph) == []
    queued = _raised(graph)
    assert {a["kind"] for a in queued["alerts"]} == {"possible_match", "late_hit"}
    assert len(queued["candidates"]) == 2
    assert _drain(client, tight).done == 0  # drained: a second drain finds nothing

    # The same pushes under the shipped budgets: the hooks run in the batches' transactions.
    app: Any = client.app
    app.state.policy = dataclasses.replace(tight, lifecycle=dataclasses.replace(
        tight.lifecycle, hook_max_match_persons=5000, hook_max_match_walk=250_000, hook_max_late_hit_walk=250_000))
    wipe(graph)
    _scenario(client, auth)
    assert _tasks(graph) == []
    assert _raised(graph) == queued


def test_two_drainers_racing_work_each_task_once(client: TestClient, auth: Auth, graph: neo4j.Driver,
                                                 tight: Policy) -> None:
    app: Any = client.app
    policy = dataclasses.replace(tight, lifecycle=dataclasses.replace(tight.lifecycle, hook_task_size=1))
    app.state.policy = policy
    # Twelve people known to both agencies, none alike another.
    people = [(first, last, f"1990-04-{k + 1:02d}") for k, (first, last) in enumerate(zip(
        ("Karim", "Julien", "Sophie", "Miguel", "Linh", "Claire", "Hugo", "Emma", "Louis", "Chloé", "Paul", "Inès"),
        ("Benali", "Moreau", "Lefebvre", "Garcia", "Nguyen", "Rousseau", "Fontaine", "Chevalier", "Mercier",
         "Dupont", "Lambert", "Bonnet"), strict=True))]
    douane = [person(f"DN-{k}", first_name=f, last_name=n, birth_date=b) for k, (f, n, b) in enumerate(people)]
    police = [person(f"PN-{k}", first_name=f, last_name=n, birth_date=b) for k, (f, n, b) in enumerate(people)]
    push(client, auth("douane", "ingest"), douane)
    push(client, auth("police", "ingest"), police)
    assert len(_tasks(graph)) == 24  # one task per person (hook_task_size 1)

    # A claims every task, its claims lapse, and then A (resuming its own) and B (taking lapsed
    # ones) drain at once: both hold claims on the same tasks, and their work transactions race.
    client.portal.call(functools.partial(queue._claim, app.state.db, policy, "A", 24))  # type: ignore[union-attr]
    cypher(graph, "MATCH (t:HookTask) SET t.claimed_until = '2000-01-01T00:00:00.000000+00:00'")

    async def race() -> list[queue.DrainReport]:  # one driver, one loop: the transactions interleave
        return list(await asyncio.gather(queue.drain(app.state.db, policy, "A", claim=3),
                                         queue.drain(app.state.db, policy, "B", claim=3)))

    reports = client.portal.call(race)  # type: ignore[union-attr]
    assert sum(r.done for r in reports) == 24, reports
    assert sum(r.failed for r in reports) == 0
    assert _tasks(graph) == []
    # 12 exact pairs (same name and birth date), each alerted to both owners, once.
    assert sum(r.alerts.get("possible_match", 0) for r in reports) == 24
    assert len(_raised(graph)["candidates"]) == 12


def _metric(client: TestClient, name: str, **labels: str) -> float:
    text = client.get("/metrics").text
    want = name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{want} not in /metrics")


def test_a_failing_task_stays_queued_visible_and_is_retried(client: TestClient, auth: Auth, graph: neo4j.Driver,
                                                           tight: Policy, clock: Any) -> None:
    push(client, auth("douane", "ingest"), [person("DN-1", first_name="Karim", last_name="Benali",
                                                   birth_date="1990-04-02")])
    push(client, auth("police", "ingest"), [person("PN-1", first_name="Karim", last_name="Benali",
                                                   birth_date="1990-04-02")])
    payloads = {t["id"]: t["payload"] for t in _tasks(graph)}
    assert len(payloads) == 2
    cypher(graph, "MATCH (t:HookTask) SET t.payload = 'not json'")
    failed_before = _metric(client, "ofast_graph_hook_tasks_total", kind="matching", outcome="failed")

    report = _drain(client, tight)
    assert (report.done, report.failed) == (0, 2)
    tasks = _tasks(graph)
    assert [t["attempts"] for t in tasks] == [1, 1]
    assert all(t["last_error"].startswith("JSONDecodeError") and t.get("claimed_by") is None for t in tasks)
    app: Any = client.app
    status = client.portal.call(queue.status, app.state.db)  # type: ignore[union-attr]
    assert [(k["kind"], k["tasks"], k["failing"], k["max_attempts"]) for k in status["kinds"]] == [
        ("matching", 2, 2, 1)]
    assert {t["id"] for t in status["failing"]} == set(payloads)
    assert _metric(client, "ofast_graph_hook_queue_failing_tasks", kind="matching") == 2
    assert _metric(client, "ofast_graph_hook_tasks_total", kind="matching", outcome="failed") == failed_before + 2

    assert _drain(client, tight).failed == 0  # not before its retry time (hook_retry_seconds)
    clock.advance(dt.timedelta(seconds=tight.lifecycle.hook_retry_seconds + 1))
    assert _drain(client, tight).failed == 2
    assert [t["attempts"] for t in _tasks(graph)] == [2, 2]

    # Repaired, it succeeds at its next try (the wait doubled) and the match appears.
    for task_id, payload in payloads.items():
        cypher(graph, "MATCH (t:HookTask {id: $id}) SET t.payload = $payload", id=task_id, payload=payload)
    clock.advance(dt.timedelta(seconds=tight.lifecycle.hook_retry_seconds + 1))
    assert _drain(client, tight).done == 0
    clock.advance(dt.timedelta(seconds=tight.lifecycle.hook_retry_seconds + 1))
    report = _drain(client, tight)
    assert (report.done, report.failed) == (2, 0)
    assert _tasks(graph) == []
    assert len(_raised(graph)["candidates"]) == 1
    client.portal.call(queue.status, app.state.db)  # type: ignore[union-attr]
    assert _metric(client, "ofast_graph_hook_queue_failing_tasks", kind="matching") == 0
