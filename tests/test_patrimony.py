"""Patrimony and asset recovery on a real Neo4j, on a small known graph pushed as partners do.

The story:
- police (restricted): P owns 50 % of company C1, which owns 60 % of C2, which owns all of asset
  A1 (1 000 000 €, identified on 2025-05-01, at a place of INSEE 13055): 0.5 × 0.6 = 0.3 of A1 is
  P's. C2 also owns 20 % of C1 (a cycle of cross-ownership). P controls C3 (no share), which owns
  A2 (50 000 €); P owns A3 (8 000 €) with no share given, A6 (40 000 €, released on 2026-03-01)
  with 10 %, and the vehicle V. Network N: P and Q are members; Q owns A4 (20 000 €, seized on
  2026-02-01 by order JIRS-13-0042, at a place of INSEE 2A004), N owns half of A5 (10 000 €,
  confiscated on 2026-06-30). Company C9 owns A7 (7 €), no network.
- douane: DP (restricted) owns its restricted company DC, which owns its restricted asset DA;
  DO (open) owns its restricted asset DA2 (open link), its confidential asset DX (open link) and,
  by a restricted link, its open asset DO1.
So police lists and values its own assets, counts douane's restricted ones (and the open one it
reaches only through a restricted link) in `withheld` with the customs contact — no id, label or
value — and never learns of DX.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.builders import Auth, eid, ent, link, person, post_batch, push

DNRED = "DNRED — permanence, +33 1 00 00 00 03"
V = "AB-123-CD"
SECRETS = ("DOUANE-LABEL-DA", "DOUANE-LABEL-DA2", "DOUANE-LABEL-DX", "DOUANE-LABEL-DO1", "999999", "777777",
           "555555", "4321")


def pol(type_: str, ref: str) -> str:
    return eid("police", type_, ref)


def owns(src: tuple[str, str], dst: tuple[str, str], share: float | None = None,
         sharing: str = "restricted") -> dict[str, Any]:
    return link("OWNS", src, dst, sharing, **({} if share is None else {"share": share}))


def asset(ref: str, value: float, sharing: str = "restricted", **props: Any) -> dict[str, Any]:
    return ent("Asset", ref, sharing, kind="real_estate", label=f"label {ref}", value_eur=value, **props)


P, Q, N = ("Person", "P"), ("Person", "Q"), ("Network", "N")
C1, C2, C3, C9 = (("Company", c) for c in ("C1", "C2", "C3", "C9"))


@pytest.fixture
def scenario(client: TestClient, auth: Auth) -> TestClient:
    push(client, auth("police", "ingest"), [
        person("P", last_name="Benali"), person("Q", last_name="Ferhat"),
        ent("Network", "N", name="Réseau du Port", territory="Marseille (13)"),
        *(ent("Company", c, name=f"SARL {c}") for c in ("C1", "C2", "C3", "C9")),
        asset("A1", 1_000_000, identified_on="2025-05-01"), asset("A2", 50_000), asset("A3", 8_000),
        asset("A4", 20_000, status="seized", seized_on="2026-02-01", court_reference="JIRS-13-0042"),
        asset("A5", 10_000, status="confiscated", confiscated_on="2026-06-30"),
        asset("A6", 40_000, status="released", seized_on="2025-11-02", released_on="2026-03-01"),
        asset("A7", 7), ent("Vehicle", V, kind="car"),
        ent("Location", "L1", kind="address", insee_code="13055"),
        ent("Location", "L2", kind="address", insee_code="2A004"),
    ], [
        owns(P, C1, 0.5), owns(C1, C2, 0.6), owns(C2, ("Asset", "A1"), 1.0), owns(C2, C1, 0.2),
        link("CONTROLS", P, C3, role="gérant"), owns(C3, ("Asset", "A2"), 1.0), owns(P, ("Asset", "A3")),
        owns(P, ("Asset", "A6"), 0.1), owns(P, ("Vehicle", V), 1.0),
        link("MEMBER_OF", P, N, role="head"), link("MEMBER_OF", Q, N, role="launderer"),
        owns(Q, ("Asset", "A4"), 1.0), owns(N, ("Asset", "A5"), 0.5), owns(C9, ("Asset", "A7"), 1.0),
        link("LOCATED_AT", ("Asset", "A1"), ("Location", "L1")),
        link("LOCATED_AT", ("Asset", "A4"), ("Location", "L2")),
    ])
    push(client, auth("douane", "ingest"), [
        person("DP", last_name="Cachee"), ent("Company", "DC", name="DOUANE-COMPANY"),
        ent("Asset", "DA", kind="cash", label="DOUANE-LABEL-DA", value_eur=999_999),
        person("DO", "open", last_name="Ouvert"),
        ent("Asset", "DA2", kind="cash", label="DOUANE-LABEL-DA2", value_eur=777_777),
        ent("Asset", "DX", "confidential", kind="cash", label="DOUANE-LABEL-DX", value_eur=555_555),
        ent("Asset", "DO1", "open", kind="luxury", label="DOUANE-LABEL-DO1", value_eur=4321),
    ], [
        owns(("Person", "DP"), ("Company", "DC"), 1.0), owns(("Company", "DC"), ("Asset", "DA"), 1.0),
        owns(("Person", "DO"), ("Asset", "DA2"), 0.5, "open"), owns(("Person", "DO"), ("Asset", "DX"), 1.0, "open"),
        owns(("Person", "DO"), ("Asset", "DO1"), 1.0),
    ])
    return client


def get(client: TestClient, headers: dict[str, str], path: str, status: int = 200, **params: Any) -> Any:
    r = client.get(path, params=params, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


def held(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The assets listed, by ref."""
    return {a["asset"].get("ref") or a["asset"].get("value"): a for a in body["assets"]}


