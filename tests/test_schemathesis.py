"""Hostile input, generated from the service's own OpenAPI document: schemathesis drives every
operation of the in-process app (its coverage, fuzzing and stateful phases) as each role of the
policy, over a real Neo4j holding a little data. Whatever it sends, the answer is never a 5xx and
always matches the documented response schema.

The run is fixed (a seed, deterministic generation) and bounded: `OFAST_GRAPH_SCHEMATHESIS_EXAMPLES`
examples per operation and phase (default 4) keeps the file within the test-time budget; raise it,
or change `OFAST_GRAPH_SCHEMATHESIS_SEED`, to search harder.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import neo4j
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.engine import Status, events, from_schema
from schemathesis.python import asgi

from service.access.policy import load_policy
from service.api.app import create_app
from service.core.settings import Settings
from tests.builders import Auth, ent, ingest_as, link, person, uses
from tests.conftest import ROOT, TokenFactory, wipe

EXAMPLES = int(os.environ.get("OFAST_GRAPH_SCHEMATHESIS_EXAMPLES", "4"))
SEED = int(os.environ.get("OFAST_GRAPH_SCHEMATHESIS_SEED", "20260415"))
CHECKS = ("not_a_server_error", "response_schema_conformance")


def config_for(token: str, coverage: bool) -> schemathesis.config.SchemathesisConfig:
    checks = "\n".join(f"[checks.{name}]\nenabled = true" for name in CHECKS)
    return schemathesis.config.SchemathesisConfig.from_str(f"""
seed = {SEED}
suppress-health-check = ["all"]
[headers]
Authorization = "Bearer {token}"
X-Purpose = "schemathesis"
[generation]
max-examples = {EXAMPLES}
deterministic = true
database = "none"
[checks]
enabled = false
{checks}
[phases.examples]
enabled = true
[phases.coverage]
enabled = {str(coverage).lower()}
[phases.fuzzing]
enabled = true
[phases.stateful]
enabled = true
max-steps = {4 * EXAMPLES}
""")


@pytest.fixture(scope="module")
def seeded(app_client: TestClient, auth: Auth, driver: neo4j.Driver) -> None:
    """A few entities, identifiers and links of two agencies, so reads and handlings find things."""
    wipe(driver)
    client = app_client
    ingest_as(client, auth, "police",
              [person("P-1", "open", first_name="Jean", last_name="Dupont", birth_date="1980-01-01"),
               person("P-2", "restricted", first_name="Marc", last_name="Durand"),
               ent("Network", "N-1", "open", name="Réseau du Port")],
              [uses("P-1", "06 12 34 56 78", "open"), uses("P-2", "06 12 34 56 78"),
               link("MEMBER_OF", ("Person", "P-1"), ("Network", "N-1"), "open")])
    ingest_as(client, auth, "gendarmerie",
              [person("G-1", "open", first_name="Jean", last_name="Dupond", birth_date="1980-01-01")],
              [uses("G-1", "06 12 34 56 78", "open")])


@pytest.fixture(scope="module")
def app(settings: Settings, seeded: None) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    # schemathesis starts an app's lifespan once and keeps it for the process: close the driver.
    asgi.shutdown_lifespans()


def run_as(app: FastAPI, token: str, coverage: bool) -> tuple[list[str], dict[str, int]]:
    """One schemathesis run over every operation; the failures and the number of cases per phase."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config_for(token, coverage))
    failures: list[str] = []
    cases: dict[str, int] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            phase = getattr(event, "phase", "fuzz")
            cases[str(phase)] = cases.get(str(phase), 0) + len(event.recorder.cases)
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    key = f"{interaction.response.status_code // 100}xx"
                    cases[key] = cases.get(key, 0) + 1
            for checks in event.recorder.checks.values():
                cases["checks"] = cases.get("checks", 0) + len(checks)
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failures.append(f"[{phase}] {check.name}: {check.failure_info.failure}\n"
                                        f"{check.failure_info.code_sample}")
        elif isinstance(event, events.NonFatalError):
            failures.append(f"[{event.phase}] {event.label}: error {event.info.title}: {str(event.value)[:400]}")
        elif isinstance(event, events.FatalError):
            failures.append(f"fatal: {event.exception!r}")
    return failures, cases


ROLES = sorted(load_policy(ROOT / "service" / "access" / "policy.yaml").roles)


def check(app: FastAPI, token: str, who: str, coverage: bool) -> None:
    started = time.monotonic()
    failures, cases = run_as(app, token, coverage)
    print(f"schemathesis as {who}: {json.dumps(cases)} cases in {time.monotonic() - started:.1f}s")
    assert cases.get("2xx", 0) > 0  # authenticated: some requests went through
    assert cases.get("checks", 0) >= sum(cases.get(k, 0) for k in ("2xx", "4xx"))  # every response checked
    assert not failures, f"{len(failures)} failures as {who}:\n\n" + "\n\n".join(failures[:20])


def test_coverage_every_permission(app: FastAPI, token: TokenFactory) -> None:
    """The coverage phase (every boundary and wrong type of every parameter and body field) as a
    caller holding every role, so each operation gets past its permission check to the input it
    validates. Examples, fuzzing and stateful phases too."""
    check(app, token("police", *ROLES), "every role", coverage=True)


@pytest.mark.parametrize("role", ROLES)
def test_each_role(app: FastAPI, token: TokenFactory, role: str) -> None:
    """Examples, fuzzing and stateful phases as each role alone: what a role may not do is a
    documented 403, what it may do answers in its documented shape."""
    check(app, token("police", role), role, coverage=False)
