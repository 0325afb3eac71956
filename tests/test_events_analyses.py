"""The analyses of events on a real Neo4j, on a small known scenario pushed as partners do
(POST /v1/events, POST /v1/ingest): timeline, contacts, activity, common contacts, co-location,
handset swaps, and neighbourhood / paths in a time window.

The story (times UTC):
- police (restricted): P-1 uses phone A and vehicle V. A calls B on 10 March (handset H1, cell
  CELL), B calls A an hour later (SMS), A calls C on 11 March (H1, CELL2), A calls B at 20:00 on
  12 March (H1, CELL), twice on the night summer time starts (29 March, 00:30 and 01:30 UTC: 01:30
  CET and 03:30 CEST), and on 21 March calls C from a new handset H2; phone E calls B on 20 March
  from H1 (a SIM swap: E's SIM in A's old handset); V is read by reader LAPI at 21:00 on 12 March.
- gendarmerie (open): F calls C from CELL at 20:30:00 on 12 March (exactly 30 minutes after A's
  call there), G at 20:30:01 (one second beyond); vehicle W is read at the same reader (its ref
  written in lower case) at 21:10.
- douane: D calls A from CELL at 20:10 on 12 March with handset H2, restricted; X calls A from
  CELL at 20:20, confidential.
So police sees its own and the gendarmerie's events in full, counts D's call in `withheld` with the
customs contact (never its time, D or its place), and never learns of X's call.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from service.core import ids
from tests.builders import Auth, eid, ent, link, person, push, uses

A, B, C, D, E, F, G, X = (f"+336{k}{k}{k}{k}{k}{k}{k}{k}" for k in range(1, 9))
H1, H2 = "352099001761481", "352099001761499"
V, W = "AB-123-CD", "EF-456-GH"
CELL, CELL2, LAPI = "208-10-12345-678", "208-10-99999-001", "LAPI-A7-PK243"
DNRED = "DNRED — permanence, +33 1 00 00 00 03"
POLICE_CONTACT = "Police nationale — permanence OFAST relay, +33 1 00 00 00 01"


def pid(value: str) -> str:
    return ids.identifier_id("Phone", value)


def hid(value: str) -> str:
    return ids.identifier_id("Handset", value)


def vid(value: str) -> str:
    return ids.identifier_id("Vehicle", value.replace("-", ""))


def event_id(agency: str, kind: str, ref: str) -> str:
    return ids.uuid5(f"event\x1f{agency}\x1f{kind}\x1fref\x1f{ref}")


P1 = eid("police", "Person", "P-1")
POLICE_CELL = eid("police", "Location", CELL)
POLICE_LAPI = eid("police", "Location", LAPI)


def call(ref: str, at: str, src: str, dst: str, duration: int, mode: str = "voice", handset: str | None = None,
         cell: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "call", "ref": ref, "at": at, "duration_s": duration, "mode": mode,
                            "from": {"type": "Phone", "ref": src}, "to": {"type": "Phone", "ref": dst}, **extra}
    if handset:
        body["handset"] = handset
    if cell:
        body["cell"] = {"ref": cell, "operator": "SFR", "lat": 43.2965, "lon": 5.3698, "azimuth": 120}
    return body


def read(ref: str, at: str, plate: str, reader: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "plate_read", "ref": ref, "at": at, "vehicle": plate, "reader": {"ref": reader, "lat": 43.5,
                                                                                     "lon": 4.9}, **extra}


POLICE_EVENTS = [
    call("POL-1", "2026-03-10T11:00:00+01:00", A, B, 60, handset=H1, cell=CELL),
    call("POL-2", "2026-03-10T11:00:00Z", B, A, 30, mode="sms"),
    call("POL-3", "2026-03-11T09:00:00Z", A, C, 120, handset=H1, cell=CELL2),
    call("POL-4", "2026-03-12T20:00:00Z", A, B, 10, handset=H1, cell=CELL),
    call("POL-5", "2026-03-29T00:30:00Z", A, B, 5),
    call("POL-6", "2026-03-29T03:30:00+02:00", A, B, 5),
    call("POL-7", "2026-03-20T08:00:00Z", E, B, 40, handset=H1),
    call("POL-8", "2026-03-21T08:00:00Z", A, C, 50, handset=H2),
    read("POL-9", "2026-03-12T21:00:00Z", V, LAPI),
]
GENDARMERIE_EVENTS = [
    call("GEN-1", "2026-03-12T20:30:00Z", F, C, 20, cell=CELL, sharing="open"),
    call("GEN-2", "2026-03-12T20:30:01Z", G, C, 20, cell=CELL, sharing="open"),
    read("GEN-3", "2026-03-12T21:10:00Z", W, LAPI.lower(), sharing="open"),
]
DOUANE_EVENTS = [
    call("DOU-1", "2026-03-12T20:10:00Z", D, A, 300, handset=H2, cell=CELL),
    call("DOU-2", "2026-03-12T20:20:00Z", X, A, 400, cell=CELL, sharing="confidential"),
]


def ev(agency: str, ref: str) -> str:
    kind = "plate_read" if ref.endswith(("-9", "GEN-3")) else "call"
    return event_id(agency, kind, ref)


def send(client: httpx.Client, headers: dict[str, str], events: list[dict[str, Any]]) -> None:
    r = client.post("/v1/events", json={"events": events}, headers=headers)
    assert r.status_code == 200, r.text


@pytest.fixture
def scenario(client: TestClient, auth: Auth) -> TestClient:
    push(client, auth("police", "ingest"), [person("P-1", last_name="Benali"), ent("Phone", A), ent("Vehicle", V)],
         [uses("P-1", A), link("USES", ("Person", "P-1"), ("Vehicle", V))])
    push(client, auth("douane", "ingest"), [person("DC", "confidential", last_name="Secret")])
    send(client, auth("police", "ingest"), POLICE_EVENTS)
    send(client, auth("gendarmerie", "ingest"), GENDARMERIE_EVENTS)
    send(client, auth("douane", "ingest"), DOUANE_EVENTS)
    return client


def get(client: TestClient, headers: dict[str, str], path: str, status: int = 200, **params: Any) -> Any:
    r = client.get(path, params=params, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


def phone(value: str) -> dict[str, Any]:
    """A phone as every answer shows it: an identifier, in full."""
    return {"id": pid(value), "type": "Phone", "value": value, "redacted": False}


def short(node: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if node is None else {k: node.get(k) for k in ("id", "type", "value", "redacted")}


def hidden_from_police(text: str) -> None:
    """Nothing of douane's calls but their count: not D, not X, not their ids, not their times."""
    for secret in (D, X, pid(D), pid(X), ev("douane", "DOU-1"), ev("douane", "DOU-2"), "20:10:00", "20:20:00",
                   "T21:10:00+01", "T21:20:00+01", '"duration_s":300', '"duration_s":400'):
        assert secret not in text, secret


