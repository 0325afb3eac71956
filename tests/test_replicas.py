"""Three API replicas under uvicorn on 127.0.0.1 over one Neo4j, reached by a `neo4j://` (routing) URI.

Each replica has its own state folder (its audit journal), as on separate machines. The stories:

- agencies push overlapping persons and phones, each through its own replica while its batches
  are re-sent through another and readers look up through a third; lookups made before the data
  existed, objectives, a priority target reviewed through every replica at once and a grant
  given three times at once. Then every alert, late hit, match, target version and grant is
  there exactly once, none missing;
- a replica killed (-9) mid-stream: its clients go on through the others, every acknowledged
  batch is stored once, its journal is replayed into the chain exactly once, the chain verifies
  and every request of the module has exactly one audit record;
- read-your-writes: the bookmark a write answers with on one replica makes a read on another wait
  for it; an invalid bookmark is a 400.
"""

from __future__ import annotations

import itertools
import random
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import neo4j
import pytest

from bench import load
from bench.process import api_env
from importers.client import IngestClient
from service.core import bookmarks
from service.core import ids as core_ids
from tests.builders import Auth, person, uses
from tests.conftest import TEST_JWT_SECRET, cypher, wipe
from tests.live import LiveService
from tests.neo4j_server import Neo4jServer

AGENCIES = ("police", "gendarmerie", "douane")
SHARED = 8  # phones all three agencies use, through persons of the same name and birth date
LATE = 3  # phones each agency looks up before the two others hold them
BATCH = 4  # persons per pushed batch
LAST_NAMES = ("Benali", "Haddad", "Zerrouki", "Mansouri", "Belkacem", "Ferhat", "Amrani", "Kaci")
KILLED = 2  # the replica the kill story kills; its audit mover waits an hour, so its records are journal-only


def shared_phone(k: int) -> str:
    return f"+3361000{k:04d}"


def late_phone(searcher: int, j: int) -> str:
    return f"+3362{searcher}00{j:04d}"


@dataclass
class Calls:
    """Every request the tests sent (request id → status), for the audit check at the end."""

    statuses: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, http: httpx.Client, method: str, url: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
        rid = uuid.uuid4().hex
        r = http.request(method, url, headers={**headers, "X-Request-ID": rid}, timeout=60, **kw)
        with self.lock:
            self.statuses[rid] = r.status_code
        return r


@dataclass
class Fleet:
    replicas: list[LiveService]
    calls: Calls
    base: Path

    def url(self, i: int) -> str:
        return self.replicas[i % len(self.replicas)].url


@pytest.fixture(scope="module")
def fleet(neo4j_srv: Neo4jServer, driver: neo4j.Driver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    wipe(driver)
    routed = neo4j_srv.uri.replace("bolt://", "neo4j://", 1)
    base = tmp_path_factory.mktemp("replicas")
    replicas = []
    for i in range(3):
        env = api_env(routed, neo4j_srv.user, neo4j_srv.password, TEST_JWT_SECRET, state_dir=str(base / f"r{i}"),
                      audit_move_delay_ms="3600000" if i == KILLED else "100")
        replicas.append(LiveService(env, log=base / f"r{i}.log"))
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda s: s.start(ready_timeout=240), replicas))
    try:
        yield Fleet(replicas, Calls(), base)
    finally:
        for s in replicas:
            s.stop()


def _batch(agency: int, ks: list[int]) -> dict[str, Any]:
    """Persons `ks` of the agency, each on its shared phone and, for k < LATE, on the phones the
    two other agencies looked up beforehand."""
    entities: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for k in ks:
        ref = f"{AGENCIES[agency]}-P{k}"
        entities.append(person(ref, first_name="Karim", last_name=LAST_NAMES[k % len(LAST_NAMES)],
                               birth_date=f"1990-01-{k + 1:02d}"))
        phones = [shared_phone(k)] + [late_phone(s, k) for s in range(3) if s != agency and k < LATE]
        for phone in phones:
            entities.append({"type": "Phone", "ref": phone})
            links.append(uses(ref, phone))
    return {"entities": entities, "links": links}


