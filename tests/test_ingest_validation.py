"""POST /v1/ingest refuses every wrong type where it is, at any depth, with a 422 naming the index
and the field (never a 500); items repeated in a batch are one item; the declared query parameters
and headers of the other endpoints refuse wrong values by name.

The property-based cases run the batch check (`build_plan`) directly, over the schema's every
property type and every top-level field; the HTTP cases run on the real service and Neo4j.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import typing
from typing import Any

import neo4j
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from bench.ingest import generate
from graph_schema import Property, PropertyError, get_schema
from graph_schema.model import PropType
from service.access.policy import ACCURACY_CODES, HANDLING_CODES, RELIABILITY_CODES, SHARING_LEVELS, Policy
from service.api.batches import inline_refs
from service.core import ids
from service.domain.ingest.models import Plan, build_plan, request_schema
from tests.builders import Auth, link, person, post_batch, uses
from tests.conftest import cypher

SCHEMA = get_schema()
PHONE = "06 11 22 33 44"
# A valid value of each identifier type, and a ref for each owned type (pushed in the same batch).
VALID_REF = {"Phone": PHONE, "BankAccount": "FR76 3000 6000 0112 3456 7890 189", "Vehicle": "AB-123-CD",
             "CryptoWallet": "0x" + "ab" * 20, "Email": "dealer@example.fr"}

# Any JSON value: what a partner's export may put anywhere.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.sampled_from(["", " ", "2024-01-31", "2024-02-30", "2024-01-31T10:00:00", "car",
                                             "open", "restricted", "A", "H3", "1", "x" * 300]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)


@pytest.fixture(scope="module")
def policy(app_client: TestClient) -> Policy:
    found: Policy = app_client.app.state.policy  # type: ignore[attr-defined]
    return found


def plan_of(body: Any, policy: Policy) -> Plan:
    """The plan of a decoded body, checked to be the plan of its bytes (the router's way)."""
    plan = build_plan(body, SCHEMA, policy, "police")
    try:
        raw = json.dumps(body).encode()
    except TypeError:  # a non-JSON value (the test's own): bytes cannot say it
        return plan
    from_bytes = build_plan(raw, SCHEMA, policy, "police")
    assert errors_of(from_bytes) == errors_of(plan)
    assert (from_bytes.entities, from_bytes.links, from_bytes.items) == (plan.entities, plan.links, plan.items)
    return plan


def errors_of(plan: Plan) -> set[tuple[str, int, str]]:
    for e in plan.errors:  # the shape clients read, whatever the error
        assert set(e) == {"section", "index", "field", "message"} and e["message"], e
        assert isinstance(e["index"], int) and isinstance(e["field"], str)
    return {(e["section"], e["index"], e["field"]) for e in plan.errors}


def ref_of(type_name: str) -> str:
    return VALID_REF.get(type_name, f"{type_name}-1")


def owned_ends(rel_name: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A valid link of `rel_name` (its first allowed pair) and the owned entities its ends name."""
    source, target = sorted(SCHEMA.relationships[rel_name].pairs)[0]
    entities = [{"type": t, "ref": ref_of(t)} for t in {source, target} if not SCHEMA.nodes[t].is_identifier]
    return entities, {"type": rel_name, "from": {"type": source, "ref": ref_of(source)},
                      "to": {"type": target, "ref": ref_of(target)}}


def fits(prop: Property, value: Any) -> bool:
    """What each property type accepts, said independently of the models."""
    kind = prop.type
    if kind in ("string", "text"):
        return isinstance(value, str) and len(value) <= 10_000
    if kind == "integer":
        return type(value) is int and -(2**63) <= value < 2**63
    if kind == "float":
        return type(value) in (int, float) and math.isfinite(value)
    if kind == "boolean":
        return type(value) is bool
    if kind in ("date", "datetime"):
        parse = dt.date.fromisoformat if kind == "date" else dt.datetime.fromisoformat
        try:
            return isinstance(value, str) and bool(parse(value))
        except ValueError:
            return False
    if kind == "enum":
        return isinstance(value, str) and value in prop.values
    assert kind == "list[string]"
    return (isinstance(value, list) and len(value) <= 100
            and all(isinstance(v, str) and len(v) <= 10_000 for v in value))


PROPERTIES = sorted(
    [("entities", name, prop) for name, node in SCHEMA.nodes.items() for prop in node.properties.values()]
    + [("links", name, prop) for name, rel in SCHEMA.relationships.items() for prop in rel.properties.values()],
    key=lambda p: (p[0], p[1], p[2].name))


@settings(max_examples=600, deadline=None)
@given(type_name=st.sampled_from(typing.get_args(PropType)), value=JSON)
def test_each_property_type_takes_what_it_says(type_name: str, value: Any) -> None:
    """Every property type, the schema's unused ones too (`Property.coerce` is the same check)."""
    prop = Property("p", type_name, ("car", "boat") if type_name == "enum" else ())  # type: ignore[arg-type]
    try:
        prop.coerce(value)
    except PropertyError:
        assert not fits(prop, value)
    else:
        assert value is None or fits(prop, value)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(PROPERTIES), value=JSON)
def test_a_property_of_the_wrong_type_is_named(policy: Policy, target: tuple[str, str, Property],
                                               value: Any) -> None:
    section, owner, prop = target
    if section == "entities":
        body: dict[str, Any] = {"entities": [{"type": owner, "ref": ref_of(owner), "properties": {prop.name: value}}]}
        index = 0
    else:
        entities, item = owned_ends(owner)
        body = {"entities": entities, "links": [item | {"properties": {prop.name: value}}]}
        index = 0
    plan = plan_of(body, policy)
    if value is None or fits(prop, value):
        assert errors_of(plan) == set(), plan.errors
        row = plan.entities[0] if section == "entities" else plan.links[0]
        assert (prop.name in row.props) == (value is not None)
    else:
        assert errors_of(plan) == {(section, index, f"properties.{prop.name}")}


FIELDS = {  # top-level fields of an owned entity: what each accepts
    "sharing": lambda v: v is None or (isinstance(v, str) and v in SHARING_LEVELS),
    "reliability": lambda v: v is None or (isinstance(v, str) and v in RELIABILITY_CODES),
    "accuracy": lambda v: v is None or (isinstance(v, str) and v in ACCURACY_CODES)
    or (type(v) is int and str(v) in ACCURACY_CODES),
    "handling": lambda v: v is None or (isinstance(v, str) and v in HANDLING_CODES),
    "handling_note": lambda v: v is None,  # without H3
    "ref": lambda v: isinstance(v, str) and bool(v.strip()) and len(v) <= 256,
    "id": lambda v: v is None or isinstance(v, str),
    "properties": lambda v: v is None or v == {},
}


def expected(section: str, name: str, value: Any) -> set[tuple[str, int, str]]:
    if section == "links" and name == "ref":  # a link's ref is optional and may be empty
        ok = value is None or (isinstance(value, str) and len(value) <= 256)
    else:
        ok = FIELDS[name](value)
    if ok:
        return {(section, 0, "handling_note")} if name == "handling" and value == "H3" else set()
    if name == "properties" and isinstance(value, dict):  # an object, of undeclared properties
        return {(section, 0, f"properties.{key}") for key in value}
    return {(section, 0, name)}


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(FIELDS)), value=JSON, in_link=st.booleans())
def test_a_top_level_field_of_the_wrong_type_is_named(policy: Policy, name: str, value: Any, in_link: bool) -> None:
    in_link = in_link and name != "id"  # a link has no id field
    if in_link:
        body: dict[str, Any] = {"entities": [person("P-1")], "links": [uses("P-1", PHONE) | {name: value}]}
    else:
        body = {"entities": [person("P-1") | {name: value}]}
    plan = plan_of(body, policy)
    assert errors_of(plan) == expected("links" if in_link else "entities", name, value), plan.errors


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(side=st.sampled_from(["from", "to"]), value=JSON)
def test_a_link_end_of_the_wrong_shape_is_named(policy: Policy, side: str, value: Any) -> None:
    body = {"entities": [person("P-1")], "links": [uses("P-1", PHONE) | {side: value}]}
    plan = plan_of(body, policy)
    found = errors_of(plan)
    assert len(found) == 1, plan.errors
    ((section, index, field),) = found
    # An end of a type USES does not take on that side is the pair's fault, named on `type`.
    assert section == "links" and index == 0 and (field == "type" or field.startswith(side))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ref=JSON, type_name=st.sampled_from(sorted(SCHEMA.nodes)), side=st.sampled_from(["from", "to"]))