# --- timeline -------------------------------------------------------------------------------------


def test_timeline_of_a_phone_newest_first_with_the_customs_call_withheld(scenario: TestClient, auth: Auth) -> None:
    police = auth("police", "investigator")
    r = scenario.get(f"/v1/entities/{pid(A)}/timeline", headers=police)
    body = r.json()
    assert [i["id"] for i in body["items"]] == [ev("police", f"POL-{k}") for k in (6, 5, 8, 4, 3, 2, 1)]
    assert body["total"] == 7
    assert body["withheld"] == [{"owner_agency": "douane", "contact": DNRED, "count": 1}]
    hidden_from_police(r.text)
    first = body["items"][-1]
    assert {k: first[k] for k in ("id", "kind", "at", "owner_agency", "sharing", "redacted", "ref", "date_only",
                                  "duration_s", "mode", "reliability", "accuracy", "handling")} == {
        "id": ev("police", "POL-1"), "kind": "call", "at": "2026-03-10T10:00:00Z", "owner_agency": "police",
        "sharing": "restricted", "redacted": False, "ref": "POL-1", "date_only": False, "duration_s": 60,
        "mode": "voice", "reliability": "X", "accuracy": "4", "handling": "H0"}
    assert (short(first["from"]), short(first["to"])) == (phone(A), phone(B))
    assert short(first["handset"]) == {"id": hid(H1), "type": "Handset", "value": H1, "redacted": False}
    assert (first["cell"]["id"], first["cell"]["ref"], first["cell"]["properties"]["kind"]) == (
        POLICE_CELL, CELL, "cell_site")
    sms = body["items"][-2]
    assert (sms["mode"], sms["handset"], sms["cell"]) == ("sms", None, None)


