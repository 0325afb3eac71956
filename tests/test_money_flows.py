"""Money flows and laundering indicators on a real Neo4j, on small known scenarios pushed as
partners do (POST /v1/ingest for persons, companies, networks and their accounts; POST /v1/events
for the transfers). Police investigates; times are UTC.

Flows (police, restricted):
- the chain A → B → C → D → E: A→B 5000 (1 March) and 3000 (2 March), B→C 7000 (3 March) and 2000
  on 28 February (before the money came in: not counted), C→D 6000 (4 March) and 1000 on 2 March
  (before hop 2's first transfer: not counted), D→E 9000 (5 March): bottleneck 6000, hops 8000,
  7000, 6000, 9000; P-A holds A;
- A → F on 10 March, F → E on 9 March: no chain (F paid E before it was paid);
- A → G (police, 1 March) then G → E by douane, restricted (2 March): a chain police may not see,
  its douane transfer counted in `withheld` with the customs contact; A → H (police) then H → E by
  douane, confidential: not there at all.

Indicators (network N-1: members P-R, P-S, P-F; P-F owns company C-1):
- a round trip R1 → R2 → R3 → R4 → R1 (P-R holds R1), in time order; R5 → R6 → R7 → R5 with its
  last hop before its second (P-R holds R5): no round trip;
- structuring into S (P-S): 9500, 9900, 9000 (flagged), and a douane restricted 9700 (withheld only);
  into S2 (P-S): 9500, 9600, then 10000 (at the threshold) and 8999.99 (under the margin): 2, not flagged;
- fan-in / fan-out on FAN (held by C-1): 5 payers of 100 each, then 5 payees of 90;
- pass-through on PT (P-S): 10000 in on 1 March, 9000 out on 2 March (0.9); PT2 (P-S): the same
  out on 10 March, 9 days later: not flagged.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fastapi.testclient import TestClient

from graph_schema.normalise import normalise
from service.access.policy import Money, load_money
from service.core import ids
from tests.builders import Auth, eid, ent, link, person, push

DNRED = "DNRED — permanence, +33 1 00 00 00 03"
HIDDEN_AMOUNT = 4321.5  # douane's restricted transfer on the chain A → G → E
SECRET_AMOUNT = 8765.25  # douane's confidential transfer H → E


def acc(name: str) -> str:
    """The raw account number of account `name`, as a partner writes it."""
    return f"FR-ACC-{name}"


def aid(name: str) -> str:
    return ids.identifier_id("BankAccount", normalise("iban", acc(name)))


def event_id(agency: str, ref: str) -> str:
    return ids.uuid5(f"event\x1f{agency}\x1ftransfer\x1fref\x1f{ref}")


def transfer(ref: str, at: str, src: str, dst: str, amount: float, **extra: Any) -> dict[str, Any]:
    return {"kind": "transfer", "ref": ref, "at": at, "amount_eur": amount, "reference": f"wording {ref}",
            "from": {"type": "BankAccount", "ref": acc(src)}, "to": {"type": "BankAccount", "ref": acc(dst)},
            **extra}


def send(client: TestClient, headers: dict[str, str], events: list[dict[str, Any]]) -> None:
    r = client.post("/v1/events", json={"events": events}, headers=headers)
    assert r.status_code == 200, r.text


def holds(holder: tuple[str, str], name: str) -> dict[str, Any]:
    return link("HOLDS", holder, ("BankAccount", acc(name)))


def get(client: TestClient, headers: dict[str, str], path: str, status: int = 200, **params: Any) -> Any:
    r = client.get(path, params=params, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


FLOW_EVENTS = [
    transfer("AB-1", "2026-03-01T10:00:00Z", "A", "B", 5000),
    transfer("AB-2", "2026-03-02T10:00:00Z", "A", "B", 3000),
    transfer("BC-0", "2026-02-28T10:00:00Z", "B", "C", 2000),
    transfer("BC-1", "2026-03-03T10:00:00Z", "B", "C", 7000),
    transfer("CD-0", "2026-03-02T12:00:00Z", "C", "D", 1000),
    transfer("CD-1", "2026-03-04T10:00:00Z", "C", "D", 6000),
    transfer("DE-1", "2026-03-05T10:00:00Z", "D", "E", 9000),
    transfer("AF-1", "2026-03-10T10:00:00Z", "A", "F", 4000),
    transfer("FE-1", "2026-03-09T10:00:00Z", "F", "E", 4000),
    transfer("AG-1", "2026-03-01T10:00:00Z", "A", "G", 1000),
    transfer("AH-1", "2026-03-01T10:00:00Z", "A", "H", 1000),
]
DOUANE_FLOW_EVENTS = [
    transfer("DOU-GE", "2026-03-02T10:00:00Z", "G", "E", HIDDEN_AMOUNT),
    transfer("DOU-HE", "2026-03-02T10:00:00Z", "H", "E", SECRET_AMOUNT, sharing="confidential"),
]


@pytest.fixture
def flows(client: TestClient, auth: Auth) -> TestClient:
    push(client, auth("police", "ingest"), [person("P-A", last_name="Benali"), ent("BankAccount", acc("A"))],
         [holds(("Person", "P-A"), "A")])
    send(client, auth("police", "ingest"), FLOW_EVENTS)
    send(client, auth("douane", "ingest"), DOUANE_FLOW_EVENTS)
    return client


def test_a_four_hop_chain_with_its_bottleneck_and_time_order(flows: TestClient, auth: Auth) -> None:
    police = auth("police", "investigator")
    body = get(flows, police, "/v1/analytics/money-flows", source=aid("A"), target=aid("E"))
    assert body["total"] == 1 and body["truncated"] is False
    chain = body["items"][0]
    assert [a["id"] for a in chain["accounts"]] == [aid(k) for k in "ABCDE"]
    assert chain["accounts"][0] == {**chain["accounts"][0], "type": "BankAccount", "redacted": False}
    assert chain["amount_eur"] == 6000
    assert [(h["transfers"], h["amount_eur"]) for h in chain["hops"]] == [(2, 8000), (1, 7000), (1, 6000), (1, 9000)]
    assert [h["from"] for h in chain["hops"]] == [aid(k) for k in "ABCD"]
    assert chain["first"] == "2026-03-01T10:00:00Z" and chain["last"] == "2026-03-05T10:00:00Z"
    assert chain["hops"][0]["last"] == "2026-03-02T10:00:00Z"


def test_a_person_stands_for_its_accounts_and_the_bounds_hold(flows: TestClient, auth: Auth) -> None:
    police = auth("police", "investigator")
    path = "/v1/analytics/money-flows"
    by_person = get(flows, police, path, source=eid("police", "Person", "P-A"), target=aid("E"))
    assert [[a["id"] for a in c["accounts"]] for c in by_person["items"]] == [[aid(k) for k in "ABCDE"]]
    assert by_person["source"]["type"] == "Person"
    assert get(flows, police, path, source=aid("A"), target=aid("E"), max_hops=3)["total"] == 0
    assert get(flows, police, path, source=aid("A"), target=aid("E"), min_amount=6000)["total"] == 1
    assert get(flows, police, path, source=aid("A"), target=aid("E"), min_amount=6000.01)["total"] == 0
    # The window: without 5 March's last hop there is no chain; from 2 March, hop 1 is AB-2 alone.
    assert get(flows, police, path, source=aid("A"), target=aid("E"), until="2026-03-04")["total"] == 0
    late = get(flows, police, path, source=aid("A"), target=aid("E"), since="2026-03-02")["items"][0]
    assert late["amount_eur"] == 3000 and late["hops"][0]["transfers"] == 1
    # F paid E before A paid F: no chain through F, at any number of hops.
    assert get(flows, police, path, source=aid("A"), target=aid("F"))["total"] == 1
    assert get(flows, police, path, source=aid("F"), target=aid("E"))["total"] == 1


def test_a_restricted_transfer_of_another_agency_only_counts_in_withheld(flows: TestClient, auth: Auth) -> None:
    police = auth("police", "investigator")
    r = flows.get("/v1/analytics/money-flows", params={"source": aid("A"), "target": aid("E")}, headers=police)
    body = r.json()
    assert body["withheld"] == [{"owner_agency": "douane", "contact": DNRED, "count": 1}]
    assert all(aid("G") not in [a["id"] for a in c["accounts"]] for c in body["items"])
    for secret in (str(HIDDEN_AMOUNT), str(SECRET_AMOUNT), "DOU-GE", "DOU-HE", event_id("douane", "DOU-GE"),
                   event_id("douane", "DOU-HE"), aid("H")):
        assert secret not in r.text, secret
    # Douane sees its own transfer but not police's A → G: the chain is withheld the other way round.
    douane = get(flows, auth("douane", "investigator"), "/v1/analytics/money-flows", source=aid("A"),
                 target=aid("E"))
    assert douane["total"] == 0
    # Police's five transfers of the chain through B, its A → G and its A → H (H → E is douane's own).
    assert douane["withheld"] == [{"owner_agency": "police", "contact": police_contact(), "count": 7}]
    # The central agency sees every chain, the confidential one included.
    central = get(flows, auth("ofast", "analyst"), "/v1/analytics/money-flows", source=aid("A"), target=aid("E"))
    assert sorted(c["accounts"][1]["id"] for c in central["items"]) == sorted([aid("B"), aid("G"), aid("H")])
    assert central["withheld"] == []


def test_the_walk_budget_bounds_the_search_and_says_so(flows: TestClient, auth: Auth) -> None:
    app: Any = flows.app
    saved = app.state.policy
    app.state.policy = dataclasses.replace(saved, money=dataclasses.replace(saved.money, flow_walk_budget=2))
    try:
        body = get(flows, auth("police", "investigator"), "/v1/analytics/money-flows", source=aid("A"),
                   target=aid("E"))
    finally:
        app.state.policy = saved
    assert body["truncated"] is True and body["walk_budget"] == 2
    whole = get(flows, auth("police", "investigator"), "/v1/analytics/money-flows", source=aid("A"), target=aid("E"))
    assert whole["truncated"] is False and whole["walk_budget"] == Money().flow_walk_budget
    limited = get(flows, auth("ofast", "analyst"), "/v1/analytics/money-flows", source=aid("A"), target=aid("E"),
                  limit=1)
    assert (len(limited["items"]), limited["total"], limited["truncated"]) == (1, 3, True)


def test_the_policy_money_section_is_checked() -> None:
    assert load_money({}) == Money()
    assert load_money({"structuring_threshold_eur": 15000, "structuring_min_count": 4}).structuring_min_count == 4
    for bad in ({"threshold": 1}, {"pass_through_ratio": 0}, {"structuring_margin_eur": 10000},
                {"round_trip_max_hops": 7}, {"flow_walk_budget": 0}, {"pass_through_days": 1.5},
                {"pass_through_min_eur": -1}, {"fan_min_counterparties": "five"}):
        with pytest.raises(ValueError):
            load_money(bad)


def police_contact() -> str:
    return "Police nationale — permanence OFAST relay, +33 1 00 00 00 01"


def test_money_flows_name_what_is_wrong_with_the_ends(flows: TestClient, auth: Auth) -> None:
    police = auth("police", "investigator")
    path = "/v1/analytics/money-flows"
    same = get(flows, police, path, 422, source=aid("A"), target=aid("A"))
    assert same["error"]["details"]["parameter"] == "target"
    phone = ids.identifier_id("Phone", "+33611111111")
    push(flows, auth("police", "ingest"), [ent("Phone", "+33611111111")])
    assert get(flows, police, path, 422, source=phone, target=aid("E"))["error"]["code"] == "wrong_type"
    unknown = get(flows, police, path, 404, source=aid("A"), target="no-such-node")
    assert unknown["error"]["details"]["parameter"] == "target"
    get(flows, police, path, 422, target=aid("E"))  # source is required


# --- laundering indicators -------------------------------------------------------------------------

INDICATOR_EVENTS = [
    transfer("R-1", "2026-03-01T10:00:00Z", "R1", "R2", 5000),
    transfer("R-2", "2026-03-02T10:00:00Z", "R2", "R3", 4800),
    transfer("R-3", "2026-03-03T10:00:00Z", "R3", "R4", 4600),
    transfer("R-4", "2026-03-04T10:00:00Z", "R4", "R1", 4400),
    transfer("Q-1", "2026-03-01T10:00:00Z", "R5", "R6", 500),
    transfer("Q-2", "2026-03-03T10:00:00Z", "R6", "R7", 500),
    transfer("Q-3", "2026-03-02T10:00:00Z", "R7", "R5", 500),
    transfer("S-1", "2026-03-01T10:00:00Z", "X1", "S", 9500),
    transfer("S-2", "2026-03-02T10:00:00Z", "X2", "S", 9900),
    transfer("S-3", "2026-03-03T10:00:00Z", "X3", "S", 9000),
    transfer("T-1", "2026-03-01T10:00:00Z", "X1", "S2", 9500),
    transfer("T-2", "2026-03-02T10:00:00Z", "X2", "S2", 9600),
    transfer("T-3", "2026-03-03T10:00:00Z", "X3", "S2", 10000),
    transfer("T-4", "2026-03-04T10:00:00Z", "X4", "S2", 8999.99),
    *(transfer(f"FI-{k}", f"2026-03-0{k}T09:00:00Z", f"IN{k}", "FAN", 100) for k in range(1, 6)),
    *(transfer(f"FO-{k}", f"2026-03-0{k}T18:00:00Z", "FAN", f"OUT{k}", 90) for k in range(1, 6)),
    transfer("P-1", "2026-03-01T10:00:00Z", "X5", "PT", 10000),
    transfer("P-2", "2026-03-02T10:00:00Z", "PT", "Y1", 9000),
    transfer("P-3", "2026-03-01T10:00:00Z", "X5", "PT2", 10000),
    transfer("P-4", "2026-03-10T10:00:00Z", "PT2", "Y1", 9000),
]
NETWORK = eid("police", "Network", "N-1")


@pytest.fixture
def indicators(client: TestClient, auth: Auth) -> TestClient:
    member = [("P-R", ["R1", "R5"]), ("P-S", ["S", "S2", "PT", "PT2"]), ("P-F", [])]
    entities = [ent("Network", "N-1", name="Réseau du Port"), ent("Company", "C-1", name="Façade SARL"),
                *(person(ref) for ref, _ in member),
                *(ent("BankAccount", acc(a)) for _, accounts in member for a in accounts),
                ent("BankAccount", acc("FAN"))]
    links = [*(link("MEMBER_OF", ("Person", ref), ("Network", "N-1")) for ref, _ in member),
             *(holds(("Person", ref), a) for ref, accounts in member for a in accounts),
             link("OWNS", ("Person", "P-F"), ("Company", "C-1"), share=1.0), holds(("Company", "C-1"), "FAN")]
    push(client, auth("police", "ingest"), entities, links)
    send(client, auth("police", "ingest"), INDICATOR_EVENTS)
    send(client, auth("douane", "ingest"), [transfer("DOU-S", "2026-03-04T10:00:00Z", "X9", "S", 9700)])
    return client


def reasons(body: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Flagged account id -> reason kind -> reason."""
    return {a["account"]["id"]: {r["kind"]: r for r in a["reasons"]} for a in body["accounts"]}