def test_an_end_ref_of_the_wrong_type_is_named(policy: Policy, ref: Any, type_name: str, side: str) -> None:
    end = {"type": type_name, "ref": ref}
    body = {"links": [uses("P-1", PHONE) | {side: end}]}
    plan = plan_of(body, policy)
    if not isinstance(ref, str):
        assert (("links", 0, f"{side}.ref") in errors_of(plan)
                or errors_of(plan) == {("links", 0, "type")}), plan.errors  # or the type is not this side's


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=JSON | st.fixed_dictionaries({}, optional={"entities": JSON, "links": JSON, "other": JSON}))
def test_any_json_gets_errors_never_an_exception(policy: Policy, body: Any) -> None:
    plan = plan_of(body, policy)
    errors_of(plan)


BENCH_BATCH = generate(300, batch=300, seed=3)[0][1]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*path, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*path, i)))
    return out


PATHS = [p for p in _paths(BENCH_BATCH) if len(p) >= 2]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=JSON)
def test_one_value_replaced_anywhere_in_a_real_batch(policy: Policy, path: tuple[Any, ...], value: Any) -> None:
    """A partner's batch with one value changed at any depth: errors name that item, or none."""
    body: Any = {"entities": list(BENCH_BATCH["entities"]), "links": list(BENCH_BATCH["links"])}
    node = body
    for key in path[:-1]:
        node[key] = (dict(node[key]) if isinstance(node[key], dict) else list(node[key]))
        node = node[key]
    node[path[-1]] = value
    plan = plan_of(body, policy)
    errors_of(plan)
    for e in plan.errors:  # the changed item, or one it now conflicts with, which names it
        assert e["section"] == path[0], e
        assert e["index"] == path[1] or f"{path[0]}[{path[1]}]" in e["message"], e