def test_timeline_of_a_person_covers_its_phones_and_vehicles(scenario: TestClient, auth: Auth) -> None:
    police = auth("police", "investigator")
    path = f"/v1/entities/{P1}/timeline"
    body = get(scenario, police, path)
    assert [i["id"] for i in body["items"]] == [ev("police", f"POL-{k}") for k in (6, 5, 8, 9, 4, 3, 2, 1)]
    read_ = body["items"][3]
    assert (read_["kind"], read_["at"], short(read_["vehicle"])) == (
        "plate_read", "2026-03-12T21:00:00Z", {"id": vid(V), "type": "Vehicle", "value": "AB123CD", "redacted": False})
    assert read_["reader"]["id"] == POLICE_LAPI
    assert (body["total"], body["withheld"]) == (8, [{"owner_agency": "douane", "contact": DNRED, "count": 1}])
    page = get(scenario, police, path, limit=2, offset=1)
    assert ([i["id"] for i in page["items"]], page["total"]) == ([ev("police", "POL-5"), ev("police", "POL-8")], 8)
    reads = get(scenario, police, path, kinds="plate_read")
    assert ([i["id"] for i in reads["items"]], reads["total"], reads["withheld"]) == (
        [ev("police", "POL-9")], 1, [])
    day = get(scenario, police, path, since="2026-03-12", until="2026-03-12")
    assert [i["id"] for i in day["items"]] == [ev("police", "POL-9"), ev("police", "POL-4")]
    assert day["withheld"] == [{"owner_agency": "douane", "contact": DNRED, "count": 1}]
    local = get(scenario, police, path, since="2026-03-12T21:00:00+01:00", until="2026-03-12T22:00:00+01:00")
    assert ([i["id"] for i in local["items"]], local["withheld"]) == ([ev("police", "POL-9"), ev("police", "POL-4")],
                                                                      [{"owner_agency": "douane", "contact": DNRED,
                                                                        "count": 1}])
    assert get(scenario, police, path, since="2026-03-12T20:00:01Z", until="2026-03-12T20:59:59Z")["total"] == 0


def test_timeline_for_other_agencies_counts_what_they_may_know_and_hides_the_rest(
        scenario: TestClient, auth: Auth) -> None:
    gendarmerie = get(scenario, auth("gendarmerie", "investigator"), f"/v1/entities/{P1}/timeline")
    assert (gendarmerie["items"], gendarmerie["total"]) == ([], 0)  # P-1 is a stub to it, its events police's
    assert gendarmerie["withheld"] == [{"owner_agency": "police", "contact": POLICE_CONTACT, "count": 8},
                                       {"owner_agency": "douane", "contact": DNRED, "count": 1}]
    douane = get(scenario, auth("douane", "investigator"), f"/v1/entities/{pid(A)}/timeline")
    assert [i["id"] for i in douane["items"]] == [ev("douane", "DOU-2"), ev("douane", "DOU-1")]
    assert douane["withheld"] == [{"owner_agency": "police", "contact": POLICE_CONTACT, "count": 7}]
    ofast = get(scenario, auth("ofast", "analyst"), f"/v1/entities/{pid(A)}/timeline")
    assert (ofast["total"], ofast["withheld"]) == (9, [])
    # An entity the caller may not know exists is a 404, as for GET /v1/entities/{id}.
    secret = eid("douane", "Person", "DC")
    assert get(scenario, auth("police", "investigator"), f"/v1/entities/{secret}/timeline", 404)["error"]["code"] == \
        "not_found"
    assert get(scenario, auth("douane", "investigator"), f"/v1/entities/{secret}/timeline")["total"] == 0


# --- contacts and activity -----------------------------------------------------------------------------


def hours(*marked: int) -> list[int]:
    return [1 if h in marked else 0 for h in range(24)]


