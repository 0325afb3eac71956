"""`ofast-graph import --format cdr|lapi|transfers`: operators' exports read through mapping files
(encodings, delimiters, decimal commas, local times across the DST changes), bad lines reported
with their numbers, abort / skip, and the same file twice — then `demo-data`'s events — end to end
over real HTTP into a real Neo4j."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import neo4j
import pytest

from importers.demo import DemoStats, EventStats, generate, generate_events
from importers.events_import import (
    EventFormatError,
    EventImportSummary,
    Layout,
    Mapping,
    load_mapping,
    validate_file,
)
from tests import test_importers
from tests.conftest import TokenFactory, cypher
from tests.test_importers import run_cli, run_demo

# The API under uvicorn (`api`) over a clean graph (`live`), as the other importers' tests have it.
api, live = test_importers.api, test_importers.live

MAPPINGS = Path(__file__).resolve().parents[1] / "importers" / "mappings"
ORANGE = load_mapping(MAPPINGS / "orange-like.yaml")
SFR = load_mapping(MAPPINGS / "sfr-like.yaml")

# The same four calls of 06 12 34 56 78, as two operators write them. The third is incoming: its
# handset and cell are the requisitioned line's (the callee's), so neither layout sends them.
ORANGE_CDR = (
    "Numéro cible;Date;Heure;Sens;Type;Correspondant;Durée;IMEI;Cellule;Latitude;Longitude;Azimut\r\n"
    "06 12 34 56 78;14/03/2026;23:41:07;Sortant;Voix;06 98 76 54 32;00:01:14;35-209900-176148-1;"
    "208-01-12345-678;43,2965;5,3698;120\r\n"
    "06 12 34 56 78;15/03/2026;08:02:00;Sortant;SMS;07 00 00 00 01;00:00:00;35-209900-176148-1;"
    "208-01-12345-679;43,3;5,4;240\r\n"
    "06 12 34 56 78;16/03/2026;19:30:00;Entrant;Voix;06 98 76 54 32;00:10:00;35-209900-176148-1;"
    "208-01-12345-678;43,2965;5,3698;120\r\n"
    "06 12 34 56 78;28/06/2026;12:00:00;Sortant;Données;06 98 76 54 32;01:00:00;;;;;\r\n"
    "Total : 4 communications;;;;;;;;;;;\r\n"
)
SFR_CDR = (
    "\ufeffAppelant,Appelé,Date/heure (UTC),Durée (s),Service,IMEI appelant,CGI,Opérateur,Lat,Lon,Azimut\n"
    "33612345678,33698765432,2026-03-14 22:41:07,74,VOIX,35209900176148-1,208-01-12345-678,Orange,43.2965,5.3698,120\n"
    "33612345678,33700000001,2026-03-15 07:02:00,0,SMS,352099001761481,208-01-12345-679,Orange,43.3,5.4,240\n"
    "33698765432,33612345678,2026-03-16 18:30:00,600,VOIX,,,,,,\n"
    "33612345678,33698765432,2026-06-28 10:00:00,3600,DATA,,,,,,\n"
)


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _events(path: Path, fmt: str, mapping: Mapping | None = None) -> list[tuple[int, dict[str, Any] | None, list[str]]]:
    return list(Layout.open(path, fmt, mapping).events())


def _utc(event: dict[str, Any]) -> dict[str, Any]:
    """The event with `at` as its UTC instant: two layouts may write one instant with two offsets."""
    moment = dt.datetime.fromisoformat(event["at"]).astimezone(dt.UTC)
    return {**event, "at": moment.isoformat()}


# -- parsing (no database) ----------------------------------------------------------------------

def test_two_cdr_layouts_through_their_mappings_give_the_same_events(tmp_path: Path) -> None:
    orange = _events(_write(tmp_path / "orange.csv", ORANGE_CDR, "cp1252"), "cdr", ORANGE)
    sfr = _events(_write(tmp_path / "sfr.csv", SFR_CDR), "cdr", SFR)
    assert [errors for _, _, errors in orange + sfr] == [[]] * 8  # the footer line is no record
    assert [line for line, _, _ in orange] == [2, 3, 4, 5]
    same = [_utc(e) for _, e, _ in orange if e is not None]
    assert same == [_utc(e) for _, e, _ in sfr if e is not None]
    first = orange[0][1]
    assert first == {
        "kind": "call", "at": "2026-03-14T23:41:07+01:00", "mode": "voice", "duration_s": 74,
        "from": {"type": "Phone", "ref": "+33612345678"}, "to": {"type": "Phone", "ref": "+33698765432"},
        "handset": "352099001761481",
        "cell": {"ref": "208-01-12345-678", "operator": "Orange", "lat": 43.2965, "lon": 5.3698, "azimuth": 120.0}}
    assert orange[2][1] is not None and orange[2][1]["from"]["ref"] == "+33698765432"  # incoming: reversed
    assert "handset" not in orange[2][1] and "cell" not in orange[2][1]
    assert orange[3][1] is not None and orange[3][1]["at"] == "2026-06-28T12:00:00+02:00"  # summer time
    assert orange[3][1]["mode"] == "data" and orange[3][1]["duration_s"] == 3600


def test_bad_lines_are_reported_with_their_numbers_and_every_reason(tmp_path: Path) -> None:
    path = _write(tmp_path / "calls.csv", (
        "ref,at,from,to,duration_s,mode,handset,cell_ref,cell_lat\n"
        "C-1,2026-03-14T23:41:07+01:00,06 12 34 56 78,+33698765432,74,voice,35-209900-176148-1,208-10-1-2,43.2\n"
        "C-2,2026-03-14 23:99,06 12 34 56 78,+33698765432,74,voice,,,\n"
        "C-3,2026-03-14T23:41:07Z,not a phone,+33698765432,-4,fax,35-209900-176148-2,,91\n"
        '"C-4\nwith a newline in its ref",2026-03-14T23:41:07Z,0612345678,0698765432,1,sms,,,\n'
        "C-5,2026-03-14T23:41:07Z,0612345678\n"
        "C-6,2026-03-15,0612345678,0698765432,1,sms,,,\n"))
    events = _events(path, "cdr")
    assert [(line, e is not None) for line, e, _ in events] == [
        (2, True), (3, False), (4, False), (5, True), (7, False), (8, False)]
    reasons = {line: "; ".join(errors) for line, _, errors in events if errors}
    assert "2026-03-14 23:99" in reasons[3]
    assert all(word in reasons[4] for word in ("from:", "duration_s", "mode 'fax'", "handset", "cell_ref is empty"))
    assert "check digit" in reasons[4]
    assert "3 cells" in reasons[7]
    assert "at '2026-03-15'" in reasons[8]  # a call needs a time; only a transfer may be a date
    summary = EventImportSummary()
    validate_file(Layout.open(path, "cdr"), summary)
    assert (summary.read, summary.bad) == (6, 4)
    assert [n for n, _ in summary.bad_lines] == [3, 4, 7, 8]
    # The service's own model judges codes and lengths; one place is described one way in a file.
    reads = _write(tmp_path / "reads.csv", (
        "at,vehicle,reader_ref,reader_lat,reliability,handling,handling_note\n"
        "2026-03-14T22:05:00Z,AB-123-CD,LAPI-1,43.5,B,H0,\n"
        "2026-03-14T22:06:00Z,AB-123-CD,lapi-1,43.6,Z,H3,\n"
        "2026-03-14T22:07:00Z,AB-123-CD,LAPI-1,43.5,A,H3,ask the owner first\n"))
    checked = _events(reads, "lapi")
    assert checked[0][2] == [] and checked[2][2] == []
    assert checked[1][2] == ["reliability: expected one of A, B, C, X (source reliability, A best, X cannot be "
                             "assessed), got 'Z'"]
    checked = _events(_write(tmp_path / "reads2.csv", reads.read_text().replace(",Z,H3,", ",A,H0,")), "lapi")
    assert checked[1][2] == ["reader 'lapi-1': lat 43.6 where line 2 says 43.5"]


def test_windows_1252_bom_and_decimal_comma(tmp_path: Path) -> None:
    mapping = Mapping(format="transfers", encoding="cp1252", delimiter=";", decimal=",", thousands=".",
                      date_format="%d/%m/%Y",
                      columns={"Date opération": "date", "Compte émetteur": "from", "Compte bénéficiaire": "to",
                               "Montant (€)": "amount_eur", "Libellé": "reference"})
    text = ("Date opération;Compte émetteur;Compte bénéficiaire;Montant (€);Libellé\n"
            "15/03/2026;FR76 3000 4000 0312 3456 7890 143;FR7630001007941234567890185;9 950,00;loyer café\n"
            "16/03/2026;FR76 3000 4000 0312 3456 7890 143;FR7630001007941234567890185;1.234.567,5;prêt\n"
            "17/03/2026;FR76 3000 4000 0312 3456 7890 143;FR7630001007941234567890185;12.5;x\n")
    cp1252 = _events(_write(tmp_path / "cp1252.csv", text, "cp1252"), "transfers", mapping)
    assert [e and (e["at"], e["amount_eur"], e["reference"]) for _, e, _ in cp1252[:2]] == [
        ("2026-03-15", 9950.0, "loyer café"), ("2026-03-16", 1234567.5, "prêt")]
    assert cp1252[0][1] is not None and cp1252[0][1]["from"] == {"type": "BankAccount",
                                                                 "ref": "FR7630004000031234567890143"}
    assert "thousands separator, in groups of 3" in cp1252[2][2][0]
    # The same mapping, a UTF-8 file with a BOM: the BOM wins over `encoding: cp1252`.
    bom = _events(_write(tmp_path / "bom.csv", "\ufeff" + text), "transfers", mapping)
    assert [e for _, e, _ in bom] == [e for _, e, _ in cp1252]
    # Without the BOM, UTF-8 bytes read as Windows-1252 are mojibake, not the header: refused whole.
    _write(tmp_path / "utf8.csv", text)
    with pytest.raises(EventFormatError, match="no column"):
        Layout.open(tmp_path / "utf8.csv", "transfers", mapping)
    # Bytes that are not UTF-8 in a UTF-8 file: that line is bad, the others are read.
    (tmp_path / "mixed.csv").write_bytes(b"ref,at,vehicle,reader_ref\nL-1,2026-03-14T22:05:00Z,AB-123-CD,LAPI-1\n"
 + b"L-2,2026-03-14T22:05:00Z,AB-123-CD,LAPI-\xe9\n")
    mixed = _events(tmp_path / "mixed.csv", "lapi")
    assert mixed[0][1] == {"kind": "plate_read", "at": "2026-03-14T22:05:00+00:00", "vehicle": "AB123CD",
                           "reader": {"ref": "LAPI-1"}, "ref": "L-1"}
    assert mixed[1][0] == 3 and "not utf-8" in mixed[1][2][0]


def test_local_times_across_the_dst_changes_of_europe_paris(tmp_path: Path) -> None:
    text = ("date,time,vehicle,reader_ref\n"
            "2026-03-29,01:59:59,AB-123-CD,R1\n"   # winter time, the last second
            "2026-03-29,02:30:00,AB-123-CD,R1\n"   # does not exist: clocks go from 02:00 to 03:00
            "2026-03-29,03:00:00,AB-123-CD,R1\n"   # summer time
            "2026-10-25,02:30:00,AB-123-CD,R1\n"   # happens twice: 02:30 CEST, then 02:30 CET
            "2026-10-25,03:00:00,AB-123-CD,R1\n")
    path = _write(tmp_path / "lapi.csv", text)
    events = _events(path, "lapi")
    assert [e["at"] if e else errors[0] for _, e, errors in events] == [
        "2026-03-29T01:59:59+01:00",
        "at: 2026-03-29 02:30:00 does not exist in Europe/Paris (clocks went forward)",
        "2026-03-29T03:00:00+02:00",
        "2026-10-25T02:30:00+02:00",   # the first occurrence (00:30 UTC) by default
        "2026-10-25T03:00:00+01:00"]
    second = _events(path, "lapi", Mapping(ambiguous_time="second", columns={n: n for n in text.split("\n")[0]
                                                                          .split(",")}))
    assert second[3][1] is not None and second[3][1]["at"] == "2026-10-25T02:30:00+01:00"
    strict = _events(path, "lapi", Mapping(ambiguous_time="bad", columns={"date": "date", "time": "time",
                                                                          "vehicle": "vehicle",
                                                                          "reader_ref": "reader_ref"}))
    assert strict[3][1] is None and "happens twice" in strict[3][2][0]
    # An explicit offset is taken as written, whatever the mapping's zone.
    explicit = _write(tmp_path / "offset.csv", "at,vehicle,reader_ref\n2026-03-29T02:30:00+01:00,AB-123-CD,R1\n")
    assert _events(explicit, "lapi")[0][1] == {"kind": "plate_read", "at": "2026-03-29T02:30:00+01:00",
                                               "vehicle": "AB123CD", "reader": {"ref": "R1"}}


def test_headers_and_mappings_that_cannot_be_read_are_refused_whole(tmp_path: Path) -> None:
    with pytest.raises(EventFormatError, match="unknown column 'duraton_s'"):
        Layout.open(_write(tmp_path / "a.csv", "at,from,to,mode,duraton_s\n"), "cdr")
    with pytest.raises(EventFormatError, match="no column for at or date \\+ time"):
        Layout.open(_write(tmp_path / "b.csv", "from,to,mode\n"), "cdr")
    with pytest.raises(EventFormatError, match="for --format cdr, not lapi"):
        Layout.open(_write(tmp_path / "c.csv", "x\n"), "lapi", ORANGE)
    with pytest.raises(EventFormatError, match="no column 'Numéro cible'"):
        Layout.open(_write(tmp_path / "d.csv", SFR_CDR), "cdr", ORANGE)
    bad = tmp_path / "bad.yaml"
    bad.write_text(json.dumps({"timezone": "Europe/Pariss", "delimiter": ";;", "colour": "blue"}))
    with pytest.raises(EventFormatError) as caught:
        load_mapping(bad)
    assert all(word in str(caught.value) for word in ("Europe/Pariss", "delimiter", "colour"))
    bad.write_text(json.dumps({"columns": {"Montant": "amount"}}))
    with pytest.raises(EventFormatError, match="no field amount in --format transfers"):
        Layout.open(_write(tmp_path / "e.csv", "Montant\n"), "transfers", load_mapping(bad))


# -- through the API ----------------------------------------------------------------------------

def _import(live: str, token: str, path: Path, fmt: str, *options: str) -> tuple[int, dict[str, Any]]:
    code, summary, stderr = run_cli("import", str(path), "--format", fmt, "--api-url", live, "--token", token,
                                    "--json", *options)
    assert summary is not None, stderr
    return code, summary


def test_both_layouts_store_the_same_events_and_a_second_import_changes_nothing(
        live: str, token: TokenFactory, graph: neo4j.Driver, tmp_path: Path) -> None:
    police = token("police", "ingest")
    orange = _write(tmp_path / "orange.csv", ORANGE_CDR, "cp1252")
    code, first = _import(live, police, orange, "cdr", "--mapping", str(MAPPINGS / "orange-like.yaml"))
    assert code == 0 and (first["read"], first["bad"], first["sent"]) == (4, 0, 4)
    assert first["events"] == {"created": 4} and first["written"] is True
    code, again = _import(live, police, orange, "cdr", "--mapping", str(MAPPINGS / "orange-like.yaml"))
    assert code == 0 and again["events"] == {"unchanged": 4}
    sfr = _write(tmp_path / "sfr.csv", SFR_CDR)
    code, other = _import(live, police, sfr, "cdr", "--mapping", str(MAPPINGS / "sfr-like.yaml"))
    assert code == 0 and other["events"] == {"unchanged": 4}  # the same events, ids and content
    rows = cypher(graph, "MATCH (e:Call) RETURN toString(e.at) AS at, e.duration_s AS d, e.mode AS mode, "
                         "e.place_ref AS place ORDER BY e.at")
    assert rows == [
        {"at": "2026-03-14T22:41:07Z", "d": 74, "mode": "voice", "place": "208-01-12345-678"},
        {"at": "2026-03-15T07:02:00Z", "d": 0, "mode": "sms", "place": "208-01-12345-679"},
        {"at": "2026-03-16T18:30:00Z", "d": 600, "mode": "voice", "place": None},
        {"at": "2026-06-28T10:00:00Z", "d": 3600, "mode": "data", "place": None}]
    handsets = cypher(graph, "MATCH (h:Handset) RETURN h.value AS v, h.tac AS tac")
    assert handsets == [{"v": "352099001761481", "tac": "35209900"}]
    cells = cypher(graph, "MATCH (l:Location {kind: 'cell_site'}) RETURN l.ref AS ref, l.operator AS op, "
                          "l.lat AS lat, l.owner_agency AS a ORDER BY ref")
    assert cells == [{"ref": "208-01-12345-678", "op": "Orange", "lat": 43.2965, "a": "police"},
                     {"ref": "208-01-12345-679", "op": "Orange", "lat": 43.3, "a": "police"}]


TRANSFERS = Mapping(format="transfers", encoding="cp1252", delimiter=";", decimal=",", date_format="%d/%m/%Y",
                    columns={"Réf.": "ref", "Date": "date", "Émetteur": "from", "Bénéficiaire": "to",
                             "Montant": "amount_eur", "Libellé": "reference"})
TRANSFER_LINES = (
    "Réf.;Date;Émetteur;Bénéficiaire;Montant;Libellé\r\n"
    "V-1;15/03/2026;FR76 3000 4000 0312 3456 7890 143;FR7630001007941234567890185;9 500,00;loyer\r\n"
    "V-2;16/03/2026;FR76 3000 4000 0312 3456 7890 143;FR7630001007941234567890185;9 900,00;loyer\r\n"
    "V-3;31/02/2026;FR76 3000 4000 0312 3456 7890 143;FR7630001007941234567890185;9 900,00;loyer\r\n"
    "V-4;17/03/2026;FR76 3000 4000 0312 3456 7890 143;FR7630001007941234567890185;-12;remboursement\r\n"
    "V-5;18/03/2026;FR76 3000 4000 0312 3456 7890 143;FR7630001007941234567890185;9 990,00;prêt\r\n")


def test_abort_writes_nothing_when_a_line_is_bad_and_skip_sends_the_good_ones(
        live: str, token: TokenFactory, graph: neo4j.Driver, tmp_path: Path) -> None:
    mapping = tmp_path / "bank.yaml"
    mapping.write_text(json.dumps(TRANSFERS.model_dump(exclude_defaults=True)), encoding="utf-8")
    path = _write(tmp_path / "virements.csv", TRANSFER_LINES, "cp1252")
    douane = token("douane", "ingest")
    code, aborted = _import(live, douane, path, "transfers", "--mapping", str(mapping))
    assert code == 1 and aborted["written"] is False and aborted["sent"] == 0 and aborted["requests"] == 0
    assert (aborted["read"], aborted["bad"]) == (5, 2)
    assert [(b["line"], b["reason"]) for b in aborted["bad_lines"]] == [
        (4, "date '31/02/2026' does not match '%d/%m/%Y'"),
        (5, "amount_eur: -12.0 is not between 0 and 1e+15")]
    assert cypher(graph, "MATCH (n) WHERE n:Node OR n:Event RETURN count(n) AS n") == [{"n": 0}]  # not an identifier
    code, skipped = _import(live, douane, path, "transfers", "--mapping", str(mapping), "--on-error", "skip")
    assert code == 1 and skipped["written"] is True and skipped["bad"] == 2
    assert skipped["sent"] == 3 and skipped["events"] == {"created": 3}
    stored = cypher(graph, "MATCH (t:Transfer) RETURN t.ref AS ref, t.amount_eur AS eur, t.date_only AS d, "
                           "t.reference AS wording, t.owner_agency AS a ORDER BY ref")
    assert stored == [{"ref": "V-1", "eur": 9500.0, "d": True, "wording": "loyer", "a": "douane"},
                      {"ref": "V-2", "eur": 9900.0, "d": True, "wording": "loyer", "a": "douane"},
                      {"ref": "V-5", "eur": 9990.0, "d": True, "wording": "prêt", "a": "douane"}]
    # Repeated transfers between the same two accounts stay separate events; the derived link sums them.
    assert cypher(graph, "MATCH (:BankAccount)-[l:TRANSFERRED]->(:BankAccount) RETURN l.count AS n, "
                         "l.amount_eur AS eur") == [{"n": 3, "eur": 29390.0}]
    code, again = _import(live, douane, path, "transfers", "--mapping", str(mapping), "--on-error", "skip")
    assert again["events"] == {"unchanged": 3}
    assert cypher(graph, "MATCH ()-[l:TRANSFERRED]->() RETURN l.count AS n") == [{"n": 3}]
    # Exit status 2 and nothing read when the layout itself is wrong.
    code, _, stderr = run_cli("import", str(path), "--format", "transfers", "--api-url", live, "--token", douane)
    assert code == 2 and "unknown column" in stderr


def test_a_dst_change_night_is_stored_in_utc(live: str, token: TokenFactory, graph: neo4j.Driver,
                                             tmp_path: Path) -> None:
    path = _write(tmp_path / "lapi.csv", (
        "date,time,vehicle,reader_ref,reader_lat,reader_lon\n"
        "2026-03-29,01:59:00,AB-123-CD,LAPI-A7-PK243,43.5,4.9\n"
        "2026-03-29,02:15:00,AB-123-CD,LAPI-A7-PK243,43.5,4.9\n"
        "2026-03-29,03:05:00,AB-123-CD,LAPI-A7-PK243,43.5,4.9\n"
        "2026-10-25,02:30:00,EF-456-GH,LAPI-A7-PK243,43.5,4.9\n"))
    code, summary = _import(live, token("gendarmerie", "ingest"), path, "lapi", "--on-error", "skip")
    assert code == 1 and summary["bad_lines"] == [
        {"line": 3, "reason": "at: 2026-03-29 02:15:00 does not exist in Europe/Paris (clocks went forward)"}]
    assert cypher(graph, "MATCH (e:PlateRead) RETURN toString(e.at) AS at ORDER BY e.at") == [
        {"at": "2026-03-29T00:59:00Z"}, {"at": "2026-03-29T01:05:00Z"}, {"at": "2026-10-25T00:30:00Z"}]


def test_demo_data_pushes_events_every_analysis_can_use(live: str, graph: neo4j.Driver,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    stats, events = DemoStats(), EventStats()
    list(generate(700, seed=11, batch_items=600, stats=stats))
    batches = list(generate_events(11, stats.scenes, batch_events=600, stats=events))
    assert batches == list(generate_events(11, stats.scenes, batch_events=600))  # deterministic
    assert batches != list(generate_events(12, stats.scenes, batch_events=600))
    (code, summary, stderr), (again_code, again, _) = run_demo(monkeypatch, live, times=2)
    assert code == 0 and summary is not None, stderr
    assert summary["refused"] == [] and summary["events"] == dict(events.events)
    by_kind = {r["k"]: r["n"] for r in cypher(graph, "MATCH (e:Event) RETURN e.kind AS k, count(*) AS n")}
    assert by_kind == dict(events.events) and by_kind["call"] > by_kind["transfer"] > by_kind["plate_read"] > 0
    assert cypher(graph, "MATCH (n:Node) RETURN count(n) AS n")[0]["n"] == summary["nodes"]  # exact accounting
    assert {r["a"] for r in cypher(graph, "MATCH (e:Event) RETURN DISTINCT e.owner_agency AS a")} \
        == {"police", "gendarmerie", "douane"}
    assert {r["s"] for r in cypher(graph, "MATCH (e:Event) RETURN DISTINCT e.sharing AS s")} \
        == {"open", "restricted", "confidential"}
    # Evenings busier than small hours (Paris time).
    hours = cypher(graph, "MATCH (e:Call) WITH datetime({datetime: e.at, timezone: 'Europe/Paris'}).hour AS h "
                          "RETURN sum(CASE WHEN h >= 18 THEN 1 ELSE 0 END) AS evening, "
                          "sum(CASE WHEN h >= 1 AND h < 7 THEN 1 ELSE 0 END) AS night")[0]
    assert hours["evening"] > 3 * hours["night"]
    # Handset swaps: one IMEI with three phone numbers.
    swaps = cypher(graph, "MATCH (e:Call) WHERE e.handset_id IS NOT NULL WITH e.handset_id AS h, "
                          "count(DISTINCT e.from_id) AS phones WHERE phones = 3 RETURN count(h) AS n")
    assert swaps[0]["n"] >= 1
    # Co-location: two phones on one cell within minutes; two vehicles at one reader within minutes.
    for kind, party in (("Call", "from_id"), ("PlateRead", "vehicle_id")):
        together = cypher(graph, f"MATCH (a:{kind}), (b:{kind}) WHERE a.place_ref = b.place_ref "
                                 f"AND a.{party} < b.{party} AND abs(duration.inSeconds(a.at, b.at).seconds) <= 600 "
                                 "RETURN count(*) AS n")
        assert together[0]["n"] >= 1, kind
    # Repeated transfers between the same accounts, just under 10,000 EUR.
    repeated = cypher(graph, "MATCH (t:Transfer) WHERE 9000 <= t.amount_eur < 10000 WITH t.from_id AS a, "
                             "t.to_id AS b, count(*) AS n WHERE n >= 2 RETURN count(*) AS pairs")
    assert repeated[0]["pairs"] >= 1
    # Common contacts: two of a scene's phones both call the head (derived CALLED links).
    common = cypher(graph, "MATCH (a:Phone)-[:CALLED {derived: true}]-(h:Phone)-[:CALLED {derived: true}]-(b:Phone) "
                           "WHERE a.id < b.id RETURN count(DISTINCT h) AS n")
    assert common[0]["n"] >= 1
    # The same scenario again changes nothing.
    assert again_code == 0 and again is not None
    for counts in again["results"].values():
        assert set(counts["events"]) <= {"unchanged"}


def test_a_bank_statement_gives_transfers_both_ways(tmp_path: Path) -> None:
    """The statement mapping: the account's rows, debit out and credit in, the counterparty's IBAN;
    a row without a counterparty (a card payment) or with both columns filled is a bad line."""
    statement = load_mapping(MAPPINGS / "bank-statement.yaml")
    own, other = "FR76 3000 4000 0312 3456 7890 143", "FR7630001007941234567890185"
    text = ("Compte;Date opération;Libellé;Débit;Crédit;IBAN contrepartie\r\n"
            f"{own};15/03/2026;VIR SEPA LOYER MARS;9 500,00;;{other}\r\n"
            f"{own};16/03/2026;VIR SEPA RECU;;1 200,50;{other}\r\n"
            f"{own};17/03/2026;CB CARREFOUR;42,10;;\r\n"
            f"{own};18/03/2026;VIR ?;10,00;10,00;{other}\r\n")
    rows = _events(_write(tmp_path / "releve.csv", text, "cp1252"), "transfers", statement)
    account = {"type": "BankAccount", "ref": "FR7630004000031234567890143"}
    counterparty = {"type": "BankAccount", "ref": other}
    assert rows[0][1] == {"kind": "transfer", "at": "2026-03-15", "from": account, "to": counterparty,
                          "amount_eur": 9500.0, "reference": "VIR SEPA LOYER MARS"}
    assert rows[1][1] is not None and (rows[1][1]["from"], rows[1][1]["to"], rows[1][1]["amount_eur"]) == (
        counterparty, account, 1200.5)
    assert rows[2][1] is None and rows[2][2] == ["correspondent is empty"]
    assert rows[3][1] is None and "debit and credit are both filled" in rows[3][2][0]
