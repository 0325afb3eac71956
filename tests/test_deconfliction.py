"""The deconfliction story of issue 5, end to end on a real Neo4j.

Police and customs (douane) push overlapping phone data under `restricted`: both receive exactly
one `shared_identifier` alert; neither sees the other's names; OFAST sees both in full; and a
`confidential` police person never appears to customs — not in a fetch, a neighbourhood, a path,
a search or a lookup.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from service.core import ids
from tests.builders import Auth, alerts_of, ent, link, person, push, uses

POLICE_NAMES = ("Karim", "Benali")
DOUANE_NAMES = ("Yacine", "Haddad")
SECRET_NAMES = ("Mehdi", "Zerrouki")


def _scenario(client: TestClient, auth: Auth) -> dict[str, str]:
    police = auth("police", "investigator", unit="OFAST-Marseille")
    douane = auth("douane", "investigator", unit="DNRED-LeHavre")
    push(client, police, [
        person("PN-1", None, first_name="Karim", last_name="Benali"),
        person("PN-2", "confidential", first_name="Mehdi", last_name="Zerrouki"),
        {"type": "Phone", "ref": "06 12 34 56 78"},
        {"type": "Phone", "ref": "07 00 00 00 01"},
    ], [
        uses("PN-1", "06 12 34 56 78"),
        # The only route from customs' data to the second phone goes through the confidential person.
        link("ASSOCIATE_OF", ("Person", "PN-1"), ("Person", "PN-2"), "confidential"),
        uses("PN-2", "07 00 00 00 01", "confidential"),
    ])
    push(client, douane, [
        person("DN-77", None, first_name="Yacine", last_name="Haddad"),
        {"type": "Phone", "ref": "+33 6 12 34 56 78"},  # the same phone, written another way
        {"type": "Phone", "ref": "+33 7 00 00 00 01"},
        ent("Seizure", "S-LH-2026-12", None, drug="cocaine", quantity=412.0, unit="kg", method="container"),
    ], [
        uses("DN-77", "+33612345678"),
        link("SEIZED_FROM", ("Seizure", "S-LH-2026-12"), ("Person", "DN-77")),
    ])
    return {
        "police_person": ids.entity_id("police", "Person", "PN-1"),
        "secret_person": ids.entity_id("police", "Person", "PN-2"),
        "douane_person": ids.entity_id("douane", "Person", "DN-77"),
        "phone": ids.identifier_id("Phone", "+33612345678"),
        "phone2": ids.identifier_id("Phone", "+33700000001"),
    }


def _shared_alerts(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    return alerts_of(client, headers, "shared_identifier")


def test_deconfliction_story(client: TestClient, auth: Auth) -> None:
    ids_ = _scenario(client, auth)
    police = auth("police", "investigator", unit="OFAST-Marseille", purpose="PROC-2026-113")
    douane = auth("douane", "investigator", unit="DNRED-LeHavre", purpose="DNRED-2026-8")
    ofast = auth("ofast", "analyst", purpose="national analysis")

    # One phone node, written two ways by two agencies.
    r = client.get(f"/v1/entities/{ids_['phone']}", headers=police)
    assert r.status_code == 200 and r.json()["value"] == "+33612345678"

    # Exactly one shared_identifier alert each, naming the other side and whom to call.
    police_alerts, douane_alerts = _shared_alerts(client, police), _shared_alerts(client, douane)
    assert len(police_alerts) == 1 and len(douane_alerts) == 1
    assert police_alerts[0]["counterpart_agency"] == "douane" and police_alerts[0]["counterpart_contact"]
    assert douane_alerts[0]["counterpart_agency"] == "police" and douane_alerts[0]["counterpart_contact"]
    assert police_alerts[0]["entity_id"] == ids_["police_person"]
    assert douane_alerts[0]["entity_id"] == ids_["douane_person"]
    # Re-pushing the same data raises nothing new.
    _scenario(client, auth)
    assert len(_shared_alerts(client, police)) == 1 and len(_shared_alerts(client, douane)) == 1

    # Lookup: hit, with both holders and contacts, no content.
    r = client.get("/v1/lookup", params={"type": "Phone", "value": "06.12.34.56.78"}, headers=douane)
    body = r.json()
    assert r.status_code == 200 and body["hit"] is True
    assert {h["agency"] for h in body["holders"]} == {"police", "douane"}
    assert all(h["contact"] for h in body["holders"])

    # Neither sees the other's names: stubs, in fetches and in the neighbourhood.
    for viewer, own, other, other_names in (
        (police, "police_person", "douane_person", DOUANE_NAMES),
        (douane, "douane_person", "police_person", POLICE_NAMES),
    ):
        stub = client.get(f"/v1/entities/{ids_[other]}", headers=viewer).json()
        assert stub["redacted"] is True and "properties" not in stub and "ref" not in stub
        r = client.get(f"/v1/entities/{ids_[own]}/neighbourhood", params={"depth": 3}, headers=viewer)
        assert r.status_code == 200
        assert ids_[other] in {n["id"] for n in r.json()["nodes"]}
        for name in other_names:
            assert name not in r.text

    # OFAST, the central agency, sees both in full.
    for key, names in (("police_person", POLICE_NAMES), ("douane_person", DOUANE_NAMES)):
        full = client.get(f"/v1/entities/{ids_[key]}", headers=ofast).json()
        assert full["redacted"] is False
        assert (full["properties"]["first_name"], full["properties"]["last_name"]) == names

    # The confidential police person never appears to customs.
    secret = ids_["secret_person"]
    assert client.get(f"/v1/entities/{secret}", headers=douane).status_code == 404
    r = client.get(f"/v1/entities/{ids_['douane_person']}/neighbourhood", params={"depth": 3}, headers=douane)
    assert secret not in r.text and not any(n in r.text for n in SECRET_NAMES)
    r = client.get("/v1/paths", params={"source": ids_["douane_person"], "target": ids_["phone2"], "max_hops": 8},
                   headers=douane)
    assert r.status_code == 200 and r.json()["paths"] == []
    r = client.get("/v1/search", params={"q": "Zerrouki"}, headers=douane)
    assert r.status_code == 200 and r.json()["total"] == 0 and secret not in r.text
    r = client.get("/v1/lookup", params={"type": "Phone", "value": "07 00 00 00 01"}, headers=douane)
    assert "police" not in {h["agency"] for h in r.json()["holders"]}
    # ...while the central agency finds that path.
    r = client.get("/v1/paths", params={"source": ids_["douane_person"], "target": ids_["phone2"], "max_hops": 8},
                   headers=ofast)
    assert r.status_code == 200 and r.json()["paths"]
    assert secret in {n["id"] for n in r.json()["paths"][0]["nodes"]}