def test_contacts_most_calls_first_by_local_hour_over_the_dst_night(scenario: TestClient, auth: Auth) -> None:
    r = scenario.get("/v1/analytics/contacts", params={"phone": pid(A)}, headers=auth("police", "investigator"))
    body = r.json()
    assert short(body["phone"]) == phone(A)
    assert [{**c, "phone": short(c["phone"])} for c in body["contacts"]] == [
        # 11:00 and 12:00 CET on the 10th, 21:00 on the 12th, 01:30 CET and 03:30 CEST on the 29th:
        # nothing at 02:00, the hour that does not exist that night.
        {"phone": phone(B), "calls": 5, "duration_s": 110, "first": "2026-03-10T10:00:00Z",
         "last": "2026-03-29T01:30:00Z", "by_hour": hours(1, 3, 11, 12, 21)},
        {"phone": phone(C), "calls": 2, "duration_s": 170, "first": "2026-03-11T09:00:00Z",
         "last": "2026-03-21T08:00:00Z", "by_hour": hours(9, 10)},
    ]
    assert body["withheld"] == [{"owner_agency": "douane", "contact": DNRED, "count": 1}]
    hidden_from_police(r.text)
    one = get(scenario, auth("police", "investigator"), "/v1/analytics/contacts", phone=pid(A), limit=1,
              since="2026-03-11", until="2026-03-21T08:00:00Z")
    assert [(c["phone"]["id"], c["calls"]) for c in one["contacts"]] == [(pid(C), 2)]
    douane = get(scenario, auth("douane", "investigator"), "/v1/analytics/contacts", phone=pid(A))
    assert [(c["phone"]["id"], c["calls"], c["duration_s"]) for c in douane["contacts"]] == [
        (pid(X), 1, 400), (pid(D), 1, 300)]
    assert douane["withheld"] == [{"owner_agency": "police", "contact": POLICE_CONTACT, "count": 7}]


def test_activity_profile_by_weekday_and_local_hour(scenario: TestClient, auth: Auth) -> None:
    body = get(scenario, auth("police", "investigator"), "/v1/analytics/activity", id=P1)
    grid = [[0] * 24 for _ in range(7)]
    # Tuesday 10th 11:00, 12:00; Wednesday 11th 10:00; Thursday 12th 21:00 (call), 22:00 (plate read);
    # Saturday 21st 09:00; Sunday 29th 01:30 CET and 03:30 CEST.
    for weekday, hour in ((1, 11), (1, 12), (2, 10), (3, 21), (3, 22), (5, 9), (6, 1), (6, 3)):
        grid[weekday][hour] += 1
    assert body == {"node": body["node"], "time_zone": "Europe/Paris",
                    "weekdays": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
                    "by_weekday_hour": grid, "total": 8,
                    "withheld": [{"owner_agency": "douane", "contact": DNRED, "count": 1}]}
    assert (body["node"]["id"], body["node"]["redacted"]) == (P1, False)
    calls = get(scenario, auth("police", "investigator"), "/v1/analytics/activity", id=pid(A), kinds="call",
                since="2026-03-29")
    assert (calls["total"], calls["by_weekday_hour"][6]) == (2, hours(1, 3))


# --- common contacts ----------------------------------------------------------------------------------


def test_common_contacts_of_two_phones(scenario: TestClient, auth: Auth) -> None:
    police = auth("police", "investigator")
    r = scenario.get("/v1/analytics/common-contacts", params={"phones": f"{pid(A)},{pid(E)}"}, headers=police)
    body = r.json()
    assert [{"phone": short(c["phone"]), "calls": c["calls"]} for c in body["contacts"]] == [
        {"phone": phone(B), "calls": {pid(A): 5, pid(E): 1}}]
    assert body["withheld"] == [{"owner_agency": "douane", "contact": DNRED, "count": 1}]
    hidden_from_police(r.text)
    across = get(scenario, police, "/v1/analytics/common-contacts", phones=f"{pid(A)}, {pid(F)}")
    assert [(c["phone"]["id"], c["calls"]) for c in across["contacts"]] == [(pid(C), {pid(A): 2, pid(F): 1})]
    later = get(scenario, police, "/v1/analytics/common-contacts", phones=f"{pid(A)},{pid(F)}", since="2026-03-13")
    assert later["contacts"] == []
    # D is a correspondent of A only in douane's restricted record: never a common contact for police.
    assert get(scenario, police, "/v1/analytics/common-contacts", phones=f"{pid(A)},{pid(B)}")["contacts"] == []


