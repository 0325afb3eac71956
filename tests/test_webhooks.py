"""Webhooks: registration, signed delivery from the Neo4j outbox, retries, isolation between agencies."""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import neo4j
import pytest
from fastapi.testclient import TestClient

from service.core import clock
from service.domain.notifications import webhooks
from tests.builders import Auth, person, push, uses
from tests.conftest import cypher

SECRET = "a-long-enough-test-secret"


class Receiver:
    """A receiver on 127.0.0.1 that fails its first `failures` requests with 503."""

    def __init__(self) -> None:
        self.failures = 0
        self.received: list[tuple[bytes, dict[str, str]]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if owner.failures > 0:
                    owner.failures -= 1
                    self.send_response(503)
                else:
                    owner.received.append((body, dict(self.headers)))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def dev(client: TestClient) -> Iterator[Any]:
    """Development settings (http to 127.0.0.1) and a short backoff, in the app and its worker."""
    app: Any = client.app
    shipped, worker_settings = app.state.settings, app.state.webhook_worker.settings
    fast = shipped.model_copy(update={"webhook_allow_http_localhost": True, "webhook_backoff_seconds": 0.0,
                                      "webhook_max_backoff_seconds": 0.0})
    app.state.settings = app.state.webhook_worker.settings = fast
    try:
        yield fast
    finally:
        app.state.settings, app.state.webhook_worker.settings = shipped, worker_settings


def _turn(client: TestClient, settings: Any) -> webhooks.Report:
    app: Any = client.app
    return client.portal.call(  # type: ignore[union-attr]
        functools.partial(webhooks.deliver_due, app.state.db, settings, "test-worker"))


def _alert(graph: neo4j.Driver, agency: str, kind: str = "shared_identifier") -> str:
    rows = cypher(graph, """
        CREATE (a:Alert {id: randomUUID(), kind: $kind, agency: $agency, created_at: $now, entity_id: 'e-1',
                         counterpart_agency: 'douane', counterpart_contact: 'desk@douane', acknowledged: false})
        RETURN a.id AS id""", kind=kind, agency=agency, now=clock.iso_now())
    return str(rows[0]["id"])


def _register(client: TestClient, auth: Auth, url: str, agency: str = "police") -> dict[str, Any]:
    r = client.post("/v1/webhooks", json={"url": url, "secret": SECRET, "kinds": ["shared_identifier"]},
                    headers=auth(agency, "admin"))
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_signed_delivery_after_failures(client: TestClient, graph: neo4j.Driver, auth: Auth,
                                        receiver: Receiver, dev: Any) -> None:
    hook = _register(client, auth, receiver.url)
    assert "secret" not in hook
    alert_id = _alert(graph, "police")
    _alert(graph, "police", kind="late_hit")  # not subscribed
    _alert(graph, "douane")  # another agency's
    receiver.received.clear()
    receiver.failures = 3
    for _ in range(10):
        _turn(client, dev)
        if receiver.received:
            break
    assert len(receiver.received) == 1
    body, headers = receiver.received[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Signature"], expected)
    assert headers["Idempotency-Key"] == alert_id
    listed = client.get("/v1/alerts", headers=auth("police", "investigator")).json()["items"]
    assert json.loads(body) == next(a for a in listed if a["id"] == alert_id)

    r = client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth("police", "admin"))
    assert r.status_code == 200
    [delivery] = r.json()["items"]
    assert delivery["alert_id"] == alert_id and delivery["state"] == "delivered"
    assert delivery["attempts"] == 4 and delivery["last_status"] == 204
    _turn(client, dev)
    assert len(receiver.received) == 1  # delivered once, not again


def test_a_payload_names_the_recipients_own_entity(client: TestClient, auth: Auth, receiver: Receiver,
                                                   dev: Any) -> None:
    """As the list does: the name of the agency's own person, and nothing of customs' restricted one."""
    _register(client, auth, receiver.url)
    receiver.received.clear()
    push(client, auth("police", "investigator"), [person("K", first_name="Karim", last_name="Zeroual")],
         [uses("K", "06 44 33 22 11")])
    push(client, auth("douane", "investigator"), [person("D", first_name="Dmitri", last_name="Volkov")],
         [uses("D", "06 44 33 22 11")])
    for _ in range(10):
        _turn(client, dev)
        if receiver.received:
            break
    [(body, _)] = receiver.received
    sent = json.loads(body)
    assert sent["kind"] == "shared_identifier" and sent["entity_name"] == "Karim Zeroual"
    assert sent["counterpart_agency"] == "douane" and b"Volkov" not in body and b"Dmitri" not in body
    listed = client.get("/v1/alerts", headers=auth("police", "investigator")).json()["items"]
    assert sent == next(a for a in listed if a["id"] == sent["id"])


def test_production_refuses_http_and_agencies_are_isolated(client: TestClient, auth: Auth,
                                                          receiver: Receiver) -> None:
    r = client.post("/v1/webhooks", json={"url": receiver.url, "secret": SECRET, "kinds": ["late_hit"]},
                    headers=auth("police", "admin"))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "url"
    r = client.post("/v1/webhooks", json={"url": "https://siem.police.example/in", "secret": SECRET,
                                          "kinds": ["nope"]}, headers=auth("police", "admin"))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "kinds"
    hook = _register(client, auth, "https://siem.police.example/in")
    assert client.post("/v1/webhooks", json={"url": "https://x.example", "secret": SECRET, "kinds": ["late_hit"]},
                       headers=auth("police", "investigator")).status_code == 403
    assert client.get("/v1/webhooks", headers=auth("douane", "admin")).json()["items"] == []
    assert client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth("douane", "admin")).status_code == 404
    assert client.delete(f"/v1/webhooks/{hook['id']}", headers=auth("douane", "admin")).status_code == 404
    mine = client.get("/v1/webhooks", headers=auth("police", "admin")).json()["items"]
    assert [h["id"] for h in mine] == [hook["id"]]
    assert client.delete(f"/v1/webhooks/{hook['id']}", headers=auth("police", "admin")).status_code == 204
    assert client.get("/v1/webhooks", headers=auth("police", "admin")).json()["items"] == []