def test_concurrent_story_through_three_replicas(fleet: Fleet, auth: Auth, driver: neo4j.Driver) -> None:
    calls = fleet.calls
    heads = {a: auth(a, "investigator", unit=f"{a}-unit") for a in AGENCIES}
    problems: list[str] = []

    # 1. Lookups that find nothing yet, each through another agency's replica: remembered.
    def look_first(i: int) -> None:
        with httpx.Client() as http:
            for j in range(LATE):
                r = calls.send(http, "GET", f"{fleet.url(i + 1)}/v1/lookup",
                               {**heads[AGENCIES[i]], "X-Purpose": "replica story"},
                               params={"type": "Phone", "value": late_phone(i, j)})
                if r.status_code != 200 or r.json()["hit"]:
                    problems.append(f"first lookup {i}/{j}: {r.status_code} {r.text[:200]}")

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(look_first, range(3)))
    assert not problems, problems

    # 2. Pushes: each agency through its replica, each batch re-sent at once through the next one;
    #    readers look up the shared phones through the third meanwhile.
    batches = {i: [_batch(i, list(range(s, min(s + BATCH, SHARED)))) for s in range(0, SHARED, BATCH)]
               for i in range(3)}
    pushing = threading.Event()
    pushing.set()

    def push(i: int, offset: int) -> None:
        with httpx.Client() as http:
            for body in batches[i]:
                r = calls.send(http, "POST", f"{fleet.url(i + offset)}/v1/ingest", heads[AGENCIES[i]], json=body)
                if r.status_code != 200:
                    problems.append(f"push {i} via +{offset}: {r.status_code} {r.text[:300]}")

    def read(i: int) -> None:
        rng = random.Random(i)
        with httpx.Client() as http:
            while pushing.is_set():
                r = calls.send(http, "GET", f"{fleet.url(i + 2)}/v1/lookup",
                               {**heads[AGENCIES[i]], "X-Purpose": "replica story read"},
                               params={"type": "Phone", "value": shared_phone(rng.randrange(SHARED))})
                if r.status_code != 200:
                    problems.append(f"read {i}: {r.status_code} {r.text[:200]}")

    with ThreadPoolExecutor(9) as pool:
        readers = [pool.submit(read, i) for i in range(3)]
        pushers = [pool.submit(push, i, offset) for i in range(3) for offset in (0, 1)]
        for f in pushers:
            f.result()
        pushing.clear()
        for f in readers:
            f.result()
    assert not problems, problems

    # 3. Each agency declares an objective on its first person, all at once, through three replicas.
    def declare(i: int) -> None:
        with httpx.Client() as http:
            r = calls.send(http, "POST", f"{fleet.url(i + 2)}/v1/objectives", heads[AGENCIES[i]],
                           json={"entity_id": core_ids.entity_id(AGENCIES[i], "Person", f"{AGENCIES[i]}-P0"),
                                 "case_ref": f"CASE-{i}"})
            if r.status_code != 201:
                problems.append(f"objective {i}: {r.status_code} {r.text[:300]}")

    # 4. A priority target activated, then reviewed six times at once through the three replicas.
    manager = auth("ofast", "investigator", "target_manager", unit="ofast-em")
    target_entity = core_ids.entity_id("police", "Person", "police-P1")
    with httpx.Client() as http:
        r = calls.send(http, "POST", f"{fleet.url(0)}/v1/priority-targets", manager,
                       json={"entity_id": target_entity, "justification": "replicas", "proposed_tier": 2})
        assert r.status_code == 201, r.text
        target = r.json()["id"]
        r = calls.send(http, "POST", f"{fleet.url(1)}/v1/priority-targets/{target}/transitions", manager,
                       json={"to": "active", "reason": "validated", "lead_agency": "police"})
        assert r.status_code == 200, r.text

    def review(n: int) -> None:
        with httpx.Client() as http:
            r = calls.send(http, "POST", f"{fleet.url(n)}/v1/priority-targets/{target}/reviews", manager,
                           json={"reason": f"review {n}"})
            if r.status_code != 200:
                problems.append(f"review {n}: {r.status_code} {r.text[:300]}")

    # 5. The same grant given through the three replicas at once.
    granted = core_ids.entity_id("police", "Person", "police-P2")
    grant_statuses: list[int] = []

    def grant(n: int) -> None:
        with httpx.Client() as http:
            r = calls.send(http, "POST", f"{fleet.url(n)}/v1/entities/{granted}/grants", heads["police"],
                           json={"agency": "gendarmerie", "reason": "joint case"})
            grant_statuses.append(r.status_code)

    with ThreadPoolExecutor(12) as pool:
        jobs = ([pool.submit(declare, i) for i in range(3)] + [pool.submit(review, n) for n in range(6)]
                + [pool.submit(grant, n) for n in range(3)])
        for f in jobs:
            f.result()
    assert not problems, problems
    assert sorted(grant_statuses) == [200, 200, 201], grant_statuses

    # Exactly once, nothing missing.
    def alerts(kind: str) -> Counter[str]:
        rows = cypher(driver, "MATCH (a:Alert {kind: $kind}) RETURN a.pair_key AS key", kind=kind)
        return Counter(r["key"] for r in rows)

    pairs = len(AGENCIES) * (len(AGENCIES) - 1)  # ordered pairs of agencies
    shared = alerts("shared_identifier")
    # Every shared phone: each agency told of each other; each looked-up phone: its two holders.
    assert len(shared) == SHARED * pairs + LATE * len(AGENCIES) * 2, sorted(shared)
    # One late hit per memory and holder, to the searcher and to the holder. (The readers' lookups
    # of shared phones not pushed yet are remembered too, and hit late: not counted here.)
    late_ids = [core_ids.identifier_id("Phone", late_phone(s, j)) for s in range(3) for j in range(LATE)]
    memories = [r["id"] for r in cypher(driver, "MATCH (m:LookupMemory) WHERE m.identifier_id IN $ids "
                                                "RETURN m.id AS id", ids=late_ids)]
    assert len(memories) == len(AGENCIES) * LATE
    late = [key for key in alerts("late_hit") if key.split("|")[1] in set(memories)]
    assert len(late) == len(memories) * 2 * 2, sorted(late)
    matches = cypher(driver, "MATCH (m:MatchCandidate) RETURN m.pair_key AS key")
    assert len(matches) == SHARED * 3 and len({m["key"] for m in matches}) == len(matches)
    assert len(alerts("possible_match")) == SHARED * 3 * 2
    assert len(alerts("objective_overlap")) == pairs
    versions = cypher(driver, "MATCH (v:PriorityTargetVersion {target_id: $t}) RETURN v.version AS v ORDER BY v",
                      t=target)
    assert [v["v"] for v in versions] == list(range(1, 9)), versions  # proposal, activation, six reviews
    grants = cypher(driver, "MATCH (g:Grant) RETURN g.entity_id AS e, g.agency AS a")
    assert grants == [{"e": granted, "a": "gendarmerie"}], grants