# --- co-location --------------------------------------------------------------------------------------


def test_co_location_at_the_edge_of_the_window(scenario: TestClient, auth: Auth) -> None:
    police = auth("police", "investigator")
    r = scenario.get("/v1/analytics/co-location", params={"id": pid(A)}, headers=police)
    body = r.json()
    # F, exactly 30 minutes after A at the same mast (pushed by gendarmerie: the same place by its ref),
    # is in; G, one second later, is not; D (douane, restricted) is counted; X (confidential) is not.
    assert [{**i, "other": short(i["other"]), "place": i["place"]["id"]} for i in body["items"]] == [
        {"other": phone(F), "place": POLICE_CELL, "at": "2026-03-12T20:00:00Z", "other_at": "2026-03-12T20:30:00Z"}]
    assert (body["total"], body["withheld"]) == (1, [{"owner_agency": "douane", "contact": DNRED, "count": 1}])
    hidden_from_police(r.text)
    wider = get(scenario, police, "/v1/analytics/co-location", id=pid(A), window_minutes=31)
    assert [(i["other"]["id"], i["other_at"]) for i in wider["items"]] == [
        (pid(G), "2026-03-12T20:30:01Z"), (pid(F), "2026-03-12T20:30:00Z")]
    assert get(scenario, police, "/v1/analytics/co-location", id=pid(A), since="2026-03-13")["items"] == []
    vehicle = get(scenario, police, "/v1/analytics/co-location", id=vid(V))
    assert [{**i, "other": short(i["other"]), "place": i["place"]["id"]} for i in vehicle["items"]] == [
        {"other": {"id": vid(W), "type": "Vehicle", "value": "EF456GH", "redacted": False}, "place": POLICE_LAPI,
         "at": "2026-03-12T21:00:00Z", "other_at": "2026-03-12T21:10:00Z"}]
    douane = get(scenario, auth("douane", "investigator"), "/v1/analytics/co-location", id=pid(D))
    assert [(i["other"]["id"], i["other_at"]) for i in douane["items"]] == [(pid(G), "2026-03-12T20:30:01Z"),
                                                                            (pid(F), "2026-03-12T20:30:00Z"),
                                                                            (pid(X), "2026-03-12T20:20:00Z")]
    assert douane["withheld"] == [{"owner_agency": "police", "contact": POLICE_CONTACT, "count": 1}]


# --- handset swaps --------------------------------------------------------------------------------------


def test_handset_swaps_of_a_phone_and_of_a_handset(scenario: TestClient, auth: Auth) -> None:
    police = auth("police", "investigator")

    def pairs(body: dict[str, Any]) -> list[tuple[str, str, str, str, int]]:
        return [(i["phone"]["id"], i["handset"]["id"], i["first"], i["last"], i["calls"]) for i in body["items"]]

    r = scenario.get("/v1/analytics/handset-swaps", params={"id": pid(A)}, headers=police)
    body = r.json()
    assert pairs(body) == [(pid(A), hid(H1), "2026-03-10T10:00:00Z", "2026-03-12T20:00:00Z", 3),
                           (pid(E), hid(H1), "2026-03-20T08:00:00Z", "2026-03-20T08:00:00Z", 1),
                           (pid(A), hid(H2), "2026-03-21T08:00:00Z", "2026-03-21T08:00:00Z", 1)]
    assert body["withheld"] == [{"owner_agency": "douane", "contact": DNRED, "count": 1}]  # D's call from H2
    hidden_from_police(r.text)
    handset = get(scenario, police, "/v1/analytics/handset-swaps", id=hid(H1))
    assert (pairs(handset), handset["withheld"]) == (
        [(pid(A), hid(H1), "2026-03-10T10:00:00Z", "2026-03-12T20:00:00Z", 3),
         (pid(E), hid(H1), "2026-03-20T08:00:00Z", "2026-03-20T08:00:00Z", 1)], [])
    assert pairs(get(scenario, police, "/v1/analytics/handset-swaps", id=pid(A), until="2026-03-15")) == [
        (pid(A), hid(H1), "2026-03-10T10:00:00Z", "2026-03-12T20:00:00Z", 3)]


