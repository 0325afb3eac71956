"""Importers: the API client, `ofast-graph import` (CSV, JSON lines, FollowTheMoney) and
`ofast-graph demo-data`, end to end over real HTTP (uvicorn on a loopback port) into a real
Neo4j. The 503 tests use a real unreachable Neo4j, and a real TCP relay that comes up late."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest
import uvicorn
from followthemoney import model
from typer.testing import CliRunner

from graph_schema import get_schema
from graph_schema.ftm import LINKS as FTM_LINKS
from graph_schema.ftm import NODES as FTM_NODES
from graph_schema.ftm import UNKNOWN_LINK
from importers.client import (
    ApiRequestError,
    ApiUnavailableError,
    AsyncIngestClient,
    IngestClient,
    RetryPolicy,
    split_batch,
)
from importers.demo import generate
from service.api.app import create_app
from service.cli import app as cli_app
from service.core import ids
from service.core.settings import Settings, get_settings
from tests.conftest import TEST_JWT_SECRET, TokenFactory, cypher


class ServerThread:
    """The real app under uvicorn, in a thread, on a socket bound here (no port race)."""

    def __init__(self, settings: Settings) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: self.server.run(sockets=[self.sock]), daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


class LateRelay:
    """A TCP relay to Neo4j whose port is bound but refuses connections until `open()`:
    the service behind it sees Neo4j down, then up — real sockets, nothing simulated."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        self.port = self.sock.getsockname()[1]
        self.opened = threading.Event()
        self._stop = threading.Event()

    def open(self) -> None:
        if self.opened.is_set():
            return
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.opened.set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