def test_a_bookmark_from_one_replica_is_honoured_by_another(fleet: Fleet, auth: Auth) -> None:
    police = auth("police", "investigator", unit="police-unit")
    with httpx.Client() as http:
        r = fleet.calls.send(http, "POST", f"{fleet.url(0)}/v1/ingest", police,
                             json={"entities": [person("police-BM", first_name="Nadia", last_name="Ouali")]})
        assert r.status_code == 200, r.text
        token = r.headers[bookmarks.HEADER]
        assert token and all(c.isalnum() or c in "-_" for c in token)  # URL-safe as it is
        entity = core_ids.entity_id("police", "Person", "police-BM")
        r = fleet.calls.send(http, "GET", f"{fleet.url(1)}/v1/entities/{entity}",
                             {**police, bookmarks.HEADER: token})
        assert r.status_code == 200 and r.json()["properties"]["last_name"] == "Ouali", r.text
        assert bookmarks.HEADER not in r.headers  # a read wrote nothing to point at
        # Several bookmarks, comma-separated or in repeated headers, are all waited for.
        r2 = fleet.calls.send(http, "POST", f"{fleet.url(2)}/v1/ingest", police,
                              json={"entities": [person("police-BM2", first_name="Sami", last_name="Ouali")]})
        r = fleet.calls.send(http, "GET", f"{fleet.url(1)}/v1/lookup",
                             {**police, bookmarks.HEADER: f"{token},{r2.headers[bookmarks.HEADER]}",
                              "X-Purpose": "bookmarks"}, params={"type": "Phone", "value": shared_phone(0)})
        assert r.status_code == 200, r.text

    # The importers' client sends its writes' bookmarks, and hands them to a client of another replica.
    token_ = auth("police", "investigator")["Authorization"].removeprefix("Bearer ")
    with IngestClient(fleet.url(0), token_) as first:
        first.push({"entities": [person("police-BM3", first_name="Lina", last_name="Ouali")]})
        assert first.bookmarks
        with IngestClient(fleet.url(2), token_, bookmarks=first.bookmarks) as second:
            assert second.get_entity(core_ids.entity_id("police", "Person", "police-BM3"))["id"]
    with httpx.Client() as http:
        forged = bookmarks.encode(frozenset({"FB:not-a-bookmark"}))
        for bad in ("%%%", "bm!", "e30", forged, ",".join([token] * (bookmarks.MAX_TOKENS + 1))):
            for method, path, body in (("GET", f"/v1/entities/{entity}", None),
                                       ("POST", "/v1/ingest", {"entities": [person("police-BM")]})):
                r = http.request(method, f"{fleet.url(1)}{path}", json=body, timeout=60,
                                 headers={**police, bookmarks.HEADER: bad})
                assert r.status_code == 400, (bad, method, r.status_code, r.text)
                assert r.json()["error"]["code"] == "invalid_bookmark", r.text