def test_shares_multiply_along_a_company_chain(scenario: TestClient, auth: Auth) -> None:
    body = get(scenario, auth("police", "analyst"), f"/v1/entities/{pol(*P)}/patrimony")
    a1 = held(body)["A1"]
    assert a1["via"] == [pol(*P), pol(*C1), pol(*C2), pol("Asset", "A1")]
    assert a1["share"] == pytest.approx(0.3)
    assert a1["value_eur"] == 1_000_000 and a1["status"] == "identified" and a1["chains"] == 1
    # 0.3 × 1 000 000 + 0.1 × 40 000; A2 (controlled, no share) and A3 (no share) only apart.
    assert body["totals"]["attributable_eur"] == pytest.approx(304_000)
    assert body["totals"]["unknown_share_eur"] == pytest.approx(58_000)
    assert body["totals"]["identified"] == {"count": 3, "value_eur": 1_058_000}
    assert body["totals"]["released"] == {"count": 1, "value_eur": 40_000}
    assert body["totals"]["seized"] == {"count": 0, "value_eur": 0}
    assert body["withheld"] == [] and body["truncated"] is False
    assert body["entity"]["id"] == pol(*P) and body["total"] == 5  # A1, A2, A3, A6 and the vehicle


def test_max_depth_bounds_the_chain(scenario: TestClient, auth: Auth) -> None:
    body = get(scenario, auth("police", "analyst"), f"/v1/entities/{pol(*P)}/patrimony", max_depth=2)
    assert "A1" not in held(body) and {"A2", "A3", "A6"} <= set(held(body))


def test_a_cycle_of_cross_ownership_terminates(scenario: TestClient, auth: Auth) -> None:
    """C1 and C2 own each other: every chain is a simple path, so A1 is reached once from C1."""
    body = get(scenario, auth("police", "analyst"), f"/v1/entities/{pol(*C1)}/patrimony", max_depth=6)
    assert set(held(body)) == {"A1"}
    assert held(body)["A1"]["share"] == pytest.approx(0.6) and held(body)["A1"]["chains"] == 1
    from_c2 = get(scenario, auth("police", "analyst"), f"/v1/entities/{pol(*C2)}/patrimony", max_depth=6)
    assert held(from_c2)["A1"]["share"] == 1.0 and held(from_c2)["A1"]["chains"] == 1


def test_a_missing_share_is_unknown_not_whole(scenario: TestClient, auth: Auth) -> None:
    assets = held(get(scenario, auth("police", "analyst"), f"/v1/entities/{pol(*P)}/patrimony"))
    assert assets["A2"]["share"] is None and assets["A2"]["via"] == [pol(*P), pol(*C3), pol("Asset", "A2")]
    assert assets["A3"]["share"] is None
    assert assets["AB123CD"]["status"] is None and assets["AB123CD"]["share"] == 1.0


