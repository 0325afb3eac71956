"""Authentication and authorisation on every /v1 route, HS256 and RS256 (public key and JWKS).

The route matrix is built from `app.routes`, so a route added later is covered without
editing this file: every /v1 route must refuse a request without a valid token (401) and a
token whose roles give no permission (403).
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import os
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import neo4j
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from service.access.auth import make_token
from service.api.app import create_app
from service.api.openapi import PUBLIC_PATHS
from service.core.settings import Settings
from tests.builders import Auth, bearer
from tests.conftest import ROOT

PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")

# /v1 routes that need a token but no particular permission (none so far).
NO_PERMISSION_NEEDED: set[tuple[str, str]] = set()


def api_routes(app: Any) -> list[tuple[str, set[str]]]:
    """(path template, methods) of every API route of the app, through included routers too
    (recent FastAPI keeps an included router as one entry of `app.routes`)."""

    def walk(routes: Any, prefix: str) -> Iterator[tuple[str, set[str]]]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                context = getattr(route, "include_context", None)
                yield from walk(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
            elif isinstance(route, APIRoute):
                yield prefix + route.path, set(route.methods or ())

    found = list(walk(app.routes, ""))
    # Cross-check with the OpenAPI document, so a route the walk missed fails loudly here.
    documented = {p for p in app.openapi()["paths"] if p.startswith("/v1")}
    assert documented <= {p for p, _ in found}, documented - {p for p, _ in found}
    return found


def v1_routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, concrete path) for every /v1 route the app has registered but the tokenless ones
    (the public reporting form)."""
    out = []
    for template, methods in api_routes(client.app):
        if not template.startswith("/v1") or template in PUBLIC_PATHS:
            continue
        path = PARAM.sub(lambda m: str(uuid.uuid4()) if m.group(1) != "agency" else "douane", template)
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            out.append((method, path))
    return out


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    # A well-formed but empty body and a purpose: authentication must decide before validation.
    headers = {**headers, "X-Purpose": "test of the access rules"}
    if method in ("POST", "PUT", "PATCH"):
        return client.request(method, path, headers=headers, json={})
    return client.request(method, path, headers=headers)


def claims(settings: Settings, **over: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": "alice", "agency": "police", "unit": "OCRTIS", "roles": ["auditor"],
                            "aud": settings.jwt_audience, "iat": now, "exp": now + 600}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def hs(settings: Settings, secret: str | None = None, **over: Any) -> str:
    return jwt.encode(claims(settings, **over), secret or settings.jwt_secret, algorithm="HS256")


def bad_tokens(settings: Settings) -> dict[str, dict[str, str]]:
    now = int(time.time())
    valid = hs(settings)
    head, _, sig = valid.split(".")
    tampered_payload = jwt.utils.base64url_encode(json.dumps(
        claims(settings, agency="ofast", roles=["admin"], iat=now, exp=now + 600)).encode()).decode()
    unsigned = jwt.encode(claims(settings), key="", algorithm="none")
    return {
        "missing": {},
        "empty bearer": {"Authorization": "Bearer "},
        "basic scheme": {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
        "garbage": bearer("not-a-jwt"),
        "expired": bearer(hs(settings, iat=now - 7200, exp=now - 3600)),
        "forged signature": bearer(hs(settings, secret="another-secret-another-secret-another-secret!")),
        "tampered payload": bearer(f"{head}.{tampered_payload}.{sig}"),
        "alg none": bearer(unsigned),
        "wrong audience": bearer(hs(settings, aud="another-service")),
        "no audience": bearer(hs(settings, aud=None)),
        "no expiry": bearer(hs(settings, exp=None)),
        "no subject": bearer(hs(settings, sub=None)),
        "unknown agency": bearer(hs(settings, agency="interpol")),
        "no agency": bearer(hs(settings, agency=None)),
        "roles not a list": bearer(hs(settings, roles={"admin": True})),
        "not yet valid": bearer(hs(settings, nbf=now + 3600)),
    }


def test_matrix_covers_every_endpoint_class(client: TestClient) -> None:
    paths = {p for _, p in v1_routes(client)}
    for prefix in ("/v1/ingest", "/v1/disseminations", "/v1/audit"):
        assert any(p.startswith(prefix) for p in paths), prefix
    assert any(p.endswith("/grants") for p in paths)
    print(f"/v1 routes covered: {sorted(set(v1_routes(client)))}")


def test_every_v1_route_refuses_bad_tokens(client: TestClient, settings: Settings, graph: neo4j.Driver) -> None:
    tokens = bad_tokens(settings)
    for method, path in v1_routes(client):
        for name, headers in tokens.items():
            r = call(client, method, path, headers)
            assert r.status_code == 401, (method, path, name, r.status_code, r.text)
            assert r.json()["error"]["code"] in ("missing_token", "invalid_token", "token_expired", "unknown_agency")
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
    # Refused requests leave no trace of data access.
    assert graph.execute_query("MATCH (a:AuditEvent) RETURN count(a) AS n").records[0]["n"] == 0
    codes = {name: call(client, "GET", "/v1/audit", h).json()["error"]["code"] for name, h in tokens.items()}
    assert codes["expired"] == "token_expired"
    assert codes["unknown agency"] == "unknown_agency"
    assert codes["missing"] == "missing_token"


def test_every_v1_route_refuses_roles_without_permission(client: TestClient, settings: Settings) -> None:
    for roles in ([], ["visitor"]):
        token = make_token(settings, agency="police", roles=roles)
        for method, path in v1_routes(client):
            if (method, path) in NO_PERMISSION_NEEDED:
                continue
            r = call(client, method, path, bearer(token))
            assert r.status_code == 403, (roles, method, path, r.status_code, r.text)
            assert r.json()["error"]["code"] == "forbidden"


# (method, path): callers (agency, role) whose roles do not give the permission the route needs.
WITHOUT_PERMISSION: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("POST", "/v1/ingest"): [("police", "analyst"), ("police", "auditor"), ("ofast", "target_manager")],
    ("GET", "/v1/audit"): [("police", "investigator"), ("ofast", "admin")],
    ("POST", "/v1/entities/{id}/grants"): [("police", "analyst"), ("police", "ingest")],
    ("DELETE", "/v1/entities/{id}/grants/douane"): [("police", "analyst")],
    ("GET", "/v1/entities/{id}/grants"): [("police", "ingest")],
    ("POST", "/v1/disseminations"): [("ofast", "analyst"), ("police", "investigator")],
    ("GET", "/v1/disseminations"): [("douane", "ingest")],
}