def test_a_replica_killed_mid_stream(fleet: Fleet, auth: Auth, driver: neo4j.Driver) -> None:
    """Two pushers cycle through the three replicas; one is killed with requests in flight. A batch
    whose answer was lost is re-sent through the next replica (ingest is idempotent); after each
    acknowledged batch a lookup through another replica, with the batch's bookmark, must hit."""
    calls = fleet.calls
    heads = {a: auth(a, "ingest", "investigator", unit=f"{a}-unit") for a in AGENCIES[:2]}
    alive = [True, True, True]
    acked: dict[str, list[str]] = {}  # batch → entity ids the API answered
    problems: list[str] = []
    done = Counter[str]()
    lock = threading.Lock()

    def body(agency: str, b: int) -> dict[str, Any]:
        refs = [f"{agency}-K{b}-{n}" for n in range(20)]
        return {"entities": [person(r, first_name="Kill", last_name=r) for r in refs]
                + [{"type": "Phone", "ref": f"+3363{AGENCIES.index(agency)}{b:03d}{n:03d}"} for n in range(20)],
                "links": [uses(r, f"+3363{AGENCIES.index(agency)}{b:03d}{n:03d}") for n, r in enumerate(refs)]}

    def pusher(agency: str) -> None:
        turn = itertools.count(AGENCIES.index(agency))
        with httpx.Client() as http:
            for b in range(12):
                for _attempt in range(10):
                    i = next(turn) % 3
                    if not alive[i]:
                        continue
                    try:
                        r = calls.send(http, "POST", f"{fleet.url(i)}/v1/ingest", heads[agency], json=body(agency, b))
                    except httpx.TransportError:
                        continue  # the replica went away with the request: the next one gets it
                    if r.status_code != 200:
                        problems.append(f"{agency} batch {b}: {r.status_code} {r.text[:300]}")
                        break
                    acked[f"{agency}-{b}"] = [e["id"] for e in r.json()["entities"]]
                    j = next(i2 for i2 in (i + 1, i + 2) if alive[i2 % 3]) % 3
                    try:
                        hit = calls.send(http, "GET", f"{fleet.url(j)}/v1/lookup",
                                         {**heads[agency], "X-Purpose": "kill story",
                                          bookmarks.HEADER: r.headers[bookmarks.HEADER]},
                                         params={"type": "Phone", "value": f"+3363{AGENCIES.index(agency)}{b:03d}000"})
                        if hit.status_code != 200 or not hit.json()["hit"]:
                            problems.append(f"read-your-writes {agency} {b}: {hit.status_code} {hit.text[:200]}")
                    except httpx.TransportError:
                        pass  # the lookup's replica was the one killed
                    with lock:
                        done[agency] += 1
                    break
                else:
                    problems.append(f"{agency} batch {b}: no replica took it")

    with ThreadPoolExecutor(2) as pool:
        jobs = [pool.submit(pusher, a) for a in heads]
        while sum(done.values()) < 6 and not any(j.done() for j in jobs):
            threading.Event().wait(0.05)
        # What the kill will leave behind, as the replica reports it (its mover waits an hour).
        metrics = httpx.get(f"{fleet.url(KILLED)}/metrics", timeout=10).text
        unmoved = next(float(line.split()[-1]) for line in metrics.splitlines()
                       if line.startswith("ofast_graph_audit_journal_records "))
        alive[KILLED] = False
        fleet.replicas[KILLED].kill()  # kill -9, with requests in flight
        for f in jobs:
            f.result()
    assert not problems, problems
    assert len(acked) == 24, sorted(acked)

    # Every acknowledged batch stored once: its 20 persons, their phones and links, no copies.
    ids = [i for batch in acked.values() for i in batch]
    rows = cypher(driver, "UNWIND $ids AS id MATCH (n:Node {id: id}) RETURN count(n) AS n, count(DISTINCT id) AS d",
                  ids=ids)
    assert rows[0]["n"] == rows[0]["d"] == len(set(ids)) == 24 * 40
    links = cypher(driver, "MATCH (p:Person)-[u:USES]->() WHERE p.ref STARTS WITH 'police-K' OR "
                           "p.ref STARTS WITH 'gendarmerie-K' RETURN count(u) AS n, count(DISTINCT u.id) AS d")
    assert links[0]["n"] == links[0]["d"] == 24 * 20

    # The killed replica's journal into the chain exactly once (`audit verify` replays what a dead
    # process left), then every request the module sent has exactly one record and the chain verifies.
    for replica in fleet.replicas[:KILLED]:
        replica.stop()  # flushes their journals
    killed_env = fleet.replicas[KILLED].env
    first = load.verify_audit(killed_env)
    assert first["ok"] and first["exit_code"] == 0 and first["replayed"] >= unmoved > 0, (first, unmoved)
    again = load.verify_audit(killed_env)
    assert again["ok"] and again.get("replayed", 0) == 0, again
    audited = Counter(r["rid"] for r in cypher(
        driver, "MATCH (a:AuditEvent) WHERE a.request_id IN $rids RETURN a.request_id AS rid",
        rids=list(calls.statuses)))
    answered = {rid for rid, status in calls.statuses.items() if status < 400 or status == 404}
    assert answered - set(audited) == set(), sorted(answered - set(audited))[:5]
    assert [rid for rid, n in audited.items() if n > 1] == []