def test_a_network_holds_its_members_assets(scenario: TestClient, auth: Auth) -> None:
    body = get(scenario, auth("police", "analyst"), f"/v1/entities/{pol(*N)}/patrimony")
    assets = held(body)
    assert {"A1", "A2", "A3", "A4", "A5", "A6"} <= set(assets) and "A7" not in assets
    assert assets["A4"]["via"] == [pol(*N), pol(*Q), pol("Asset", "A4")] and assets["A4"]["share"] == 1.0
    assert assets["A5"]["via"] == [pol(*N), pol("Asset", "A5")] and assets["A5"]["share"] == 0.5
    assert assets["A1"]["share"] == pytest.approx(0.3)  # the membership hop does not count against max_depth
    assert body["totals"]["seized"] == {"count": 1, "value_eur": 20_000}
    assert body["totals"]["confiscated"] == {"count": 1, "value_eur": 10_000}
    assert body["totals"]["attributable_eur"] == pytest.approx(304_000 + 20_000 + 5_000)


def test_another_agencys_restricted_assets_are_only_counted(scenario: TestClient, auth: Auth) -> None:
    police = auth("police", "analyst")
    r = scenario.get(f"/v1/entities/{eid('douane', 'Person', 'DO')}/patrimony", headers=police)
    assert r.status_code == 200, r.text
    body = r.json()
    # DA2 (a restricted asset) and DO1 (an open asset behind a restricted link); DX (confidential) absent.
    assert body["assets"] == [] and body["withheld"] == [{"owner_agency": "douane", "assets": 2, "contact": DNRED}]
    assert body["totals"]["attributable_eur"] == 0
    for secret in (*SECRETS, *(eid("douane", "Asset", ref) for ref in ("DA2", "DX", "DO1"))):
        assert secret not in r.text, secret
    stub = get(scenario, police, f"/v1/entities/{eid('douane', 'Person', 'DP')}/patrimony")
    assert stub["entity"]["redacted"] is True and stub["assets"] == []
    assert stub["withheld"] == [{"owner_agency": "douane", "assets": 1, "contact": DNRED}]
    # The owner sees its own in full, confidential included.
    own = held(get(scenario, auth("douane", "analyst"), f"/v1/entities/{eid('douane', 'Person', 'DO')}/patrimony"))
    assert set(own) == {"DA2", "DX", "DO1"} and own["DA2"]["share"] == 0.5


def test_unknown_entity_wrong_type_and_depth(scenario: TestClient, auth: Auth) -> None:
    police = auth("police", "analyst")
    assert get(scenario, police, f"/v1/entities/{pol('Nothing', 'x')}/patrimony", 404)["error"]["code"] == "not_found"
    confidential = eid("douane", "Asset", "DX")
    assert get(scenario, police, f"/v1/entities/{confidential}/patrimony", 404)["error"]["code"] == "not_found"
    wrong = get(scenario, police, f"/v1/entities/{pol('Asset', 'A1')}/patrimony", 422)
    assert wrong["error"]["code"] == "wrong_type" and wrong["error"]["details"]["parameter"] == "entity_id"
    for depth in (0, 7):
        bad = get(scenario, police, f"/v1/entities/{pol(*P)}/patrimony", 422, max_depth=depth)
        assert "max_depth" in bad["error"]["message"] + str(bad["error"]["details"])


def test_status_pushed_again_moves_the_totals(scenario: TestClient, auth: Auth) -> None:
    """The owner's system of record carries the recovery steps: re-pushing A1 as seized moves it."""
    push(scenario, auth("police", "ingest"), [asset("A1", 1_000_000, identified_on="2025-05-01", status="seized",
                                                    seized_on="2026-04-02", court_reference="JIRS-13-0077")])
    body = get(scenario, auth("police", "analyst"), f"/v1/entities/{pol(*P)}/patrimony")
    assert held(body)["A1"]["status"] == "seized"
    assert held(body)["A1"]["asset"]["properties"]["court_reference"] == "JIRS-13-0077"
    assert body["totals"]["seized"] == {"count": 1, "value_eur": 1_000_000}
    refused = scenario.post("/v1/ingest", headers=auth("police", "ingest"),
                            json={"entities": [asset("A1", 1, status="stolen")], "links": []})
    assert refused.status_code == 422, refused.text