# --- over HTTP, on the real service ---------------------------------------------------------------


def details(r: Any) -> set[tuple[str, int, str]]:
    assert r.status_code == 422, r.text
    body = r.json()["error"]
    assert body["code"] == "validation_error"
    return {(d["section"], d["index"], d["field"]) for d in body["details"]}


def node_count(graph: neo4j.Driver) -> int:
    return int(cypher(graph, "MATCH (n:Node) RETURN count(n) AS c")[0]["c"])


@pytest.mark.parametrize("sharing", [{"a": 1}, ["open"], [], 3, 1.5, True, False, "secret", ""])
def test_a_link_sharing_of_the_wrong_type_is_a_422_not_a_500(client: TestClient, auth: Auth, graph: neo4j.Driver,
                                                             sharing: Any) -> None:
    body = {"entities": [person("P-1"), person("P-2") | {"sharing": sharing}],
            "links": [uses("P-1", PHONE), uses("P-1", "0611223355") | {"sharing": sharing}]}
    r = post_batch(client, auth("police"), body)
    assert details(r) == {("entities", 1, "sharing"), ("links", 1, "sharing")}
    assert "open, restricted, confidential" in r.json()["error"]["details"][0]["message"]
    assert node_count(graph) == 0


def test_null_sharing_is_the_default(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    r = post_batch(client, auth("police"), {"entities": [person("P-1", None) | {"sharing": None}],
                                            "links": [uses("P-1", PHONE, None) | {"sharing": None}]})
    assert r.status_code == 200, r.text
    assert cypher(graph, "MATCH (p:Person)-[u:USES]->() RETURN p.sharing AS p, u.sharing AS u") == [
        {"p": "restricted", "u": "restricted"}]


def test_wrong_types_at_every_depth_in_one_answer(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    body = {
        "entities": [
            person("P-1", first_name="Karim"),                                              # 0 valid
            person("P-2") | {"properties": {"aliases": ["ok", 7]}},                          # 1 list item
            person("P-3") | {"properties": {"birth_date": 19900101}},                        # 2 date
            {"type": "Seizure", "ref": "S-1", "properties": {"quantity": "12"}},             # 3 float
            {"type": "Case", "ref": ["C-1"]},                                                # 4 ref
            person("P-4") | {"reliability": 1, "accuracy": True, "handling": ["H1"]},         # 5 codes
            {"type": "Phone", "ref": 612345678},                                             # 6 identifier value
            person("P-5") | {"properties": "Karim"},                                         # 7 properties
            "P-6",                                                                           # 8 not an object
        ],
        "links": [
            uses("P-1", PHONE),                                                              # 0 valid
            uses("P-1", PHONE) | {"from": ["Person", "P-1"]},                                # 1 end not an object
            uses("P-1", PHONE) | {"to": {"type": "Phone", "ref": {"n": 1}}},                # 2 end ref
            link("CALLED", ("Phone", PHONE), ("Phone", "0611223355")) | {"properties": {"count": 2.0}},  # 3
            uses("P-1", PHONE) | {"ref": 12},                                                # 4 link ref
            uses("P-1", PHONE) | {"properties": {"since": ["2024-01-01"]}},                  # 5 date
            uses("P-1", PHONE) | {"handling": "H3", "handling_note": 5},                     # 6 note
        ],
    }
    r = post_batch(client, auth("police"), body)
    assert details(r) == {
        ("entities", 1, "properties.aliases"), ("entities", 2, "properties.birth_date"),
        ("entities", 3, "properties.quantity"), ("entities", 4, "ref"), ("entities", 5, "reliability"),
        ("entities", 5, "accuracy"), ("entities", 5, "handling"), ("entities", 6, "ref"),
        ("entities", 7, "properties"), ("entities", 8, ""),
        ("links", 1, "from"), ("links", 2, "to.ref"), ("links", 3, "properties.count"), ("links", 4, "ref"),
        ("links", 5, "properties.since"), ("links", 6, "handling_note"),
    }
    messages = {(d["section"], d["index"], d["field"]): d["message"] for d in r.json()["error"]["details"]}
    assert messages[("entities", 1, "properties.aliases")] == "item 1: expected a string"
    assert messages[("entities", 2, "properties.birth_date")] == "expected a date as YYYY-MM-DD"
    assert node_count(graph) == 0


def test_the_batch_itself_of_the_wrong_shape(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    h = auth("police")
    assert details(post_batch(client, h, [person("P-1")])) == {("batch", 0, "")}
    assert details(post_batch(client, h, {"entities": {"0": person("P-1")}, "links": "none"})) == {
        ("batch", 0, "entities"), ("batch", 0, "links")}
    assert details(post_batch(client, h, {"entities": [], "link": []})) == {("batch", 0, "link")}
    assert post_batch(client, h, {"entities": None, "links": None}).status_code == 200
    assert node_count(graph) == 0


def test_the_documented_body_is_the_enforced_one(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    documented = spec["paths"]["/v1/ingest"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert documented == inline_refs(request_schema(SCHEMA))
    entity_types = {m["properties"]["type"]["const"]: m for m in documented["properties"]["entities"]["anyOf"][0]
                    ["items"]["oneOf"]}
    assert set(entity_types) == set(SCHEMA.nodes)
    for name, node in SCHEMA.nodes.items():
        props = entity_types[name]["properties"]["properties"]["anyOf"][0]
        assert set(props["properties"]) == set(node.properties) and props["additionalProperties"] is False
    links = {m["properties"]["type"]["const"]: m for m in documented["properties"]["links"]["anyOf"][0]
             ["items"]["oneOf"]}
    assert set(links) == set(SCHEMA.relationships)
    uses_from = links["USES"]["properties"]["from"]["oneOf"]
    assert {m["properties"]["type"]["const"] for m in uses_from} == {a for a, _ in SCHEMA.relationships["USES"].pairs}


# --- items repeated in a batch ------------------------------------------------------------------


def test_identical_items_repeated_are_one(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    h = auth("police")
    karim = person("P-1", first_name="Karim", reliability="B")
    body = {"entities": [karim, {"type": "Phone", "ref": PHONE}, dict(karim), {"type": "Phone", "ref": "0611223344"}],
            "links": [uses("P-1", PHONE, since="2024-01-01"), uses("P-1", "+33611223344", since="2024-01-01")]}
    r = post_batch(client, h, body)
    assert r.status_code == 200, r.text
    out = r.json()
    person_id, phone_id = ids.entity_id("police", "Person", "P-1"), ids.identifier_id("Phone", "+33611223344")
    assert [(e["index"], e["id"], e["status"]) for e in out["entities"]] == [
        (0, person_id, "created"), (1, phone_id, "created"), (2, person_id, "created"), (3, phone_id, "created")]
    link_id = ids.link_id("police", "USES", person_id, phone_id)
    assert [(e["index"], e["id"], e["status"]) for e in out["links"]] == [(0, link_id, "created"),
                                                                          (1, link_id, "created")]
    assert cypher(graph, "MATCH (p:Person)-[u:USES]->(t:Phone) RETURN p.version AS pv, u.version AS uv, "
                         "count(*) AS n") == [{"pv": 1, "uv": 1, "n": 1}]
    again = post_batch(client, h, body).json()
    assert {e["status"] for e in again["entities"] + again["links"]} == {"unchanged"}
    # A given id, right or wrong, is checked at each index that gives one.
    wrong = post_batch(client, h, {"entities": [karim, karim | {"id": ids.entity_id("police", "Person", "P-9")}]})
    assert details(wrong) == {("entities", 1, "id")}


def test_the_same_key_with_other_content_names_both_indexes(client: TestClient, auth: Auth,
                                                            graph: neo4j.Driver) -> None:
    h = auth("police")
    body = {"entities": [person("P-1", first_name="Karim"), person("P-2"), person("P-1", first_name="Karima")],
            "links": [uses("P-1", PHONE, since="2024-01-01"), uses("P-2", PHONE),
                      uses("P-1", "0611223344", since="2023-01-01"), uses("P-1", PHONE, "open", since="2024-01-01")]}
    r = post_batch(client, h, body)
    assert details(r) == {("entities", 2, "ref"), ("links", 2, ""), ("links", 3, "")}
    messages = {(d["section"], d["index"]): d["message"] for d in r.json()["error"]["details"]}
    assert "entities[0]" in messages[("entities", 2)]
    assert "links[0]" in messages[("links", 2)] and "links[0]" in messages[("links", 3)]
    # Links told apart by their ref are two links, not a conflict.
    parallel = [uses("P-1", PHONE, since="2024-01-01") | {"ref": "a"}, uses("P-1", PHONE) | {"ref": "b"}]
    r = post_batch(client, h, {"entities": [person("P-1")], "links": parallel})
    assert r.status_code == 200 and len({e["id"] for e in r.json()["links"]}) == 2
    assert node_count(graph) == 2


# --- query parameters and headers of the other endpoints -----------------------------------------


def _wrong_value(annotation: Any) -> str | None:
    """A query value that is not of the declared type, or None for a string (any text is one)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    if all(a is str for a in args):
        return None
    return "not-a-valid-value-\u00b2"


def _query_cases(app: Any) -> list[tuple[str, str, str, str, str]]:
    """(method, path, parameter, wrong value, route) for every typed query parameter of every route."""
    cases = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if not isinstance(route, APIRoute):
            continue
        declared: list[tuple[str, Any]] = []
        for dep in [route.dependant, *route.dependant.dependencies]:
            for param in dep.query_params:
                annotation = param.field_info.annotation
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # a query model
                    declared.extend((f.alias or n, f.annotation) for n, f in annotation.model_fields.items())
                else:
                    declared.append((param.alias, annotation))
        path = (ctx.path_format or "").replace("{", "").replace("}", "")
        for name, annotation in declared:
            wrong = _wrong_value(annotation)
            if wrong is not None:
                cases.extend((method, path, name, wrong, route.name) for method in sorted(ctx.methods or ()))
    return cases


def test_a_declared_query_parameter_of_the_wrong_type_is_a_422_naming_it(client: TestClient, auth: Auth) -> None:
    h = auth("ofast", "admin", "target_manager", "auditor", purpose="test")
    cases = _query_cases(client.app)
    assert len(cases) > 10
    for method, path, name, wrong, route in cases:
        r = client.request(method, path, params={name: wrong}, headers=h)
        assert r.status_code == 422, (route, name, r.status_code, r.text[:200])
        # A repeatable parameter (`kind=a&kind=b`) is located with the position of the wrong value.
        located = [(d.get("loc") or [])[:2] for d in r.json()["error"]["details"] or []]
        assert ["query", name] in located or name in r.json()["error"]["message"], (route, name, r.text[:300])


@pytest.mark.parametrize("cursor", ["\u00b2", "12\u00b3", "1" * 40, "-1", "abc"])
def test_an_audit_cursor_not_of_this_service_is_a_400(client: TestClient, auth: Auth, cursor: str) -> None:
    r = client.get("/v1/audit", params={"cursor": cursor}, headers=auth("ofast", "auditor"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_cursor", r.text


def test_an_if_match_that_is_no_version_is_a_400(client: TestClient, auth: Auth, graph: neo4j.Driver) -> None:
    pid = ids.entity_id("police", "Person", "P-1")
    assert post_batch(client, auth("police"), {"entities": [person("P-1")]}).status_code == 200
    r = client.post("/v1/priority-targets", json={"entity_id": pid, "justification": "heads the channel",
                                                  "proposed_tier": 2}, headers=auth("police", "investigator"))
    assert r.status_code == 201, r.text
    target = r.json()["id"]
    for header, status in (("\u00b2", 400), ('"1\u00b2"', 400), ("one", 400), ("9" * 40, 412)):
        r = client.post(f"/v1/priority-targets/{target}/transitions",
                        json={"to": "rejected", "reason": "not a target"},
                        headers=auth("ofast", "target_manager") | {"If-Match": header.encode("latin-1")})
        assert r.status_code == status, (header, r.text)
    spec = client.get("/openapi.json").json()
    declared = {p["name"] for p in spec["paths"]["/v1/priority-targets/{target_id}/transitions"]["post"]
                ["parameters"] if p["in"] == "header"}
    assert "If-Match" in declared
    assert "X-Source-System" in {p["name"] for p in spec["paths"]["/v1/ingest"]["post"].get("parameters", [])
                                 if p["in"] == "header"}