@pytest.mark.parametrize(("method", "path", "agency", "role"), [
    (method, path, agency, role) for (method, path), callers in WITHOUT_PERMISSION.items() for agency, role in callers])
def test_role_without_the_permission(client: TestClient, auth: Auth, method: str, path: str, agency: str,
                                     role: str) -> None:
    body = {"entity_ids": [str(uuid.uuid4())], "agencies": ["douane"], "note": "n"} \
        if path == "/v1/disseminations" else {"agency": "douane", "reason": "r"}
    path = path.replace("{id}", str(uuid.uuid4()))
    kwargs: dict[str, Any] = {"json": body} if method == "POST" else {}
    r = client.request(method, path, headers=auth(agency, role), **kwargs)
    assert r.status_code == 403, r.text


def test_valid_token_passes(client: TestClient, auth: Auth) -> None:
    r = client.get("/v1/audit", headers=auth("police", "auditor"))
    assert r.status_code == 200, r.text


# --- policy as data ---------------------------------------------------------------------------


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    shipped = (ROOT / "service" / "access" / "policy.yaml").read_text()
    extra = ("  police_municipale_nice:\n    name: Police municipale de Nice\n"
             "    contact: \"PM Nice\"\n    roles: [ingest]\n    max_sharing: restricted\n")
    text = shipped.replace("\nroles:\n", "\n" + extra + "\nroles:\n", 1)
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def app_client(settings: Settings, **update: Any) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update=update))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_new_agency_is_a_policy_change(settings: Settings, policy_file: Path, graph: neo4j.Driver) -> None:
    for c in app_client(settings, policy_file=policy_file):
        # Its tokens carry only the roles the policy honours for it: investigator gives nothing here.
        token = make_token(settings, agency="police_municipale_nice", roles=["investigator", "auditor"])
        assert c.get("/v1/audit", headers=bearer(token)).status_code == 403
        token = make_token(settings, agency="police_municipale_nice", roles=["ingest"])
        r = c.post("/v1/ingest", headers=bearer(token), json={
            "entities": [{"type": "Location", "ref": "tip-1", "properties": {"kind": "deal_point"}}], "links": []})
        assert r.status_code == 200, r.text
        # The shipped policy does not know it.
    for c in app_client(settings):
        token = make_token(settings, agency="police_municipale_nice", roles=["ingest"])
        r = c.get("/v1/audit", headers=bearer(token))
        assert r.status_code == 401 and r.json()["error"]["code"] == "unknown_agency"


# --- RS256 ------------------------------------------------------------------------------------


def hmac_token(payload: dict[str, Any], secret: bytes) -> str:
    """An HS256 JWT signed by hand (PyJWT refuses a PEM key as an HMAC secret, attackers do not)."""
    b64 = jwt.utils.base64url_encode
    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + b"." + \
        b64(json.dumps(payload).encode())
    signature = b64(hmac.new(secret, signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + signature).decode()


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def rs(settings: Settings, key: rsa.RSAPrivateKey, kid: str | None = None, **over: Any) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims(settings, **over), key, algorithm="RS256", headers=headers)