def groups(body: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {g["group"]: g for g in body["groups"]}


def test_recovery_by_year(scenario: TestClient, auth: Auth) -> None:
    body = get(scenario, auth("police", "analyst"), "/v1/assets/recovery", group_by="year")
    by = groups(body)
    assert by["2025"]["statuses"]["identified"] == {"count": 1, "value_eur": 1_000_000}
    assert by["2026"]["statuses"]["seized"] == {"count": 1, "value_eur": 20_000}
    assert by["2026"]["statuses"]["confiscated"] == {"count": 1, "value_eur": 10_000}
    assert by["2026"]["statuses"]["released"] == {"count": 1, "value_eur": 40_000}
    # A2, A3, A7 and douane's open DO1 have no date.
    assert by[None]["count"] == 4 and by[None]["value_eur"] == pytest.approx(50_000 + 8_000 + 7 + 4321)
    assert body["withheld"] == [{"owner_agency": "douane", "assets": 2, "contact": DNRED}]


def test_recovery_by_departement(scenario: TestClient, auth: Auth) -> None:
    body = get(scenario, auth("police", "analyst"), "/v1/assets/recovery", group_by="departement")
    by = groups(body)
    assert set(by) == {"13", "2A", None}
    assert by["13"]["count"] == 1 and by["13"]["value_eur"] == 1_000_000
    assert by["2A"]["statuses"]["seized"] == {"count": 1, "value_eur": 20_000}
    assert by[None]["count"] == 6


def test_recovery_by_network(scenario: TestClient, auth: Auth) -> None:
    police = get(scenario, auth("police", "analyst"), "/v1/assets/recovery", group_by="network")
    by = groups(police)
    assert set(by) == {pol(*N), None}
    assert by[pol(*N)]["network"] == {"id": pol(*N), "name": "Réseau du Port", "territory": "Marseille (13)"}
    assert by[pol(*N)]["count"] == 6 and by[pol(*N)]["statuses"]["confiscated"]["count"] == 1
    assert by[None]["count"] == 2  # A7 and douane's open DO1
    # Gendarmerie sees none of police's restricted data: counted, never valued nor grouped.
    other = get(scenario, auth("gendarmerie", "analyst"), "/v1/assets/recovery", group_by="network")
    assert groups(other)[None]["count"] == 1 and groups(other)[None]["value_eur"] == 4321
    assert {w["owner_agency"]: w["assets"] for w in other["withheld"]} == {"police": 7, "douane": 2}
    assert "Réseau du Port" not in str(other) and pol(*N) not in str(other)


def test_recovery_group_by_is_checked(scenario: TestClient, auth: Auth) -> None:
    bad = get(scenario, auth("police", "analyst"), "/v1/assets/recovery", 422, group_by="commune")
    assert "group_by" in str(bad["error"])


HOSTILE_IDS = ["') MATCH (n) DETACH DELETE n //", "${jndi:ldap://x}", "%00", "é" * 50, "../../v1/ingest"]


def test_hostile_parameters(scenario: TestClient, auth: Auth, driver: Any) -> None:
    """Odd ids are unknown entities (404), too long ones and odd depths or groups a 422; never a
    5xx, and a read writes nothing."""
    police = auth("police", "analyst")

    def count() -> int:
        with driver.session() as s:
            return int(s.run("MATCH (n:Node) RETURN count(n) AS c").single()["c"])

    before = count()
    for value in HOSTILE_IDS:
        assert scenario.get(f"/v1/entities/{value}/patrimony", headers=police).status_code == 404, value
    assert scenario.get(f"/v1/entities/{'x' * 2001}/patrimony", headers=police).status_code == 422
    for depth in ("-1", "1e309", "' OR 1=1 //", "3.5"):
        r = scenario.get(f"/v1/entities/{pol(*P)}/patrimony", params={"max_depth": depth}, headers=police)
        assert r.status_code == 422, (depth, r.text)
    for group in ("", "network' OR 1=1 //", "\u0000", "x" * 5000):
        r = scenario.get("/v1/assets/recovery", params={"group_by": group}, headers=police)
        assert r.status_code == 422, (group, r.text)
    assert count() == before


def test_recovery_steps_out_of_order_are_refused_naming_the_field(client: TestClient, auth: Auth) -> None:
    """identified → seized → confiscated or released (graph_schema: Asset's date_order, exclusive)."""
    police = auth("police", "investigator")
    cases = [({"identified_on": "2026-02-01", "seized_on": "2026-01-15"}, "properties.seized_on"),
             ({"seized_on": "2026-02-01", "confiscated_on": "2026-01-01"}, "properties.confiscated_on"),
             ({"identified_on": "2026-01-01", "released_on": "2025-12-31"}, "properties.released_on"),
             ({"confiscated_on": "2026-03-01", "released_on": "2026-03-02"}, "properties.released_on")]
    for props, where in cases:
        r = client.post("/v1/ingest", headers=police,
                        json={"entities": [{"type": "Asset", "ref": "A-ORDER", "properties": props}]})
        assert r.status_code == 422, (props, r.text)
        assert [d["field"] for d in r.json()["error"]["details"]] == [where], r.text
    steps = {"status": "confiscated", "identified_on": "2026-01-01", "seized_on": "2026-01-01",
             "confiscated_on": "2026-06-30"}
    r = client.post("/v1/ingest", headers=police,
                    json={"entities": [{"type": "Asset", "ref": "A-ORDER", "properties": steps}]})
    assert r.status_code == 200, r.text


def test_a_holding_ends_after_it_starts(client: TestClient, auth: Auth) -> None:
    """OWNS / CONTROLS: `since` ≤ `until` where both are given (graph_schema: the links' date_order)."""
    police = auth("police", "investigator")
    entities = [person("P-H", last_name="Holder"), ent("Company", "C-H", name="SARL Tenue")]
    for rel, extra in (("OWNS", {"share": 0.5}), ("CONTROLS", {"role": "gérant"})):
        bad = link(rel, ("Person", "P-H"), ("Company", "C-H"), since="2024-05-01", until="2023-01-01", **extra)
        r = client.post("/v1/ingest", headers=police, json={"entities": entities, "links": [bad]})
        assert r.status_code == 422, r.text
        [detail] = r.json()["error"]["details"]
        assert (detail["section"], detail["index"], detail["field"]) == ("links", 0, "properties.until"), detail
        good = link(rel, ("Person", "P-H"), ("Company", "C-H"), since="2023-01-01", until="2024-05-01", **extra)
        r = client.post("/v1/ingest", headers=police, json={"entities": entities, "links": [good]})
        assert r.status_code == 200, r.text


def test_a_stored_status_never_moves_back(scenario: TestClient, auth: Auth) -> None:
    """identified → seized → confiscated or released (graph_schema: Asset's progression), judged
    against the stored status: going back is a 422 naming the item, and nothing of the batch is
    written; the same status again is unchanged."""
    ingest = auth("police", "ingest")
    a5 = asset("A5", 10_000, status="confiscated", confiscated_on="2026-06-30")
    assert push(scenario, ingest, [a5])["entities"][0]["status"] == "unchanged"
    backwards = [(asset("A5", 10_000, status="seized", seized_on="2026-01-02"), "confiscated to seized"),
                 (asset("A6", 40_000, status="confiscated", seized_on="2025-11-02", confiscated_on="2026-03-01"),
                  "released to confiscated"),
                 (asset("A4", 20_000), "seized to identified"),
                 (asset("A5", 10_000, status="identified"), "confiscated to identified")]
    forward = asset("A1", 1_000_000, status="seized", seized_on="2026-04-02")
    for item, move in backwards:
        r = post_batch(scenario, ingest, {"entities": [forward, item]})
        assert r.status_code == 422, r.text
        details = r.json()["error"]["details"]
        assert [(d["section"], d["index"], d["field"]) for d in details] == [("entities", 1, "properties.status")]
        assert move in details[0]["message"], details
    statuses = {a: held(get(scenario, auth("police", "analyst"), f"/v1/entities/{pol(*P)}/patrimony"))[a]["status"]
                for a in ("A1", "A6")}
    assert statuses == {"A1": "identified", "A6": "released"}
    a4 = asset("A4", 20_000, status="confiscated", seized_on="2026-02-01", confiscated_on="2026-09-01")
    assert push(scenario, ingest, [a4])["entities"][0]["status"] == "updated"