def test_indicators_of_a_network(indicators: TestClient, auth: Auth) -> None:
    police = auth("police", "investigator")
    r = indicators.get("/v1/analytics/laundering-indicators", params={"network": NETWORK}, headers=police)
    assert r.status_code == 200, r.text
    body = r.json()
    found = reasons(body)
    assert body["scope"]["id"] == NETWORK and body["scope_accounts"] == 7 and body["truncated"] is False
    # A round trip of 4 hops, in time order; R5's comes back before it went round: none.
    trip = found[aid("R1")]["round_trip"]
    assert trip["count"] == 1
    assert [a["id"] for a in trip["chains"][0]["accounts"]] == [aid(k) for k in ("R1", "R2", "R3", "R4", "R1")]
    assert trip["chains"][0]["amount_eur"] == 4400
    assert aid("R5") not in found
    # Structuring just under the threshold; at the threshold or under the margin does not count.
    structuring = found[aid("S")]["structuring"]
    assert (structuring["direction"], structuring["transfers"], structuring["amount_eur"]) == ("in", 3, 28400)
    assert (structuring["first"], structuring["last"]) == ("2026-03-01T10:00:00Z", "2026-03-03T10:00:00Z")
    assert aid("S2") not in found
    # Fan-in and fan-out on the company's account; the company is listed with them.
    assert found[aid("FAN")]["fan_in"]["counterparties"] == 5
    assert found[aid("FAN")]["fan_out"]["counterparties"] == 5
    assert "pass_through" not in found[aid("FAN")]  # 500 in: under pass_through_min_eur
    company = eid("police", "Company", "C-1")
    assert [(c["company"]["id"], c["accounts"], c["reasons"]) for c in body["companies"]] == [
        (company, [aid("FAN")], ["fan_in", "fan_out"])]
    holders = {a["account"]["id"]: [h["id"] for h in a["holders"]] for a in body["accounts"]}
    assert holders[aid("FAN")] == [company]
    # Pass-through within the policy's days; nine days later is not.
    passed = found[aid("PT")]["pass_through"]
    assert (passed["amount_in_eur"], passed["amount_out_eur"], passed["ratio"]) == (10000, 9000, 0.9)
    assert aid("PT2") not in found
    # Douane's restricted transfer into S counts, with whom to call; it never adds to structuring.
    assert body["withheld"] == [{"owner_agency": "douane", "contact": DNRED, "count": 1}]
    assert "DOU-S" not in r.text and event_id("douane", "DOU-S") not in r.text and "9700" not in r.text