def test_rs256_with_a_configured_public_key(settings: Settings, graph: neo4j.Driver, tmp_path: Path) -> None:
    key, other = rsa_key(), rsa_key()
    pem = public_pem(key)
    for c in app_client(settings, jwt_public_key=pem):
        assert c.get("/v1/audit", headers=bearer(rs(settings, key))).status_code == 200
        assert c.get("/v1/audit", headers=bearer(rs(settings, other))).status_code == 401
        assert c.get("/v1/audit", headers=bearer(rs(settings, key, aud="x"))).status_code == 401
        expired = rs(settings, key, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
        assert c.get("/v1/audit", headers=bearer(expired)).json()["error"]["code"] == "token_expired"
        assert c.get("/v1/audit", headers=bearer(rs(settings, key, agency="interpol"))).status_code == 401
        assert c.get("/v1/audit", headers=bearer(rs(settings, key, roles=["analyst"]))).status_code == 403
        # Algorithm confusion: an HS256 token keyed with the public key is not accepted.
        forged = hmac_token(claims(settings), pem.encode())
        genuine = hmac_token(claims(settings), settings.jwt_secret.encode())  # the forger itself works
        assert c.get("/v1/audit", headers=bearer(genuine)).status_code == 200
        assert c.get("/v1/audit", headers=bearer(forged)).status_code == 401
    # Read from a file as well.
    (tmp_path / "public.pem").write_text(pem)
    for c in app_client(settings, jwt_public_key_file=tmp_path / "public.pem"):
        assert c.get("/v1/audit", headers=bearer(rs(settings, key))).status_code == 200


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, dict[str, Any]]]:
    """A real HTTP server on 127.0.0.1 serving a JWKS document the test fills in."""
    document: dict[str, Any] = {"keys": []}
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/realms/ofast/protocol/openid-connect/certs", \
            {"document": document, "hits": hits}
    finally:
        server.shutdown()
        server.server_close()


def test_rs256_via_jwks(settings: Settings, graph: neo4j.Driver, jwks_server: tuple[str, dict[str, Any]]) -> None:
    url, state = jwks_server
    key, rogue = rsa_key(), rsa_key()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    state["document"]["keys"] = [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]
    for c in app_client(settings, jwt_jwks_url=url):
        r = c.get("/v1/audit", headers=bearer(rs(settings, key, kid="k1")))
        assert r.status_code == 200, r.text
        assert state["hits"], "the JWKS endpoint was not asked"
        # A key the provider does not publish, a kid it does not know, a wrong audience.
        assert c.get("/v1/audit", headers=bearer(rs(settings, rogue, kid="k1"))).status_code == 401
        assert c.get("/v1/audit", headers=bearer(rs(settings, rogue, kid="k-unknown"))).status_code == 401
        assert c.get("/v1/audit", headers=bearer(rs(settings, key, kid="k1", aud="x"))).status_code == 401
        assert c.get("/v1/audit", headers=bearer(rs(settings, key, kid="k1", roles=["ingest"]))).status_code == 403


# --- the CLI's development token --------------------------------------------------------------


def test_cli_token_is_accepted_by_the_app(settings: Settings, graph: neo4j.Driver, tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k != "OFAST_GRAPH_JWT_SECRET"}
    env["OFAST_GRAPH_STATE_DIR"] = str(state)
    exe = str(ROOT / ".venv" / "bin" / "ofast-graph")
    out = subprocess.run([exe, "token", "--agency", "police", "--role", "auditor", "--role", "analyst",
                          "--unit", "OCRTIS", "--subject", "alice", "--ttl", "600"],
                         env=env, capture_output=True, text=True, timeout=120, check=True)
    token = out.stdout.strip()
    assert out.stdout == token + "\n", "the command prints the token and nothing else"
    assert (state / "jwt-secret").stat().st_mode & 0o777 == 0o600
    for c in app_client(settings, jwt_secret="", state_dir=state):
        r = c.get("/v1/audit", headers=bearer(token))
        assert r.status_code == 200, r.text
        ingest = c.post("/v1/ingest", headers=bearer(token), json={"entities": [], "links": []})
        assert ingest.status_code == 403
    # Another machine (another state folder) does not accept it.
    for c in app_client(settings, jwt_secret="", state_dir=tmp_path / "elsewhere"):
        assert c.get("/v1/audit", headers=bearer(token)).status_code == 401
    bad = subprocess.run([exe, "token", "--agency", "interpol", "--role", "auditor"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and bad.stdout == ""