@pytest.fixture(scope="module")
def api(settings: Settings, driver: neo4j.Driver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Its own state folder: were its audit journal left behind (a shutdown that cannot flush in
    # time), the session's app would replay it into whichever later test's graph is current.
    own = settings.model_copy(update={"state_dir": tmp_path_factory.mktemp("importers-state")})
    with ServerThread(own) as server:
        yield server.url


@pytest.fixture
def live(api: str, graph: neo4j.Driver) -> str:
    """The API's URL over a clean graph."""
    return api


runner = CliRunner()


def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any] | None, str]:
    result = runner.invoke(cli_app, list(args), env=env, catch_exceptions=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, (json.loads(lines[-1]) if lines else None), result.stderr


CliResult = tuple[int, dict[str, Any] | None, str]


def run_demo(monkeypatch: pytest.MonkeyPatch, api_url: str, times: int = 1) -> list[CliResult]:
    """`ofast-graph demo-data` (700 nodes, seed 11) against `api_url`, `times` times, its tokens
    signed with the test service's secret."""
    monkeypatch.setenv("OFAST_GRAPH_JWT_SECRET", TEST_JWT_SECRET)
    get_settings.cache_clear()
    try:
        return [run_cli("demo-data", "--size", "700", "--seed", "11", "--api-url", api_url, "--concurrency", "2",
                        "--batch-items", "600", "--json") for _ in range(times)]
    finally:
        get_settings.cache_clear()


# -- the client --------------------------------------------------------------------------------

def test_split_batch_puts_entities_before_links() -> None:
    batch = {"entities": [{"n": i} for i in range(5)], "links": [{"l": i} for i in range(4)]}
    chunks = list(split_batch(batch, 3))
    assert [c.size for c in chunks] == [3, 3, 3]
    assert chunks[1].entities == [{"n": 3}, {"n": 4}] and chunks[1].links == [{"l": 0}]
    assert (chunks[2].entity_offset, chunks[2].link_offset) == (5, 1)
    assert [link for c in chunks for link in c.links] == batch["links"]
    assert list(split_batch({"entities": [], "links": []}, 3)) == []


def test_client_push_chunked_idempotent_and_readback(live: str, token: TokenFactory, graph: neo4j.Driver) -> None:
    batch = {
        "entities": [
            {"type": "Person", "ref": "P-1", "properties": {"first_name": "Karim", "last_name": "Benali",
                                                            "aliases": ["Le Chat"]}},
            {"type": "Person", "ref": "P-2", "sharing": "open", "properties": {"last_name": "Haddad"}},
            {"type": "Phone", "ref": "06 12 34 56 78"},
        ],
        "links": [
            {"type": "USES", "from": {"type": "Person", "ref": "P-1"}, "to": {"type": "Phone", "ref": "+33612345678"}},
            {"type": "ASSOCIATE_OF", "from": {"type": "Person", "ref": "P-1"}, "to": {"type": "Person", "ref": "P-2"}},
        ],
    }
    with IngestClient(live, token("police", "ingest"), source_system="LRPPN", max_items=2) as client:
        first = client.push(batch)
        assert first.requests == 3
        assert [e.index for e in first.entities] == [0, 1, 2]
        assert [lk.index for lk in first.links] == [0, 1]
        assert first.counts == {"created": 5}
        assert len(set(first.batch_ids)) == 3
        again = client.push(batch)
        assert again.counts == {"unchanged": 5}
        assert again.ids() == first.ids()
    with IngestClient(live, token("police", "investigator")) as reader:
        body = reader.get_entity(first.ids()[("Person", "P-1")], purpose="test")
    assert body["properties"]["first_name"] == "Karim"
    assert body["provenance"]["source_system"] == "LRPPN"
    rows = cypher(graph, "MATCH (p:Person {ref: 'P-1'})-[:USES]->(f:Phone) RETURN f.value AS v")
    assert rows == [{"v": "+33612345678"}]


def test_client_raises_4xx_with_the_server_body(live: str, token: TokenFactory, graph: neo4j.Driver) -> None:
    bad = {"entities": [{"type": "Person", "ref": "P-1", "properties": {"birth_date": "yesterday"}},
                        {"type": "Spaceship", "ref": "X"}], "links": []}
    with IngestClient(live, token("police", "ingest")) as client, pytest.raises(ApiRequestError) as caught:
        client.push(bad)
    exc = caught.value
    assert exc.status == 422 and exc.code == "validation_error"
    assert {d["index"] for d in exc.details} == {0, 1}
    assert "422" in str(exc) and "birth_date" in str(exc)
    assert cypher(graph, "MATCH (n:Node) RETURN count(n) AS n") == [{"n": 0}]
    with IngestClient(live, "not-a-jwt") as client, pytest.raises(ApiRequestError) as caught:
        client.push({"entities": [{"type": "Phone", "ref": "0612345678"}], "links": []})
    assert caught.value.status == 401


def test_async_client_pushes_concurrently(live: str, token: TokenFactory, graph: neo4j.Driver) -> None:
    async def run() -> list[Any]:
        async with AsyncIngestClient(live, token("gendarmerie", "ingest"), max_items=2) as client:
            batches = [{"entities": [{"type": "Case", "ref": f"GN-{i}", "properties": {"status": "open"}},
                                     {"type": "Person", "ref": f"GN-P{i}"}],
                        "links": [{"type": "INVOLVED_IN", "from": {"type": "Person", "ref": f"GN-P{i}"},
                                   "to": {"type": "Case", "ref": f"GN-{i}"}, "properties": {"role": "suspect"}}]}
                       for i in range(3)]
            results = await asyncio.gather(*(client.push(b) for b in batches))
            with pytest.raises(ApiRequestError) as caught:
                await client.push({"entities": [{"type": "Case", "ref": "GN-X", "sharing": "secret"}], "links": []})
            assert caught.value.status == 422
            return [r.counts for r in results]

    assert asyncio.run(run()) == [{"created": 3}] * 3
    assert cypher(graph, "MATCH (:Person)-[r:INVOLVED_IN]->(:Case) RETURN count(r) AS n") == [{"n": 3}]


def test_client_gives_up_on_a_service_whose_neo4j_is_down(settings: Settings, token: TokenFactory) -> None:
    down = settings.model_copy(update={"neo4j_uri": "bolt://127.0.0.1:1", "neo4j_password": "x",
                                       "retry_after_seconds": 1, "neo4j_connection_timeout": 1.0})
    waits: list[tuple[int, str, float]] = []
    with ServerThread(down) as server, IngestClient(
            server.url, token("police", "ingest"), retry=RetryPolicy(max_attempts=3, base_delay=0.05),
            on_retry=lambda attempt, reason, delay: waits.append((attempt, reason, delay))) as client, \
            pytest.raises(ApiUnavailableError) as caught:
        client.push({"entities": [{"type": "Phone", "ref": "0612345678"}], "links": []})
    assert caught.value.attempts == 3 and caught.value.last_status == 503
    assert [w[0] for w in waits] == [1, 2]
    assert all(w[1] == "HTTP 503" for w in waits)
    assert all(w[2] >= 1.0 for w in waits)  # Retry-After: 1 is a floor


def test_client_retries_503_until_neo4j_is_back(settings: Settings, driver: neo4j.Driver, graph: neo4j.Driver,
                                                token: TokenFactory, neo4j_srv: Any) -> None:
    host, port = neo4j_srv.uri.removeprefix("bolt://").rsplit(":", 1)
    relay = LateRelay((host, int(port)))
    flaky = settings.model_copy(update={"neo4j_uri": f"bolt://127.0.0.1:{relay.port}", "retry_after_seconds": 1,
                                        "neo4j_connection_timeout": 1.0})
    reasons: list[str] = []

    def on_retry(attempt: int, reason: str, delay: float) -> None:
        reasons.append(reason)
        relay.open()  # Neo4j comes back while the client waits

    batch = {"entities": [{"type": "Person", "ref": "R-1", "properties": {"last_name": "Retry"}},
                          {"type": "Vehicle", "ref": "ab-123-cd"}],
             "links": [{"type": "USES", "from": {"type": "Person", "ref": "R-1"},
                        "to": {"type": "Vehicle", "ref": "AB123CD"}}]}
    try:
        with ServerThread(flaky) as server, IngestClient(
                server.url, token("gendarmerie", "ingest"),
                retry=RetryPolicy(max_attempts=10, base_delay=0.1), on_retry=on_retry) as client:
            result = client.push(batch)
    finally:
        relay.close()
    assert reasons and reasons[0] == "HTTP 503"
    assert result.retries >= 1
    assert result.counts == {"created": 3}
    rows = cypher(graph, "MATCH (p:Person {ref: 'R-1', owner_agency: 'gendarmerie'})-[:USES]->(v:Vehicle) "
                         "RETURN v.value AS v")
    assert rows == [{"v": "AB123CD"}]


# -- ofast-graph import --------------------------------------------------------------------------

def test_ftm_correspondence_names_real_types_and_properties() -> None:
    """graph_schema.ftm names only our schema's types and properties, and FtM's schemata and
    properties (an identifier's value may sit in a descendant's property: a Vessel's imoNumber)."""
    schema = get_schema()
    for type_, node in FTM_NODES.items():
        ftm = model.get(node.schema)
        assert ftm is not None and type_ in schema.nodes, type_
        assert set(node.properties) <= set(schema.nodes[type_].properties), type_
        for prop in (*node.properties.values(), *node.value):
            assert any(s.get(prop) is not None for s in (ftm, *ftm.descendants)), (type_, prop)
    for rel, link in (*FTM_LINKS.items(), ("", UNKNOWN_LINK)):
        ftm = model.get(link.schema)
        assert ftm is not None, link.schema
        assert not rel or set(link.properties) | set(link.percent) <= set(schema.relationships[rel].properties), rel
        for prop in (link.source, link.target, *link.properties.values(), *link.percent.values()):
            assert ftm.get(prop) is not None, (rel, prop)


def _ftm_entities() -> list[dict[str, Any]]:
    def make(schema: str, id_: str, **props: Any) -> Any:
        proxy = model.make_entity(schema)
        proxy.id = id_
        for prop, values in props.items():
            for value in values if isinstance(values, list) else [values]:
                proxy.add(prop, value)
        return proxy

    entities = [
        make("Person", "ftm-p1", name="BENALI Karim", alias=["Le Chat", "KB"], birthDate="1991-03-02",
             nationality="fr", phone="+33 6 12 34 56 78", email="Karim.Benali@Example.org",
             addressEntity="ftm-addr1", notes="seen at the port"),
        make("Person", "ftm-p2", firstName="Mehdi", lastName="Haddad", name="Mehdi Haddad", birthDate="1988"),
        make("Company", "ftm-c1", name="SARL Atlas Transports", registrationNumber="552100554",
             jurisdiction="fr", phone="+33 4 91 00 00 00"),
        make("Organization", "ftm-o1", name="Association du quartier"),
        make("Organization", "ftm-o2", name="Clan Benali", topics="crime.traffick.drug"),
        make("BankAccount", "ftm-b1", iban="FR76 3000 4000 0000 0000 0019 939"),
        make("BankAccount", "ftm-b2", accountNumber="es9121000418450200051332"),
        make("BankAccount", "ftm-b3", bankName="No number bank"),
        make("Vehicle", "ftm-v1", registrationNumber="AB-123-CD", type="car", owner="ftm-p1"),
        make("Address", "ftm-addr1", full="12 rue de la République, 13002 Marseille",
             latitude="43.2990", longitude="5.3700"),
        make("Ownership", "ftm-own1", owner="ftm-p1", asset="ftm-c1", percentage="60", startDate="2019-04-01"),
        make("Ownership", "ftm-own2", owner="ftm-p1", asset="ftm-b1"),
        make("Ownership", "ftm-own3", owner="ftm-c1", asset="ftm-b2"),
        make("Directorship", "ftm-dir1", director="ftm-p2", organization="ftm-c1", role="gérant",
             startDate="2018-01-15", endDate="2023"),
        make("Membership", "ftm-mem1", member="ftm-p1", organization="ftm-o2", role="leader"),
        make("Membership", "ftm-mem2", member="ftm-p2", organization="ftm-o1"),
        make("Payment", "ftm-pay1", payerAccount="ftm-b1", beneficiaryAccount="ftm-b2", amount="15000",
             currency="EUR", date="2024-05-01"),
        make("Payment", "ftm-pay2", payer="ftm-c1", beneficiary="ftm-p1", amountEur="2500"),
        make("Payment", "ftm-pay3", payer="ftm-p2", beneficiary="ftm-c1", amount="10"),
        make("Passport", "ftm-pass1", number="12AB34567", holder="ftm-p1"),
    ]
    return [e.to_dict() for e in entities]


def transfer_events(graph: neo4j.Driver) -> list[dict[str, Any]]:
    """The stored transfer events, their accounts by value, their day."""
    return cypher(graph, "MATCH (e:Event:Transfer) MATCH (a:Node {id: e.from_id}) MATCH (b:Node {id: e.to_id}) "
                         "RETURN e.ref AS ref, a.value AS from, b.value AS to, e.amount_eur AS eur, "
                         "toString(date(e.at)) AS day, e.owner_agency AS owner ORDER BY ref")


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return path


def test_ftm_import_maps_and_reports(live: str, token: TokenFactory, graph: neo4j.Driver, tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "ftm.jsonl", _ftm_entities())
    code, summary, _ = run_cli("import", str(path), "--format", "ftm", "--api-url", live,
                               "--token", token("douane", "ingest"), "--source-system", "aleph", "--json")
    assert code == 0, summary
    assert summary is not None and summary["errors"] == 0
    ftm = summary["ftm"]
    # Not mapped, each counted with its reason: no organisation-as-network, no account, no date, no schema.
    assert ftm["unmapped"] == {"Membership": 1, "Payment": 2, "BankAccount": 1, "Passport": 1}
    reasons = ftm["reasons"]
    assert reasons["Membership: organization maps to Company, not a Network"] == 1
    assert reasons["Passport: no mapping for FtM schema Passport"] == 1
    assert reasons["Payment: payer or beneficiary account not resolvable"] == 1
    assert reasons["Payment: no full date (YYYY-MM-DD): a transfer event needs one"] == 1
    assert reasons["Directorship.endDate: not a full date (YYYY-MM-DD)"] == 1
    assert reasons["Company.phone: USES does not allow Company -> Phone"] == 1
    assert reasons["Person.birthDate: not a full date (YYYY-MM-DD)"] == 1
    assert ftm["dropped_properties"]["Person.notes"] == 1
    assert ftm["mapped"]["Person"] == 2 and ftm["mapped"]["Ownership"] == 3

    def one(query: str, **params: Any) -> dict[str, Any]:
        rows = cypher(graph, query, **params)
        assert len(rows) == 1, (query, rows)
        return rows[0]

    p1 = one("MATCH (p:Person {ref: 'ftm-p1', owner_agency: 'douane'}) RETURN p")["p"]
    assert (p1["first_name"], p1["last_name"]) == ("Karim", "BENALI")
    assert p1["aliases"] == ["Le Chat", "KB"] and p1["birth_date"] == "1991-03-02" and p1["nationality"] == "FR"
    assert p1["source_system"] == "aleph"
    p2 = one("MATCH (p:Person {ref: 'ftm-p2'}) RETURN p")["p"]
    assert (p2["first_name"], p2["last_name"], p2.get("birth_date")) == ("Mehdi", "Haddad", None)
    one("MATCH (:Person {ref: 'ftm-p1'})-[:USES]->(:Phone {value: '+33612345678'}) RETURN 1 AS x")
    one("MATCH (:Person {ref: 'ftm-p1'})-[:USES]->(:Email {value: 'karim.benali@example.org'}) RETURN 1 AS x")
    loc = one("MATCH (:Person {ref: 'ftm-p1'})-[:LOCATED_AT]->(l:Location {ref: 'ftm-addr1'}) RETURN l")["l"]
    assert loc["kind"] == "address" and loc["label"].startswith("12 rue") and loc["lat"] == pytest.approx(43.299)
    company = one("MATCH (c:Company {ref: 'ftm-c1'}) RETURN c")["c"]
    assert company["registration_number"] == "552100554" and company["country"] == "FR"
    assert one("MATCH (c:Company {ref: 'ftm-o1'}) RETURN c.name AS n")["n"] == "Association du quartier"
    assert one("MATCH (n:Network {ref: 'ftm-o2'}) RETURN n.name AS n")["n"] == "Clan Benali"
    owns = one("MATCH (:Person {ref: 'ftm-p1'})-[r:OWNS]->(:Company {ref: 'ftm-c1'}) RETURN properties(r) AS r")["r"]
    assert (owns["share"], owns["since"], owns.get("until")) == (0.6, "2019-04-01", None)
    one("MATCH (:Person {ref: 'ftm-p1'})-[:HOLDS]->(:BankAccount {value: 'FR7630004000000000000019939'}) RETURN 1")
    one("MATCH (:Company {ref: 'ftm-c1'})-[:HOLDS]->(:BankAccount {value: 'ES9121000418450200051332'}) RETURN 1")
    one("MATCH (:Person {ref: 'ftm-p1'})-[:OWNS]->(:Vehicle {value: 'AB123CD'}) RETURN 1 AS x")
    controls = one("MATCH (:Person {ref: 'ftm-p2'})-[r:CONTROLS]->(:Company {ref: 'ftm-c1'}) "
                   "RETURN properties(r) AS r")["r"]
    assert (controls["role"], controls["since"], controls.get("until")) == ("gérant", "2018-01-15", None)
    assert one("MATCH (:Person {ref: 'ftm-p1'})-[r:MEMBER_OF]->(:Network {ref: 'ftm-o2'}) "
               "RETURN r.role AS r")["r"] == "head"
    # pay1 is a transfer event; pay2 (the payer company's and the beneficiary person's only accounts
    # in the file) has no date, so no event.
    assert transfer_events(graph) == [{"ref": "ftm-pay1", "from": "FR7630004000000000000019939",
                                       "to": "ES9121000418450200051332", "eur": 15000.0, "day": "2024-05-01",
                                       "owner": "douane"}]
    assert cypher(graph, "MATCH (n:Node) WHERE n.ref IN ['ftm-b3', 'ftm-pass1'] RETURN n") == []
    assert cypher(graph, "MATCH (:Person {ref: 'ftm-p2'})-[r:MEMBER_OF]->() RETURN r") == []

    # Importing the same file again changes nothing.
    code, again, _ = run_cli("import", str(path), "--format", "ftm", "--api-url", live,
                             "--token", token("douane", "ingest"), "--source-system", "aleph", "--json")
    assert code == 0 and again is not None
    assert set(again["entities"]) == {"unchanged"} and set(again["links"]) == {"unchanged"}
    assert again["events"] == {"unchanged": 1}


def test_ftm_payment_ownership_directorship_keep_their_dates_and_amounts(
        live: str, token: TokenFactory, graph: neo4j.Driver, tmp_path: Path) -> None:
    """Issue 18, item 6: a Payment is a transfer event at its date with its amount; an Ownership
    is the OWNS link patrimony multiplies along (percentage / 100), a Directorship the CONTROLS
    link, each with its start and end dates."""
    def make(schema: str, id_: str, **props: str) -> dict[str, Any]:
        proxy = model.make_entity(schema)
        proxy.id = id_
        for prop, value in props.items():
            proxy.add(prop, value)
        return dict(proxy.to_dict())

    path = _write_jsonl(tmp_path / "money.ftm.jsonl", [
        make("Person", "m-p", firstName="Karim", lastName="Benali"),
        make("Person", "m-d", firstName="Sami", lastName="Prete-Nom"),
        make("Company", "m-c", name="SARL Écran"),
        make("BankAccount", "m-b1", iban="FR76 3000 4000 0000 0000 0019 939"),
        make("BankAccount", "m-b2", iban="ES91 2100 0418 4502 0005 1332"),
        make("Vehicle", "m-v", registrationNumber="GH-456-IJ", type="car"),
        make("Ownership", "m-own-b1", owner="m-p", asset="m-b1"),
        make("Ownership", "m-own-b2", owner="m-c", asset="m-b2"),
        make("Ownership", "m-own-c", owner="m-p", asset="m-c", percentage="40", startDate="2020-01-15",
             endDate="2025-06-30"),
        make("Ownership", "m-own-v", owner="m-c", asset="m-v", percentage="100"),
        make("Directorship", "m-dir", director="m-d", organization="m-c", role="gérant", startDate="2019-06-01"),
        make("Payment", "m-pay", payer="m-p", beneficiary="m-c", amount="9500", currency="EUR",
             date="2024-03-05", purpose="Facture 12"),
    ])
    code, summary, _ = run_cli("import", str(path), "--format", "ftm", "--api-url", live,
                               "--token", token("douane", "ingest"), "--json")
    assert code == 0 and summary is not None and summary["errors"] == 0, summary
    assert summary["ftm"]["unmapped"] == {} and summary["events"] == {"created": 1}

    # The payment: one transfer event between the two parties' only accounts, amount and day kept.
    assert transfer_events(graph) == [{"ref": "m-pay", "from": "FR7630004000000000000019939",
                                       "to": "ES9121000418450200051332", "eur": 9500.0, "day": "2024-03-05",
                                       "owner": "douane"}]
    assert cypher(graph, "MATCH (e:Transfer) RETURN e.reference AS r, e.date_only AS d") == [
        {"r": "Facture 12", "d": True}]
    # The ownership and the directorship, with their dates.
    assert cypher(graph, "MATCH (:Person {ref: 'm-p'})-[r:OWNS]->(:Company {ref: 'm-c'}) "
                         "RETURN r.share AS share, r.since AS since, r.until AS until") == [
        {"share": 0.4, "since": "2020-01-15", "until": "2025-06-30"}]
    assert cypher(graph, "MATCH (:Person {ref: 'm-d'})-[r:CONTROLS]->(:Company {ref: 'm-c'}) "
                         "RETURN r.role AS role, r.since AS since, r.until AS until") == [
        {"role": "gérant", "since": "2019-06-01", "until": None}]
    # Patrimony multiplies the shares along Person -40 %-> Company -100 %-> vehicle.
    with IngestClient(live, token("douane", "investigator")) as reader:
        response, _ = reader.request("GET", f"/v1/entities/{ids.entity_id('douane', 'Person', 'm-p')}/patrimony")
    held = {a["asset"]["value"]: a for a in response.json()["assets"]}
    assert set(held) == {"GH456IJ"} and held["GH456IJ"]["share"] == pytest.approx(0.4)
    assert ids.entity_id("douane", "Company", "m-c") in held["GH456IJ"]["via"]


def _write_csv(folder: Path, name: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text.lstrip())


def test_csv_import(live: str, token: TokenFactory, graph: neo4j.Driver, tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    _write_csv(folder, "persons.csv", """
ref,sharing,first_name,last_name,aliases,birth_date,nationality
P-1,,Karim,Benali,Le Chat; Tonton,1991-03-02,FR
P-2,confidential,Nadia,Haddad,,,
P-3,,Bad,Date,,1991-13-45,
""")
    _write_csv(folder, "networks.csv", "ref,name,kind,territory,reliability,accuracy,handling\n"
                                       "N-1,Clan Benali,retail_point,Marseille (13),B,2,H2\n")
    _write_csv(folder, "phones.csv", "ref\n06 12 34 56 78\n+33 7 00 00 00 01\n")
    _write_csv(folder, "seizures.csv", 'ref,date,drug,quantity,unit,method\nS-1,2024-06-01,cocaine,"12,5",kg,road\n')
    _write_csv(folder, "locations.csv",
               "ref,kind,label,lat,lon,insee_code\nL-1,deal_point,Cité des Acacias,43.35,5.36,13055\n")
    _write_csv(folder, "links.csv", """
type,from_type,from_ref,to_type,to_ref,sharing,since,count
USES,Person,P-1,Phone,0612345678,,2024-01-01,
USES,Person,P-1,Phone,+33 6 12 34 56 78,,2024-02-01,
CALLED,Phone,0612345678,Phone,0700000001,,,42
SEIZED_FROM,Seizure,S-1,Person,P-1,open,,
OPERATES,Network,N-1,Location,L-1,,,
USES,Person,P-3,Phone,0612345678,,,
""")
    _write_csv(folder, "member_of.csv", "from_type,from_ref,to_type,to_ref,role\nPerson,P-1,Network,N-1,head\n"
                                        "Person,P-2,Network,N-1,lookout\n")
    code, summary, _ = run_cli("import", str(folder), "--format", "csv", "--api-url", live,
                               "--token", token("police", "ingest"), "--json", "--chunk-size", "3")
    assert code == 1 and summary is not None  # the row with a bad date (and its link) were refused
    assert summary["errors"] == 2
    assert any("persons.csv:4" in p and "birth_date" in p for p in summary["problems"])
    assert any("links.csv:7" in p and "left out" in p for p in summary["problems"])
    assert summary["entities"] == {"created": 7} and summary["links"] == {"created": 6}
    assert summary["duplicates"] == 1  # the same link, the phone spelt another way: the last mention wins
    assert cypher(graph, "MATCH (:Person {ref: 'P-1'})-[u:USES]->(:Phone) RETURN u.since AS s") == [{"s": "2024-02-01"}]
    p1 = cypher(graph, "MATCH (p:Person {ref: 'P-1'}) RETURN p")[0]["p"]
    assert p1["aliases"] == ["Le Chat", "Tonton"] and p1["sharing"] == "restricted"
    assert cypher(graph, "MATCH (p:Person {ref: 'P-2'}) RETURN p.sharing AS s") == [{"s": "confidential"}]
    assert cypher(graph, "MATCH (s:Seizure {ref: 'S-1'}) RETURN s.quantity AS q") == [{"q": 12.5}]
    assert cypher(graph, "MATCH (:Phone)-[c:CALLED]->(:Phone {value: '+33700000001'}) RETURN c.count AS n") \
        == [{"n": 42}]
    assert cypher(graph, "MATCH (l:Location {ref: 'L-1'}) RETURN l.lat AS lat, l.insee_code AS insee") \
        == [{"lat": 43.35, "insee": "13055"}]
    roles = cypher(graph, "MATCH (p:Person)-[m:MEMBER_OF]->(:Network {ref: 'N-1'}) RETURN p.ref AS p, m.role AS r "
                          "ORDER BY p")
    assert roles == [{"p": "P-1", "r": "head"}, {"p": "P-2", "r": "lookout"}]
    assert cypher(graph, "MATCH (p:Person {ref: 'P-3'}) RETURN p") == []
    assert cypher(graph, "MATCH (n:Network {ref: 'N-1'}) RETURN n.reliability AS r, n.accuracy AS a, n.handling AS h") \
        == [{"r": "B", "a": "2", "h": "H2"}]


def test_csv_import_refuses_unknown_files_and_columns(live: str, token: TokenFactory, graph: neo4j.Driver,
                                                      tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    _write_csv(folder, "persons.csv", "ref,first_name,shoe_size\nP-1,Karim,44\n")
    code, _, stderr = run_cli("import", str(folder), "--format", "csv", "--api-url", live,
                              "--token", token("police", "ingest"))
    assert code == 2 and "shoe_size" in stderr
    _write_csv(folder, "persons.csv", "ref,first_name\nP-1,Karim\n")
    _write_csv(folder, "spaceships.csv", "ref\nX\n")
    code, _, stderr = run_cli("import", str(folder), "--format", "csv", "--api-url", live,
                              "--token", token("police", "ingest"))
    assert code == 2 and "spaceships.csv" in stderr
    assert cypher(graph, "MATCH (n:Node) RETURN count(n) AS n") == [{"n": 0}]


def test_jsonl_import_batches_and_items(live: str, token: TokenFactory, graph: neo4j.Driver, tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [
        # an item-per-line link before the entity it names: regrouped, entities first
        {"kind": "link", "type": "HOLDS", "from": {"type": "Company", "ref": "C-1"},
         "to": {"type": "BankAccount", "ref": "FR76 3000 4000 0000 0000 0019 939"}},
        {"kind": "entity", "type": "Company", "ref": "C-1", "properties": {"name": "SAS Horizon", "country": "FR"}},
        {"entities": [{"type": "Person", "ref": "P-9", "properties": {"last_name": "Roux"}},
                      {"type": "Asset", "ref": "A-1", "properties": {"kind": "real_estate", "value_eur": 350000,
                                                                     "status": "seized"}}],
         "links": [{"type": "OWNS", "from": {"type": "Person", "ref": "P-9"}, "to": {"type": "Asset", "ref": "A-1"}},
                   {"type": "CONTROLS", "from": {"type": "Person", "ref": "P-9"},
                    "to": {"type": "Company", "ref": "C-1"}}]},
        {"kind": "entity", "type": "Person", "ref": "P-10", "properties": {"height": 180}},
    ]
    path = _write_jsonl(tmp_path / "batch.jsonl", rows)
    with path.open("a") as fh:
        fh.write("this is not json\n")
    args = ("import", str(path), "--format", "jsonl", "--api-url", live, "--token", token("douane", "ingest"),
            "--sharing", "open", "--json")
    code, summary, _ = run_cli(*args)
    assert code == 1 and summary is not None
    assert summary["errors"] == 2
    assert any("batch.jsonl:4" in p and "height" in p for p in summary["problems"])
    assert any("batch.jsonl:5" in p and "not JSON" in p for p in summary["problems"])
    # The bank account, named only as a link end, is merged but not reported among the entities.
    assert summary["entities"] == {"created": 3} and summary["links"] == {"created": 3}
    assert cypher(graph, "MATCH (c:Company {ref: 'C-1'})-[:HOLDS]->(b:BankAccount) RETURN c.sharing AS s, "
                         "b.value AS v") == [{"s": "open", "v": "FR7630004000000000000019939"}]
    assert cypher(graph, "MATCH (a:Asset {ref: 'A-1'}) RETURN a.value_eur AS v") == [{"v": 350000.0}]
    code, again, _ = run_cli(*args)
    assert again is not None and again["entities"] == {"unchanged": 3} and again["links"] == {"unchanged": 3}


def test_import_mints_a_development_token(live: str, graph: neo4j.Driver, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_jsonl(tmp_path / "one.jsonl", [{"kind": "entity", "type": "Case", "ref": "GN-1",
                                                  "properties": {"reference": "GN-1", "status": "open"}}])
    monkeypatch.setenv("OFAST_GRAPH_JWT_SECRET", TEST_JWT_SECRET)
    get_settings.cache_clear()
    try:
        code, summary, _ = run_cli("import", str(path), "--format", "jsonl", "--api-url", live,
                                   "--agency", "gendarmerie", "--role", "ingest", "--json")
    finally:
        get_settings.cache_clear()
    assert code == 0 and summary is not None and summary["entities"] == {"created": 1}
    assert cypher(graph, "MATCH (c:Case {ref: 'GN-1'}) RETURN c.owner_agency AS a") == [{"a": "gendarmerie"}]


# -- demo data -----------------------------------------------------------------------------------

def test_demo_generator_is_deterministic_and_bounded() -> None:
    first = list(generate(600, seed=5, batch_items=500))
    assert first == list(generate(600, seed=5, batch_items=500))
    assert first != list(generate(600, seed=6, batch_items=500))
    assert {b.agency for b in first} == {"police", "gendarmerie", "douane"}
    nodes = sum(b.nodes for b in first)
    assert 600 <= nodes < 700
    # Batches stay near their size whatever the total (memory is bounded by them).
    assert max(len(b.batch["entities"]) + len(b.batch["links"]) for b in first) < 500 + 400


def test_demo_data_loads_with_cross_agency_identifiers(live: str, graph: neo4j.Driver,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (code, summary, stderr), (again_code, again, _) = run_demo(monkeypatch, live, times=2)
    assert code == 0, (stderr, summary and summary["refused"])
    assert summary is not None and summary["refused"] == []
    nodes = cypher(graph, "MATCH (n:Node) RETURN count(n) AS n")[0]["n"]
    assert nodes == summary["nodes"]  # the size accounting is exact: every node counted once
    by_agency = {r["a"]: r["n"] for r in cypher(
        graph, "MATCH (n:Entity) RETURN n.owner_agency AS a, count(*) AS n")}
    assert set(by_agency) == {"police", "gendarmerie", "douane"}
    shared = cypher(graph, """
        MATCH (i:Identifier)<-[]-(e:Entity)
        WITH i, collect(DISTINCT e.owner_agency) AS agencies WHERE size(agencies) >= 2
        RETURN labels(i) AS labels, count(*) AS n""")
    shared_types = {label for row in shared for label in row["labels"]}
    assert {"Phone", "BankAccount"} <= shared_types
    assert sum(row["n"] for row in shared) >= 5
    sharing = {r["s"] for r in cypher(graph, "MATCH (n:Entity) RETURN DISTINCT n.sharing AS s")}
    assert sharing == {"open", "restricted", "confidential"}
    points = cypher(graph, "MATCH (l:Location {kind: 'deal_point'}) RETURN l.lat AS lat, l.insee_code AS c LIMIT 5")
    assert points and all(40 < p["lat"] < 52 and len(p["c"]) == 5 for p in points)
    drugs = {r["d"] for r in cypher(graph, "MATCH (s:Seizure) RETURN DISTINCT s.drug AS d")}
    assert "cocaine" in drugs and "cannabis_resin" in drugs
    assert cypher(graph, "MATCH (p:Person) WHERE size(p.aliases) > 0 RETURN count(p) AS n")[0]["n"] > 0
    # Pushing the same scenario again changes nothing.
    assert again_code == 0 and again is not None
    for counts in again["results"].values():
        assert set(counts["entities"]) <= {"unchanged"} and set(counts["links"]) <= {"unchanged"}