def test_indicators_of_an_entity_and_of_a_window(indicators: TestClient, auth: Auth) -> None:
    police = auth("police", "investigator")
    path = "/v1/analytics/laundering-indicators"
    body = get(indicators, police, path, entity=eid("police", "Person", "P-S"))
    assert sorted(reasons(body)) == sorted([aid("S"), aid("PT")])
    assert body["companies"] == []
    account = get(indicators, police, path, entity=aid("FAN"))
    assert sorted(reasons(account)[aid("FAN")]) == ["fan_in", "fan_out"]
    # From 2 March, S has two transfers under the threshold left, FAN four payers.
    later = reasons(get(indicators, police, path, network=NETWORK, since="2026-03-02"))
    assert aid("S") not in later and aid("FAN") not in later
    # Another agency may know the network and its restricted links exist, not see their transfers.
    other = get(indicators, auth("gendarmerie", "investigator"), path, network=NETWORK)
    assert other["accounts"] == [] and other["scope"]["redacted"] is True


FLOWS = {"source": aid("A"), "target": aid("E")}


@pytest.mark.parametrize(("path", "params"), [
    *(("money-flows", FLOWS | p) for p in (
        {"max_hops": 0}, {"max_hops": 7}, {"min_amount": -1}, {"limit": 0}, {"since": "yesterday"},
        {"since": "2026-03-05", "until": "2026-03-01"})),
    *(("laundering-indicators", p) for p in (
        {}, {"network": NETWORK, "entity": NETWORK}, {"network": eid("police", "Person", "P-S")},
        {"network": NETWORK, "until": "not a date"})),
])
def test_bad_parameters_are_a_422(indicators: TestClient, auth: Auth, path: str, params: dict[str, Any]) -> None:
    get(indicators, auth("police", "investigator"), f"/v1/analytics/{path}", 422, **params)


def test_indicators_of_an_unknown_node_are_a_404(indicators: TestClient, auth: Auth) -> None:
    body = get(indicators, auth("police", "investigator"), "/v1/analytics/laundering-indicators", 404,
               network="no-such-network")
    assert body["error"]["details"]["parameter"] == "network"
