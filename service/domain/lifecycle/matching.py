"""Person matching across agencies: suggested with reasons, judged by people, never merged.

At ingest (in the batch's transaction, `service.domain.ingest.hooks`), each Person the batch created or
changed, or linked to an identifier, is compared with the candidates of two cheap blocks (index
seeks and one-hop walks, `service.queries.matches.CANDIDATES`): persons of other agencies born
the same day, and persons of other agencies linked to a shared identifier. A pair becomes a
`possible_match` when

- the normalised names are equal and the birth dates are equal, or
- the names are similar — transliteration-aware (`normality.ascii_text`: Cyrillic, Arabic, Greek…
  to Latin), case-, accent- and word-order-insensitive, scored with rapidfuzz's
  `token_sort_ratio` over every name and alias of each side, at least
  `lifecycle.match_name_threshold` (0.85) — and the birth dates are equal or an identifier is shared.

Each owner that may know the other person exists gets one `possible_match` alert (its own
person, the other agency and contact, the reasons: which fields agreed and the name score —
never the other side's values) with the candidate's `match_id`. A pair is raised once
(`MatchCandidate.pair_key`); once judged `different` it is never raised again.
"""

from __future__ import annotations

import json
import re
from typing import Any

from neo4j import AsyncManagedTransaction
from normality import ascii_text
from rapidfuzz import fuzz

from service.access.policy import Policy
from service.core import ids
from service.queries import alerts as alerts_q
from service.queries import matches as q

_WORD = re.compile(r"[a-z0-9]+")


def name_key(text: str) -> str:
    """A name as compared: transliterated to ASCII, lower-case, words sorted."""
    return " ".join(sorted(_WORD.findall((ascii_text(text) or "").lower())))


def name_keys(person: dict[str, Any]) -> set[str]:
    """Every name of a person: `first_name last_name`, the last name alone if no first name, aliases."""
    names = [" ".join(p for p in (person.get("first_name"), person.get("last_name")) if p)]
    names += [a for a in (person.get("aliases") or []) if isinstance(a, str)]
    return {k for k in (name_key(n) for n in names if n) if k}


def name_score(left: dict[str, Any], right: dict[str, Any]) -> tuple[bool, float]:
    """(some name equal once normalised, best similarity 0..1)."""
    a, b = name_keys(left), name_keys(right)
    if not a or not b:
        return False, 0.0
    if a & b:
        return True, 1.0
    return False, max(fuzz.token_sort_ratio(x, y) for x in a for y in b) / 100


def reasons_for(p: dict[str, Any], o: dict[str, Any], shared: list[dict[str, str]],
                threshold: float) -> tuple[list[dict[str, Any]], float] | None:
    """The reasons two persons may be the same, and the name score; None when they are no candidate."""
    exact, score = name_score(p, o)
    same_birth = bool(p.get("birth_date")) and p.get("birth_date") == o.get("birth_date")
    if not ((exact and same_birth) or (score >= threshold and (same_birth or shared))):
        return None
    reasons: list[dict[str, Any]] = [{"field": "name", "kind": "exact" if exact else "fuzzy",
                                      "score": round(score, 3)}]
    if same_birth:
        reasons.append({"field": "birth_date", "kind": "equal"})
    for ident in sorted(shared, key=lambda s: s["id"]):
        reasons.append({"field": "identifier", "kind": "shared", "identifier_type": ident["type"],
                        "identifier_id": ident["id"]})
    return reasons, round(score, 3)


async def detect(tx: AsyncManagedTransaction, person_ids: list[str], policy: Policy, now: str) -> int:
    """In the ingest transaction: raise `possible_match` for the persons given. Returns the number
    of alerts newly merged."""
    if not person_ids:
        return 0
    lifecycle = policy.lifecycle
    rows = [r.data() async for r in await tx.run(q.CANDIDATES, persons=person_ids, max=lifecycle.match_max_candidates,
                                                  hub_links=lifecycle.match_hub_links,
                                                  agencies=sorted(policy.agencies),
                                                  central_agency=policy.central_agency)]
    matches: dict[str, dict[str, Any]] = {}
    sides: dict[str, list[tuple[str, str, str]]] = {}  # pair key -> [(recipient, own person, other agency)]
    for r in rows:
        p, o = r["p"], r["o"]
        if not (r["p_knows"] or r["o_knows"]):
            continue
        found = reasons_for(p, o, r["shared"], lifecycle.match_name_threshold)
        if found is None:
            continue
        reasons, score = found
        a, b = sorted((p, o), key=lambda x: x["id"])
        key = f"{a['id']}|{b['id']}"
        known = matches.get(key)
        if known is not None and len(json.loads(known["reasons"])) >= len(reasons):
            continue
        matches[key] = {"pair_key": key, "id": ids.match_id(key), "person_a": a["id"], "person_b": b["id"],
                        "agency_a": a["owner_agency"], "agency_b": b["owner_agency"],
                        "reasons": json.dumps(reasons, separators=(",", ":")), "score": score}
        sides[key] = ([(p["owner_agency"], p["id"], o["owner_agency"])] if r["p_knows"] else []) + (
            [(o["owner_agency"], o["id"], p["owner_agency"])] if r["o_knows"] else [])
    if not matches:
        return 0
    kept = [r.data() async for r in await tx.run(q.MERGE_CANDIDATES, matches=[matches[k] for k in sorted(matches)],
                                                  now=now)]
    alerts = []
    for row in kept:
        m = matches[row["pair_key"]]
        for recipient, own, other in sides[row["pair_key"]]:
            alerts.append({"pair_key": f"possible_match|{recipient}|{row['id']}", "kind": "possible_match",
                           "agency": recipient, "entity_id": own, "identifier_id": None,
                           "counterpart_agency": other, "counterpart_contact": policy.contact(other),
                           "purpose": None, "reasons": m["reasons"], "match_id": row["id"]})
    if not alerts:
        return 0
    summary = await (await tx.run(alerts_q.RAISE, alerts=sorted(alerts, key=lambda x: x["pair_key"]),
                                  now=now)).consume()
    return summary.counters.nodes_created