# --- neighbourhood and paths in a window --------------------------------------------------------------


def test_neighbourhood_and_paths_keep_the_links_active_in_the_window(scenario: TestClient, auth: Auth) -> None:
    police = auth("police", "investigator")
    hood = f"/v1/entities/{pid(A)}/neighbourhood"

    def nodes(body: dict[str, Any]) -> set[str]:
        return {n["id"] for n in body["nodes"]}

    everything = get(scenario, police, hood)
    assert {P1, pid(B), pid(C)} <= nodes(everything)
    # After the 25th only A -> B (last call on the 29th) was active; P-1's USES link carries no date.
    late = get(scenario, police, hood, since="2026-03-25")
    assert nodes(late) == {pid(A), P1, pid(B)}
    assert {(e["type"], e["source"], e["target"]) for e in late["edges"]} == {
        ("USES", P1, pid(A)), ("CALLED", pid(A), pid(B))}
    early = get(scenario, police, hood, since="2026-03-01", until="2026-03-10T10:30:00Z")
    assert nodes(early) == {pid(A), P1, pid(B)}
    assert get(scenario, police, hood) == everything  # without since / until: as before
    assert [[n["id"] for n in p["nodes"]] for p in get(scenario, police, "/v1/paths", source=P1, target=pid(C))[
        "paths"]] == [[P1, pid(A), pid(C)]]
    assert get(scenario, police, "/v1/paths", source=P1, target=pid(C), since="2026-03-22")["paths"] == []
    assert len(get(scenario, police, "/v1/paths", source=P1, target=pid(C), until="2026-03-11T09:00:00Z")[
        "paths"]) == 1


# --- what the caller gets wrong -------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "params", "code", "parameter"), [
    ("/v1/entities/{A}/timeline", {"since": "yesterday"}, "invalid_since", "since"),
    ("/v1/entities/{A}/timeline", {"until": "2026-13-01"}, "invalid_until", "until"),
    ("/v1/entities/{A}/timeline", {"since": "2026-03-02", "until": "2026-03-01"}, "invalid_window",
     ["since", "until"]),
    ("/v1/entities/{A}/timeline", {"kinds": "call,fax"}, "unknown_kind", "kinds"),
    ("/v1/analytics/contacts", {"phone": "{P1}"}, "wrong_type", "phone"),
    ("/v1/analytics/common-contacts", {"phones": "{A}"}, "invalid_phones", "phones"),
    ("/v1/analytics/co-location", {"id": "{H1}"}, "wrong_type", "id"),
    ("/v1/analytics/handset-swaps", {"id": "{V}"}, "wrong_type", "id"),
    ("/v1/paths", {"source": "{P1}", "target": "{A}", "since": "2026-02-30"}, "invalid_since", "since"),
])
def test_bad_parameters_are_a_422_naming_them(scenario: TestClient, auth: Auth, path: str, params: dict[str, str],
                                              code: str, parameter: Any) -> None:
    names = {"A": pid(A), "P1": P1, "H1": hid(H1), "V": vid(V)}
    filled = {k: v.format(**names) for k, v in params.items()}
    body = get(scenario, auth("police", "investigator"), path.format(**names), 422, **filled)
    assert (body["error"]["code"], body["error"]["details"]["parameter"]) == (code, parameter)


def test_limits_unknown_ids_and_rights(scenario: TestClient, auth: Auth) -> None:
    police = auth("police", "investigator")
    for path, params in ((f"/v1/entities/{pid(A)}/timeline", {"limit": 501}),
                         ("/v1/analytics/contacts", {"phone": pid(A), "limit": 0}),
                         ("/v1/analytics/co-location", {"id": pid(A), "window_minutes": 0}),
                         ("/v1/analytics/co-location", {"id": pid(A), "window_minutes": 1441})):
        assert scenario.get(path, params=params, headers=police).status_code == 422
    assert get(scenario, police, "/v1/analytics/contacts", 404, phone=pid("+33699999999"))["error"]["code"] == \
        "not_found"
    assert scenario.get("/v1/analytics/contacts", params={"phone": pid(A)}).status_code == 401
    assert scenario.get("/v1/analytics/contacts", params={"phone": pid(A)},
                        headers=auth("police", "ingest")).status_code == 403
