"""The access rules are spelled once (`service/access/`) and every feature composes them, on a real Neo4j.

A rule copied by hand into a feature's Cypher drifts from the original — the shared-identifier
alerts once tested `grantees` on a relationship, which only entities carry, so a grantee of a
confidential entity behind a restricted link was never alerted. These tests hold the features
that decide what *another* agency may know to the read paths' rules, and a lint keeps Cypher
outside the access package from spelling those rules again.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import neo4j
from fastapi.testclient import TestClient

from service.access.visibility import node_full, node_hit, node_known, rel_full, rel_known, viewer_of
from tests.builders import Auth, alerts_of, eid, ent, person, push, uses
from tests.conftest import cypher

PHONE = "06 12 34 56 78"


def grant(client: TestClient, headers: dict[str, str], entity_id: str, agency: str) -> None:
    r = client.post(f"/v1/entities/{entity_id}/grants", json={"agency": agency, "reason": "JIT Marseille"},
                    headers=headers)
    assert r.status_code == 201, r.text


def shared(client: TestClient, headers: dict[str, str]) -> list[tuple[str, str]]:
    """The caller's shared-identifier alerts as (own entity, counterpart agency)."""
    return sorted((a["entity_id"], a["counterpart_agency"]) for a in alerts_of(client, headers, "shared_identifier"))


def test_a_grantee_is_alerted_on_a_granted_confidential_entity_behind_a_restricted_link(
        client: TestClient, auth: Auth) -> None:
    police, douane, gendarmerie = (auth(a, "investigator") for a in ("police", "douane", "gendarmerie"))
    push(client, police, [person("PC", "confidential", last_name="Benali"), ent("Phone", PHONE)],
         [uses("PC", PHONE, "restricted")])
    grant(client, police, eid("police", "Person", "PC"), "douane")
    push(client, douane, [person("DP", last_name="Morel"), ent("Phone", PHONE)], [uses("DP", PHONE)])
    # douane may know PC (granted) and the link (restricted): it is alerted, as police is.
    assert shared(client, douane) == [(eid("douane", "Person", "DP"), "police")]
    assert shared(client, police) == [(eid("police", "Person", "PC"), "douane")]
    # The grant is douane's alone: gendarmerie hears of douane's person, not of police's.
    push(client, gendarmerie, [person("GP", last_name="Roux"), ent("Phone", PHONE)], [uses("GP", PHONE)])
    assert shared(client, gendarmerie) == [(eid("gendarmerie", "Person", "GP"), "douane")]


def test_the_other_side_is_alerted_when_the_ingesting_agency_granted_it_its_confidential_entity(
        client: TestClient, auth: Auth) -> None:
    police, douane = auth("police", "investigator"), auth("douane", "investigator")
    push(client, police, [person("PP", last_name="Benali"), ent("Phone", PHONE)], [uses("PP", PHONE)])
    push(client, douane, [person("DC", "confidential", last_name="Morel")])
    grant(client, douane, eid("douane", "Person", "DC"), "police")
    push(client, douane, [ent("Phone", PHONE)], [uses("DC", PHONE, "restricted")])
    assert shared(client, police) == [(eid("police", "Person", "PP"), "douane")]
    assert shared(client, douane) == [(eid("douane", "Person", "DC"), "police")]


def test_a_confidential_side_without_a_grant_raises_nothing_for_the_other(client: TestClient, auth: Auth) -> None:
    police, douane = auth("police", "investigator"), auth("douane", "investigator")
    push(client, police, [person("PC", "confidential"), ent("Phone", PHONE)], [uses("PC", PHONE, "restricted")])
    push(client, douane, [person("DP"), ent("Phone", PHONE)], [uses("DP", PHONE, "confidential")])
    assert shared(client, douane) == [] and shared(client, police) == []


def test_a_minor_behind_an_identifier_is_a_hit_for_the_other_agency_never_its_record(
        client: TestClient, auth: Auth) -> None:
    """A shared-identifier alert is a hit (which agency, whom to call), like a lookup: another agency's
    minor raises it (`node_hit`, no minors rule), and the alert names only the recipient's own entity."""
    police, douane = auth("police", "investigator"), auth("douane", "investigator")
    push(client, police, [person("M-1", "open", last_name="Mineur", birth_date="2015-01-01"), ent("Phone", PHONE)],
         [uses("M-1", PHONE, "open")])
    push(client, douane, [person("DP", last_name="Morel"), ent("Phone", PHONE)], [uses("DP", PHONE)])
    minor = eid("police", "Person", "M-1")
    assert shared(client, douane) == [(eid("douane", "Person", "DP"), "police")]
    assert minor not in client.get("/v1/alerts", headers=douane).text
    assert shared(client, police) == [(minor, "douane")]


