"""The endpoints behind the web UI — GET /v1/me, /v1/dashboard/threat, /v1/map/deal-points — and
the UI's static mount, on a real Neo4j. Data goes in through POST /v1/ingest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import neo4j
import yaml
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.core.settings import Settings
from tests.builders import Auth, eid, ent, link, push

# --- /v1/me -------------------------------------------------------------------------------------


def test_me_describes_the_caller(client: TestClient, auth: Auth) -> None:
    r = client.get("/v1/me", headers=auth("police", "investigator", unit="OFAST-Marseille"))
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["agency"] == "police" and me["unit"] == "OFAST-Marseille" and me["roles"] == ["investigator"]
    assert me["agency_name"] == "Police nationale" and me["central"] is False and me["central_agency"] == "ofast"
    assert set(me["permissions"]) == {"read", "write", "ingest"}
    assert "police" in me["agencies"] and "douane" in me["agencies"]

    manager = client.get("/v1/me", headers=auth("ofast", "target_manager")).json()
    assert manager["central"] is True and "manage_targets" in manager["permissions"]
    auditor = client.get("/v1/me", headers=auth("douane", "auditor")).json()
    assert auditor["permissions"] == ["read_audit"]
    r = client.get("/v1/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_token"


# --- /v1/dashboard/threat -----------------------------------------------------------------------


def seed_threat(client: TestClient, auth: Auth) -> None:
    push(client, auth("police", "investigator"), [
        ent("Network", "N-MRS", name="Réseau Félix-Pyat", kind="retail_point", territory="Marseille (13)"),
        ent("Person", "P-1", first_name="Karim", last_name="Benali"),
        ent("Case", "C-OPEN", reference="PN-2025-1", status="open"),
        ent("Seizure", "S-1", date="2025-03-02", drug="cocaine", quantity=1500.0, unit="g"),
        ent("Seizure", "S-2", date="2025-03-20", drug="cocaine", quantity=2.0, unit="kg"),
        ent("Seizure", "S-3", date="2025-04-01", drug="mdma", quantity=300.0, unit="doses"),
        ent("Asset", "A-1", label="Appartement", value_eur=250000.0, status="seized"),
    ], [link("MEMBER_OF", ("Person", "P-1"), ("Network", "N-MRS")),
        link("INVOLVED_IN", ("Person", "P-1"), ("Case", "C-OPEN")),
        link("SEIZED_IN", ("Seizure", "S-1"), ("Case", "C-OPEN"))])
    # Another agency's confidential items: counted (a count reveals nothing), never shown.
    push(client, auth("gendarmerie", "investigator"), [
        ent("Network", "N-LIL", "confidential", name="Secret network", kind="wholesale", territory="Lille (59)"),
        ent("Case", "C-GN", "confidential", reference="GN-2025-9", status="judicial"),
        ent("Seizure", "S-9", "confidential", date="2025-03-11", drug="cannabis_resin", quantity=40.0, unit="kg"),
        ent("Asset", "A-9", "confidential", label="Villa", value_eur=900000.0, status="confiscated"),
        ent("Network", "N-OLD", "open", name="Dormant", kind="other", territory="Lyon (69)"),
    ], [link("SEIZED_FROM", ("Seizure", "S-9"), ("Network", "N-LIL"), "confidential"),
        link("SEIZED_IN", ("Seizure", "S-9"), ("Case", "C-GN"), "confidential")])


def test_threat_dashboard_counts_every_item_without_showing_any(client: TestClient, auth: Auth) -> None:
    seed_threat(client, auth)
    r = client.get("/v1/dashboard/threat", headers=auth("police", "analyst"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["statistics_count_all"] is True
    months = {(m["month"], m["drug"]): m for m in body["seizures_by_month"]}
    assert months[("2025-03", "cocaine")]["seizures"] == 2
    assert months[("2025-03", "cocaine")]["quantity_kg"] == 3.5  # 1500 g + 2 kg
    assert months[("2025-03", "cannabis_resin")]["quantity_kg"] == 40.0  # the confidential one counts
    assert months[("2025-04", "mdma")]["doses"] == 300.0 and months[("2025-04", "mdma")]["quantity_kg"] == 0.0
    assert {a["status"]: a["assets"] for a in body["assets_by_status"]} == {"seized": 1, "confiscated": 1}
    # Active: linked to an open or judicial case; the dormant network is not.
    assert {t["department"]: t["networks"] for t in body["networks_by_territory"]} == {"13": 1, "59": 1}
    assert body["totals"] == {"seizures": 4, "quantity_kg": 43.5, "assets": 2, "assets_value_eur": 1150000.0,
                              "active_networks": 2}
    text = json.dumps(body)
    for secret in ("Secret network", "Villa", "GN-2025-9", "Lille", eid("gendarmerie", "Network", "N-LIL")):
        assert secret not in text

    r = client.get("/v1/dashboard/threat", params={"since": "2025-03-15", "until": "2025-03-31"},
                   headers=auth("police", "analyst"))
    found = [(m["month"], m["drug"], m["seizures"]) for m in r.json()["seizures_by_month"]]
    assert found == [("2025-03", "cocaine", 1)]
    r = client.get("/v1/dashboard/threat", params={"since": "2025-04-01", "until": "2025-03-01"},
                   headers=auth("police", "analyst"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_range"
    assert client.get("/v1/dashboard/threat", headers=auth("police", "ingest")).status_code == 403


def test_threat_dashboard_counts_only_what_is_seen_when_the_policy_says_so(
        settings: Settings, auth: Auth, graph: neo4j.Driver, tmp_path: Path) -> None:
    policy = yaml.safe_load(settings.policy_file.read_text())
    policy["statistics_count_all"] = False
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    with TestClient(create_app(settings.model_copy(update={"policy_file": path})),
                    raise_server_exceptions=False) as strict:
        seed_threat(strict, auth)
        police = strict.get("/v1/dashboard/threat", headers=auth("police", "analyst")).json()
        assert police["statistics_count_all"] is False
        assert police["totals"]["seizures"] == 3 and police["totals"]["assets"] == 1
        assert {t["department"] for t in police["networks_by_territory"]} == {"13"}
        central = strict.get("/v1/dashboard/threat", headers=auth("ofast", "analyst")).json()
        assert central["totals"]["seizures"] == 4 and central["totals"]["active_networks"] == 2


# --- /v1/map/deal-points --------------------------------------------------------------------------


def deal_point(ref: str, sharing: str, label: str, lat: float, lon: float, insee: str) -> dict[str, Any]:
    return ent("Location", ref, sharing, kind="deal_point", label=label, lat=lat, lon=lon, insee_code=insee)


def test_deal_points_map_places_only_what_the_caller_sees_in_full(client: TestClient, auth: Auth) -> None:
    push(client, auth("police", "investigator"), [
        ent("Network", "N-1", name="Réseau des Oliviers", territory="Marseille (13)"),
        deal_point("L-1", "restricted", "Cité des Oliviers, Marseille", 43.33, 5.41, "13055"),
        ent("Location", "L-ADDR", kind="address", label="12 rue Pasteur", lat=43.3, lon=5.4, insee_code="13055"),
    ], [link("OPERATES", ("Network", "N-1"), ("Location", "L-1"))])
    push(client, auth("douane", "investigator"), [
        ent("Network", "N-D", "restricted", name="Filière du port", territory="Le Havre (76)"),
        deal_point("L-D-OPEN", "open", "Quai de la Marine, Le Havre", 49.49, 0.11, "76351"),
        deal_point("L-D-RESTR", "restricted", "Parking du centre, Le Havre", 49.5, 0.12, "76351"),
    ], [link("OPERATES", ("Network", "N-D"), ("Location", "L-D-OPEN"), "open")])
    push(client, auth("gendarmerie", "investigator"), [
        deal_point("L-G-CONF", "confidential", "Secret spot", 45.76, 4.83, "69123")])

    r = client.get("/v1/map/deal-points", headers=auth("police", "analyst"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["truncated"] is False
    features = {f["id"]: f for f in body["features"]}
    assert set(features) == {eid("police", "Location", "L-1"), eid("douane", "Location", "L-D-OPEN")}
    own = features[eid("police", "Location", "L-1")]
    assert own["geometry"] == {"type": "Point", "coordinates": [5.41, 43.33]}
    assert own["properties"]["label"] == "Cité des Oliviers, Marseille" and own["properties"]["insee_code"] == "13055"
    assert own["properties"]["network"]["name"] == "Réseau des Oliviers"
    # The customs network is restricted: a stub with whom to call, no name.
    network = features[eid("douane", "Location", "L-D-OPEN")]["properties"]["network"]
    assert network["redacted"] is True and network["name"] is None and "DNRED" in network["contact"]
    # The restricted customs point is counted, not placed; the confidential one does not exist.
    assert body["withheld"] == [{"owner_agency": "douane", "contact": network["contact"], "deal_points": 1}]
    text = json.dumps(body)
    for secret in ("Parking du centre", "Secret spot", "Filière du port", eid("douane", "Location", "L-D-RESTR")):
        assert secret not in text

    central = client.get("/v1/map/deal-points", headers=auth("ofast", "analyst")).json()
    assert len(central["features"]) == 4 and central["withheld"] == []
    limited = client.get("/v1/map/deal-points", params={"limit": 1}, headers=auth("ofast", "analyst")).json()
    assert len(limited["features"]) == 1 and limited["truncated"] is True
    assert client.get("/v1/map/deal-points", params={"limit": 0}, headers=auth("ofast", "analyst")).status_code == 422


# --- the static UI ------------------------------------------------------------------------------


def test_ui_is_served_same_origin_and_kept_out_of_the_api_schema(app_client: TestClient) -> None:
    r = app_client.get("/ui", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/ui/"
    r = app_client.get("/ui/")
    assert r.status_code == 200 and "<title>ofast-graph</title>" in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    for asset in ("js/app.js", "css/app.css", "data/france-departements.geojson", "vendor/cytoscape.min.js",
                  "vendor/chart.umd.min.js", "vendor/leaflet.js", "vendor/leaflet.css"):
        assert app_client.get(f"/ui/{asset}").status_code == 200, asset
    missing = app_client.get("/ui/nothing-here.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    outline = app_client.get("/ui/data/france-departements.geojson").json()
    assert len(outline["features"]) == 101  # the départements, overseas 971-976 included
    paths = app_client.get("/openapi.json").json()["paths"]
    assert not any(p.startswith("/ui") for p in paths)
    assert {"/v1/me", "/v1/dashboard/threat", "/v1/map/deal-points"} <= set(paths)
