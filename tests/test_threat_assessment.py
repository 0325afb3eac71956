"""The annual threat assessment (measure 4): a year against the previous one, aggregates only."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.builders import Auth, eid, ent, link, person, push, uses

MARKERS = ("Quai-Secret-Label", "Reseau-Secret-Name", "Villa-Secret-Label", "Deal-Secret-Label", "Karimsecret",
           "S-LH-2026-12", "S-2025-7")
THIS_YEAR = dt.date.today().year  # alerts and targets are dated by the service clock: today


def _story(client: TestClient, auth: Auth) -> None:
    douane, police = auth("douane", "investigator"), auth("police", "investigator")
    push(client, douane, [
        ent("Seizure", "S-LH-2026-12", date=f"{THIS_YEAR}-03-01", drug="cocaine", quantity=412.0, unit="kg",
            method="container", place="Quai-Secret-Label"),
        ent("Seizure", "S-2025-7", date=f"{THIS_YEAR - 1}-06-01", drug="cannabis_resin", quantity=1200.0, unit="g",
            method="road"),
        ent("Location", "L-LH", kind="port", label="Quai-Secret-Label", insee_code="76351"),
        person("DN-1", first_name="Karimsecret", last_name="Benali"),
        {"type": "Phone", "ref": "06 12 34 56 78"},
    ], [link("LOCATED_AT", ("Seizure", "S-LH-2026-12"), ("Location", "L-LH")), uses("DN-1", "06 12 34 56 78")])
    push(client, police, [
        ent("Network", "N-1", "confidential", name="Reseau-Secret-Name", kind="retail_point",
            territory="Marseille (13)"),
        ent("Asset", "A-1", kind="real_estate", label="Villa-Secret-Label", value_eur=250000.0, status="seized",
            identified_on=f"{THIS_YEAR - 1}-11-01", seized_on=f"{THIS_YEAR}-02-01"),
        ent("Location", "DP-1", kind="deal_point", label="Deal-Secret-Label", insee_code="13055"),
        person("PN-1", first_name="Karim", last_name="Benali"),
        {"type": "Phone", "ref": "+33612345678"},
    ], [uses("PN-1", "+33612345678")])
    manager = auth("ofast", "investigator", "target_manager")
    r = client.post("/v1/priority-targets", headers=manager,
                    json={"entity_id": eid("police", "Network", "N-1"), "justification": "x", "proposed_tier": 1})
    assert r.status_code == 201, r.text


def report_row(html: str, label: str) -> list[str]:
    """The first table row of `label`: its cells after the label."""
    found = re.search(rf"<tr><td>{re.escape(label)}</td>((?:<td>.*?</td>)+)</tr>", html)
    assert found, label
    return re.findall(r"<td>(.*?)</td>", found.group(1))


def _recovery_rows(body: dict[str, Any], group: str, status: str) -> list[dict[str, Any]]:
    return [g["statuses"][status] for g in body["groups"] if g["group"] == group and status in g["statuses"]]


def test_the_year_against_the_previous_one(client: TestClient, auth: Auth) -> None:
    _story(client, auth)
    r = client.get("/v1/reports/threat-assessment", params={"year": THIS_YEAR}, headers=auth("ofast", "analyst"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    html = r.text
    assert html.count("<svg") >= 10 and "<script" not in html and "src=" not in html and "href=" not in html
    # Aggregates only: not a name, label, ref or free text of any item (the confidential network's included).
    assert not [m for m in MARKERS if m in html]
    assert report_row(html, "Seizures")[:2] == ["1", "1"]
    assert report_row(html, "cocaine")[:2] == ["1", "0"]  # seizures by drug
    assert report_row(html, "cannabis_resin")[:2] == ["0", "1"]
    assert report_row(html, "Drugs seized (kg)")[:2] == ["412", "1.2"]
    assert report_row(html, "container")[:2] == ["1", "0"] and report_row(html, "road")[:2] == ["0", "1"]
    assert report_row(html, "76")[:2] == ["1", "0"]  # Le Havre's département, from the place it is located at
    assert report_row(html, "retail_point")[:2] == ["1", "0"]  # the confidential network counts (statistics rule)
    assert report_row(html, "13")[:2] == ["1", "0"]  # networks by département ("Marseille (13)")
    assert report_row(html, "shared_identifier")[:2] == ["2", "0"]  # both sides alerted of the shared phone
    assert report_row(html, "proposed")[:2] == ["1", "0"]
    assert report_row(html, "seized")[:2] == ["1", "0"] and report_row(html, "identified")[:2] == ["0", "1"]
    assert report_row(html, "Assets seized (EUR)")[:2] == ["250 000", "0"]
    assert report_row(html, "Deal points known")[:2] == ["1", "0"]

    # Its totals are those of the endpoints it builds on, for the same year.
    analyst = auth("ofast", "analyst")
    threat = client.get("/v1/dashboard/threat", params={"since": f"{THIS_YEAR}-01-01", "until": f"{THIS_YEAR}-12-31"},
                        headers=analyst).json()["totals"]
    assert report_row(html, "Seizures")[0] == str(threat["seizures"])
    assert report_row(html, "Drugs seized (kg)")[0] == f"{threat['quantity_kg']:,.0f}".replace(",", " ")
    recovery = client.get("/v1/assets/recovery", params={"group_by": "year"}, headers=analyst).json()
    seized = sum(g["value_eur"] for g in _recovery_rows(recovery, str(THIS_YEAR), "seized"))
    assert report_row(html, "Assets seized (EUR)")[0] == f"{seized:,.0f}".replace(",", " ")

    # The previous year's report compares it with the one before.
    before = client.get("/v1/reports/threat-assessment", params={"year": THIS_YEAR - 1},
                        headers=auth("ofast", "analyst")).text
    assert report_row(before, "cannabis_resin")[:2] == ["1", "0"] and "cocaine" not in before


def test_the_same_report_as_pdf(client: TestClient, auth: Auth) -> None:
    """`format=pdf`: the server renders the same page (WeasyPrint); its text carries the same figures."""
    _story(client, auth)
    r = client.get("/v1/reports/threat-assessment", params={"year": THIS_YEAR, "format": "pdf"},
                   headers=auth("ofast", "analyst"))
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert f"Threat assessment {THIS_YEAR}" in text.replace("\n", " ")
    for label in ("Seizures", "Drugs seized (kg)", "Assets seized (EUR)", "Deal points known"):
        assert label in text, label
    assert "250 000" in text and not [m for m in MARKERS if m in text]
    bad = client.get("/v1/reports/threat-assessment", params={"year": THIS_YEAR, "format": "docx"},
                     headers=auth("ofast", "analyst"))
    assert bad.status_code == 422 and "format" in bad.text


def test_only_the_central_agencys_analysts(client: TestClient, auth: Auth) -> None:
    path = "/v1/reports/threat-assessment"
    for headers, code in ((auth("police", "analyst"), "central_agency_only"),
                          (auth("ofast", "investigator"), "forbidden"),
                          (auth("douane", "admin"), "central_agency_only")):
        r = client.get(path, params={"year": THIS_YEAR}, headers=headers)
        assert r.status_code == 403 and r.json()["error"]["code"] == code, r.text
    for params in ({}, {"year": "last"}, {"year": 1800}, {"year": THIS_YEAR + 5}):
        r = client.get(path, params=params, headers=auth("ofast", "analyst"))
        assert r.status_code == 422 and "year" in r.text, (params, r.text)