def test_another_agencys_viewer_decides_as_the_callers_own(graph: neo4j.Driver) -> None:
    """`viewer_of(agency)` in a fragment gives, for every item, what `$viewer` gives that agency's callers."""
    cypher(graph, """
    UNWIND range(0, 35) AS k
    WITH k, ['open', 'restricted', 'confidential'][k % 3] AS sharing,
         ['police', 'douane', 'ofast'][(k / 3) % 3] AS owner,
         CASE WHEN (k / 18) % 2 = 1 THEN ['douane'] ELSE [] END AS grantees
    CREATE (a:Node:Entity:Person {id: 'p' + k, sharing: sharing, owner_agency: owner, minor: (k / 9) % 2 = 1,
                                  grantees: grantees})
    CREATE (a)-[:USES {id: 'r' + k, sharing: sharing, owner_agency: owner, grantees: grantees}]->
           (:Node:Identifier:Phone {id: 'i' + k})
    """)
    checks = ", ".join(f"[{f('x', viewer_of('$agency'))}, {f('x')}] AS {f.__name__}"
                       for f in (node_full, node_known, node_hit))
    rel_checks = ", ".join(f"[{f('r', viewer_of('$agency'))}, {f('r')}] AS {f.__name__}" for f in (rel_full, rel_known))
    for agency in ("police", "douane", "gendarmerie", "ofast"):
        viewer = {"agency": agency, "central": agency == "ofast"}
        rows = cypher(graph, f"MATCH (x:Node)-[r]-() RETURN x.id AS id, {checks}, {rel_checks}",
                      agency=agency, viewer=viewer, central_agency="ofast")
        assert len(rows) == 72
        for row in rows:
            for name in ("node_full", "node_known", "node_hit", "rel_full", "rel_known"):
                assert bool(row[name][0]) == bool(row[name][1]), (agency, row["id"], name, row[name])


# --- the rules are spelled in service/access/ only -------------------------------------------------

SERVICE = Path(__file__).resolve().parent.parent / "service"
ACCESS = SERVICE / "access"

# What spelling an access rule by hand looks like inside a Cypher string: reading or writing the
# grant list, comparing a sharing level, deciding on the central agency, building a viewer map.
HAND_SPELLED = {
    "grantees": re.compile(r"\w\.grantees\b"),
    "sharing comparison": re.compile(r"\.sharing\s*(?:<>|!=|=|IN\b)|\[[^\]]*\w\.sharing\b|\bsharing\s*(?:<>|=)\s*'"),
    "central check": re.compile(r"\$viewer\.central\b|\.central\s+(?:OR|AND)\b|\$central(?:_agency)?\b"
                                r"|\bcentral\s*:"),
}


def _docstrings(source: str) -> set[tuple[int, int]]:
    """Where the docstrings start: prose about the rules, not Cypher."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add((first.value.lineno, first.value.col_offset))
    return found


# String tokens: a whole literal, f-strings included, up to Python 3.11; from 3.12 an f-string's
# literal parts come as FSTRING_MIDDLE tokens.
_STRING_TOKENS = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}


def hand_spelled_rules(root: Path, exempt: Path) -> list[str]:
    """`file:line: kind: text` for every string literal (f-strings included) under `root`, outside
    `exempt`, that spells an access rule by hand."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        if path.is_relative_to(exempt):
            continue
        source = path.read_text(encoding="utf-8")
        skip = _docstrings(source)
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type not in _STRING_TOKENS or tok.start in skip:
                continue
            for kind, pattern in HAND_SPELLED.items():
                for match in pattern.finditer(tok.string):
                    line = tok.start[0] + tok.string.count("\n", 0, match.start())
                    problems.append(f"{path.relative_to(root.parent)}:{line}: {kind}: {match.group(0)!r}")
    return problems


def test_cypher_outside_the_access_package_spells_no_access_rule() -> None:
    problems = hand_spelled_rules(SERVICE, ACCESS)
    assert not problems, "compose the fragments of service/access/ instead:\n" + "\n".join(problems)


def test_the_lint_sees_a_hand_spelled_rule(tmp_path: Path) -> None:
    (tmp_path / "q.py").write_text(
        'X = f"""MATCH (e) WHERE e.sharing <> \'confidential\' OR $viewer.agency IN coalesce(e.grantees, [])\n'
        '  OR {1} AND $viewer.central OR e.owner_agency = $central_agency"""\n', encoding="utf-8")
    assert [p.split(": ", 1)[1] for p in hand_spelled_rules(tmp_path, tmp_path / "access")] == [
        "grantees: 'e.grantees'",
        "sharing comparison: '.sharing <>'",
        "central check: '$viewer.central'",
        "central check: '$central_agency'",
    ]
