"""`ofast-graph bulk-load`: the same partner files pushed once through the API (`ofast-graph
import`, a real server) into the test instance and once bulk-loaded (neo4j-admin) into another
local instance that this module starts; the two graphs must be the same — nodes with their
labels and properties, relationships with their ends and properties (timestamps and batch ids
aside), alerts and match candidates — for CSV, JSON lines and FollowTheMoney input."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import neo4j
import pytest
from followthemoney import model

from importers import csv_import, ftm, jsonl_import
from importers.client import EventsResult, IngestClient, IngestResult
from importers.loader import BatchWriter, ImportSummary
from service.core.settings import Settings
from service.neo4j_local.manager import LocalNeo4j, from_settings
from tests.builders import Item, ent, link, person, uses
from tests.conftest import TokenFactory, cypher, wipe
from tests.neo4j_server import TEST_PORT
from tests.test_importers import ServerThread, run_cli

# Its own instance beside the test one, on a port that follows the test port, so two runs on
# one machine (each with its own OFAST_GRAPH_TEST_BOLT_PORT) never share it.
BULK_PORT = TEST_PORT + 10
AGENCIES = ("douane", "gendarmerie", "police")  # the order bulk-load loads them in (folder names)
SOURCE = "partner-export"
VOLATILE = {"created_at", "updated_at", "batch_id"}


# -- the scenario: three agencies sharing phones, an account and a plate; persons alike ----------

def scenario(fmt: str) -> dict[str, list[tuple[str, Item]]]:
    """Per agency, ("entity" | "link", item) in file order."""
    def e(*items: Item) -> list[tuple[str, Item]]:
        return [("entity", i) for i in items]

    def lk(*items: Item) -> list[tuple[str, Item]]:
        return [("link", i) for i in items]

    iban = "FR76 3000 4000 0000 0000 0019 939"
    douane = e(
        person("D-1", "open", first_name="Karim", last_name="Benali", birth_date="1991-03-02", aliases=["KB"]),
        person("D-2", None, first_name='Sofiane "Le Grec"', last_name="Haddad, Jr", birth_date="1985-05-05"),
        ent("Phone", "06 12 34 56 78", None),
        ent("BankAccount", iban, None),
        ent("Case", "C-1", None, title="Affaire\nsur deux lignes", reference="2024/00042", reliability="B",
            accuracy="2", handling="H3", handling_note="ne pas diffuser sans accord"),
    ) + lk(
        uses("D-1", "06 12 34 56 78", None),
        link("HOLDS", ("Person", "D-2"), ("BankAccount", iban), None),
        link("INVOLVED_IN", ("Person", "D-1"), ("Case", "C-1"), None, role="suspect"),
    )
    gendarmerie = e(
        person("G-1", None, first_name="Karim", last_name="BENALI", birth_date="1991-03-02"),
        person("G-2", None, first_name="Nadia", last_name="Hadad", birth_date="1988-07-14"),
        person("G-3", None, first_name="Mehdi", last_name="Mansoury", birth_date="1990-01-01"),
        ent("Phone", "+33 6 12 34 56 78", None),
        ent("Phone", "0700000001", None),
        ent("Vehicle", "AB-123-CD", None, kind="boat"),
    ) + lk(
        uses("G-1", "+33 6 12 34 56 78", None),
        uses("G-2", "0700000001", None),
        link("USES", ("Person", "G-3"), ("Vehicle", "AB-123-CD"), None),
        {**link("CALLED", ("Phone", "0612345678"), ("Phone", "0700000001"), None, count=3), "ref": "g-1"},
    )
    police = e(
        person("P-1", None, first_name="Karim", last_name="Benali", birth_date="1991-03-02",
               aliases=["Le Chat", "Tonton"]),
        person("P-2", "confidential", first_name="Nadia", last_name="Haddad", birth_date="1988-07-14"),
        person("P-3", None, first_name="Lucas", last_name="Petit", birth_date="2012-05-05"),  # a minor
        person("P-4", None, first_name="Mehdi", last_name="Mansouri", birth_date="1990-01-01"),
        ent("Network", "N-1", None, name="Clan Benali", kind="retail_point", territory="Marseille"),
        ent("Vehicle", "ab123cd", None, kind="car"),  # the plate the gendarmerie said is a boat
        ent("Phone", "0700000001", None),
        ent("Phone", "+33700000001", None),  # the same phone again, spelt otherwise
        ent("Location", "L-1", None, kind="deal_point", label="Cité des Acacias", lat=43.35, lon=5.36),
    ) + lk(
        uses("P-1", "06 12 34 56 78", None, since="2024-01-01"),
        uses("P-1", "0699999999", None),  # a phone named only as a link end
        uses("P-2", "07 00 00 00 01", None),
        uses("P-3", "07 00 00 00 01", None),
        link("MEMBER_OF", ("Person", "P-1"), ("Network", "N-1"), None, role="head"),
        link("MEMBER_OF", ("Person", "P-4"), ("Network", "N-1"), "open", role="courier"),
        link("USES", ("Person", "P-4"), ("Vehicle", "AB123CD"), None),
        link("HOLDS", ("Person", "P-4"), ("BankAccount", iban), None),
        link("OPERATES", ("Network", "N-1"), ("Location", "L-1"), None),
        link("CALLED", ("Phone", "0612345678"), ("Phone", "0700000001"), None, count=42),
    )
    if fmt == "jsonl":  # what only JSON can say: an empty list (a patch after the import)
        police += e(person("P-5", None, first_name="Yanis", last_name="Roux", aliases=[]))
    return {"douane": douane, "gendarmerie": gendarmerie, "police": police}


def write_jsonl(folder: Path, items: list[tuple[str, Item]]) -> Path:
    path = folder / "export.jsonl"
    path.write_text("".join(json.dumps({"kind": kind, **item}, ensure_ascii=False) + "\n" for kind, item in items))
    return path


def _cell(value: Any) -> str:
    return "; ".join(value) if isinstance(value, list) else str(value)


def write_csv(folder: Path, items: list[tuple[str, Item]]) -> Path:
    by_type: dict[str, list[Item]] = {}
    links: list[Item] = []
    for kind, item in items:
        (by_type.setdefault(item["type"], []) if kind == "entity" else links).append(item)
    codes = ("reliability", "accuracy", "handling", "handling_note")

    def write(name: str, fixed: list[str], rows: list[dict[str, Any]]) -> None:
        columns = fixed + sorted({k for r in rows for k in r} - set(fixed))
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        (folder / name).write_text(out.getvalue())

    for type_, entities in by_type.items():
        rows = [{"ref": i["ref"], **({"sharing": i["sharing"]} if i.get("sharing") else {}),
                 **{c: i[c] for c in codes if c in i},
                 **{k: _cell(v) for k, v in (i.get("properties") or {}).items()}} for i in entities]
        write(f"{type_.lower()}s.csv", ["ref"], rows)
    rows = [{"type": i["type"], "from_type": i["from"]["type"], "from_ref": i["from"]["ref"],
             "to_type": i["to"]["type"], "to_ref": i["to"]["ref"],
             **({"sharing": i["sharing"]} if i.get("sharing") else {}),
             **({"ref": i["ref"]} if i.get("ref") else {}),
             **{k: _cell(v) for k, v in (i.get("properties") or {}).items()}} for i in links]
    write("links.csv", ["type", "from_type", "from_ref", "to_type", "to_ref"], rows)
    return folder


def ftm_scenario() -> dict[str, list[dict[str, Any]]]:
    def make(schema: str, id_: str, **props: Any) -> dict[str, Any]:
        proxy = model.make_entity(schema)
        proxy.id = id_
        for prop, values in props.items():
            for value in values if isinstance(values, list) else [values]:
                proxy.add(prop, value)
        return dict(proxy.to_dict())

    iban = "FR76 3000 4000 0000 0000 0019 939"
    return {
        "douane": [make("Person", "d1", name="Karim Benali", birthDate="1991-03-02", phone="+33 6 12 34 56 78"),
                   make("BankAccount", "b1", iban=iban),
                   make("Ownership", "o1", owner="d1", asset="b1")],
        "gendarmerie": [make("Person", "g1", firstName="Karim", lastName="BENALI", birthDate="1991-03-02",
                             phone="06 12 34 56 78"),
                        make("Vessel", "v1", registrationNumber="AB-123-CD", owner="g1")],
        "police": [make("Person", "p1", name="Karim Benali", alias="Le Chat", birthDate="1991-03-02",
                        phone="0612345678", email="k.benali@example.org"),
                   make("Vehicle", "v2", registrationNumber="ab123cd", type="car", owner="p1"),
                   make("Organization", "n1", name="Clan Benali", topics="crime.traffick.drug"),
                   make("Membership", "m1", member="p1", organization="n1", role="leader"),
                   make("Person", "p2", name="Nadia Haddad", birthDate="1988-07-14"),
                   make("BankAccount", "b2", iban=iban.replace(" ", "")),
                   make("Ownership", "o2", owner="p2", asset="b2"),
                   # A payment is a transfer event: bulk-load writes it through the events' write path.
                   make("BankAccount", "b3", iban="DE89 3704 0044 0532 0130 00"),
                   make("BankAccount", "b4", iban="GB82 WEST 1234 5698 7654 32"),
                   make("Payment", "pay1", payerAccount="b3", beneficiaryAccount="b4", amountEur="4900",
                        date="2024-02-29")],
    }


def write_inputs(root: Path, fmt: str) -> dict[str, Path]:
    """One folder per agency under `root`; what `ofast-graph import` reads for each."""
    paths: dict[str, Path] = {}
    items = scenario(fmt)
    for agency in AGENCIES:
        folder = root / agency
        folder.mkdir(parents=True)
        if fmt == "csv":
            paths[agency] = write_csv(folder, items[agency])
        elif fmt == "jsonl":
            paths[agency] = write_jsonl(folder, items[agency])
        else:
            path = folder / "export.ftm.json"
            path.write_text("".join(json.dumps(e) + "\n" for e in ftm_scenario()[agency]))
            paths[agency] = path
    return paths


# -- the two graphs ------------------------------------------------------------------------------

def dump(driver: neo4j.Driver) -> dict[str, Any]:
    def rows(query: str) -> list[dict[str, Any]]:
        return cypher(driver, query)

    def clean(props: dict[str, Any], *volatile: str) -> dict[str, Any]:
        return {k: v for k, v in props.items() if k not in VOLATILE and k not in volatile}

    nodes = {r["id"]: {"labels": sorted(r["labels"]), **clean(r["p"])}
             for r in rows("MATCH (n:Node) RETURN n.id AS id, labels(n) AS labels, properties(n) AS p")}
    rels = {r["id"]: {"type": r["type"], "from": r["a"], "to": r["b"], **clean(r["p"])}
            for r in rows("MATCH (a:Node)-[l]->(b:Node) RETURN l.id AS id, type(l) AS type, a.id AS a, b.id AS b, "
                          "properties(l) AS p")}
    alerts = {r["p"]["pair_key"]: clean(r["p"], "id") for r in rows("MATCH (x:Alert) RETURN properties(x) AS p")}
    matches = {r["p"]["pair_key"]: clean(r["p"]) for r in rows("MATCH (c:MatchCandidate) RETURN properties(c) AS p")}
    events = {r["p"]["id"]: {"labels": sorted(r["labels"]), **clean(r["p"])}
              for r in rows("MATCH (e:Event) RETURN labels(e) AS labels, properties(e) AS p")}
    others = sorted({label for r in rows("MATCH (n) WHERE NOT n:Node RETURN DISTINCT labels(n) AS l")
                     for label in r["l"]} - {"SchemaMigration", "AuditHead", "AuditEvent"})
    return {"nodes": nodes, "relationships": rels, "alerts": alerts, "match_candidates": matches, "events": events,
            "others": others}


class Collector:
    """Where the importer's writer sends its requests: gathered into one, so an agency's whole
    input goes through the API in one push, as bulk-load treats it. (`ofast-graph import` sends
    entities before links: a pair of persons matched on names and birth date alone then keeps
    those reasons without the identifiers the links add a request later.)"""

    def __init__(self) -> None:
        self.batch: dict[str, list[Any]] = {"entities": [], "links": []}
        self.events: list[dict[str, Any]] = []

    def push(self, batch: dict[str, Any]) -> IngestResult:
        self.batch["entities"] += batch["entities"]
        self.batch["links"] += batch["links"]
        return IngestResult()

    def push_events(self, events: list[dict[str, Any]]) -> EventsResult:
        self.events += events
        return EventsResult()


def push_whole(api: str, token: str, fmt: str, path: Path) -> None:
    """The importer's readers and checks, then one request (the service's size limit is far)."""
    collector, summary = Collector(), ImportSummary()
    writer = BatchWriter(cast(IngestClient, collector), summary, chunk_items=100_000)
    if fmt == "csv":
        csv_import.load_folder(path, writer)
    elif fmt == "jsonl":
        jsonl_import.load_file(path, writer)
    else:
        ftm.load_file(path, writer, ftm.FtmStats())
    writer.flush()
    assert summary.errors == 0, summary.problems
    with IngestClient(api, token, source_system=SOURCE, max_items=10_000) as client:
        result = client.push(collector.batch)
        if collector.events:  # sent after the entities and links, as the importer does
            assert client.push_events(collector.events).requests == 1
    assert result.requests == 1


@pytest.fixture(scope="module")
def api(settings: Settings, driver: neo4j.Driver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    own = settings.model_copy(update={"state_dir": tmp_path_factory.mktemp("bulk-api-state")})
    with ServerThread(own) as server:
        yield server.url


@pytest.fixture(scope="module")
def bulk_server() -> Iterator[LocalNeo4j]:
    """The instance bulk-load fills; stopped at the end of the module."""
    server = from_settings(f"bulk-{BULK_PORT}", BULK_PORT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def connect(server: LocalNeo4j) -> neo4j.Driver:
    """A new driver each time: one kept across an import would ask for bookmarks of the database
    the import replaced."""
    return neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password()),
                                      notifications_min_severity="OFF")


@pytest.fixture
def bulk_empty(bulk_server: LocalNeo4j) -> LocalNeo4j:
    """The bulk instance, its database emptied (bulk-load refuses a database that holds data)."""
    with connect(bulk_server) as drv:
        wipe(drv)
    return bulk_server


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "ftm"])
def test_bulk_load_ends_as_the_api_does(fmt: str, api: str, graph: neo4j.Driver, token: TokenFactory,
                                        bulk_empty: LocalNeo4j, tmp_path: Path) -> None:
    paths = write_inputs(tmp_path / "in", fmt)
    for agency in AGENCIES:
        push_whole(api, token(agency, "ingest"), fmt, paths[agency])
    expected = dump(graph)

    code, report, err = run_cli("bulk-load", str(tmp_path / "in"), "--format", fmt, "--instance",
                                bulk_empty.name, "--port", str(BULK_PORT), "--source-system", SOURCE,
                                "--work-dir", str(tmp_path / "work"), "--json")
    assert code == 0 and report is not None, err
    with connect(bulk_empty) as drv:
        got = dump(drv)
        audit = cypher(drv, "MATCH (a:AuditEvent {action: 'bulk_load'}) RETURN a.agency AS agency, "
                            "a.subject AS subject, a.result_count AS n ORDER BY agency")

    assert got["nodes"] == expected["nodes"]
    assert got["relationships"] == expected["relationships"]
    assert got["alerts"] == expected["alerts"]
    assert got["match_candidates"] == expected["match_candidates"]
    assert got["events"] == expected["events"]
    assert got["others"] == expected["others"]
    # The scenario exercises what it is for: alerts of both kinds, a candidate, a correction.
    kinds = Counter(a["kind"] for a in got["alerts"].values())
    assert set(kinds) == {"shared_identifier", "possible_match"} and got["match_candidates"]
    assert report["alerts"] == kinds and report["match_candidates"] == len(got["match_candidates"])
    assert report["corrections"] == {"updated": 1}  # the plate the police said is a car
    assert report["items"] == sum(1 for _ in _items(fmt))
    assert report["events"] == ({"created": 1} if fmt == "ftm" else {})  # the FtM payment
    assert len(got["events"]) == sum(report["events"].values())
    if fmt == "jsonl":
        assert report["patched"] == 1  # the empty list of aliases
    assert [a["agency"] for a in audit] == list(AGENCIES) and {a["subject"] for a in audit} == {"system:bulk-load"}


def _items(fmt: str) -> Iterator[None]:
    """One per item the readers hand over (FtM: what the mapping makes of each entity)."""
    if fmt == "ftm":
        from importers.ftm import FtmMapper

        for agency, entities in ftm_scenario().items():
            del agency
            mapper = FtmMapper()
            proxies = [model.get_proxy(e) for e in entities]
            for proxy in proxies:
                mapper.learn(proxy)
            for proxy in proxies:
                out = mapper.map(proxy, None)
                yield from (None for _ in (*out[0], *out[1], *out[2]))
        return
    for items in scenario(fmt).values():
        yield from (None for _ in items)


def test_bulk_load_refuses_a_database_in_use(bulk_empty: LocalNeo4j, tmp_path: Path) -> None:
    write_inputs(tmp_path / "in", "jsonl")
    with connect(bulk_empty) as drv:
        drv.execute_query("CREATE (:Node:Entity:Person {id: 'x', owner_agency: 'police'})", database_="neo4j")
    code, _, err = run_cli("bulk-load", str(tmp_path / "in"), "--format", "jsonl", "--instance", bulk_empty.name,
                           "--port", str(BULK_PORT))
    assert code == 2
    assert "holds 1 nodes" in err and "only fills an empty database" in err
    with connect(bulk_empty) as drv:
        assert cypher(drv, "MATCH (n) WHERE NOT n:SchemaMigration AND NOT n:AuditHead RETURN n.id AS id") \
            == [{"id": "x"}]


def test_bulk_load_reports_what_it_refuses(bulk_empty: LocalNeo4j, tmp_path: Path) -> None:
    folder = tmp_path / "police"
    folder.mkdir()
    write_jsonl(folder, [
        ("entity", person("P-1", None, first_name="Karim", birth_date="1991-13-45")),  # no such date
        ("entity", person("P-2", None, first_name="Nadia")),
        ("link", uses("P-1", "06 12 34 56 78", None)),  # its person was refused
        ("link", uses("P-9", "06 12 34 56 78", None)),  # no such person anywhere
        ("link", uses("P-2", "06 12 34 56 78", None)),
    ])
    code, report, err = run_cli("bulk-load", str(folder), "--format", "jsonl", "--agency", "police",
                                "--instance", bulk_empty.name, "--port", str(BULK_PORT), "--json")
    assert code == 1 and report is not None, err
    assert report["errors"] == 3
    problems = report["problems"]
    assert any("export.jsonl:1" in p and "birth_date" in p for p in problems)
    assert any("export.jsonl:3" in p and "no such entity of yours" in p for p in problems)
    assert any("export.jsonl:4" in p and "no such entity of yours" in p for p in problems)
    with connect(bulk_empty) as drv:
        rows = cypher(drv, "MATCH (p:Person)-[:USES]->(f:Phone) RETURN p.ref AS p, f.value AS f")
    assert rows == [{"p": "P-2", "f": "+33612345678"}]
