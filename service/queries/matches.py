"""Cypher of person matching across agencies: candidates at ingest, the match view, judgements.

`(:MatchCandidate {id, pair_key, person_a, person_b, agency_a, agency_b, reasons, score, status,
created_at, updated_at, judged_at?, judged_by_agency?})` — one per pair of persons (`pair_key`,
the two ids in order, is unique); `status` is `open`, then the latest verdict (`same`,
`different`, `unsure`). `(:MatchJudgement {id, match_id, verdict, note, by_agency, by_unit,
by_sub, at})` keeps every judgement. Both are workflow nodes (not `:Node`): no traversal reaches
them. A `same` verdict adds a `SAME_AS` relationship between the persons; nothing is merged.
"""

from __future__ import annotations

from service.access.visibility import agency_record, node_known, node_view, rel_known, sharing_between, viewer_of
from service.queries import FIRST_PLAN

# Candidates of the batch's persons, by two blocks only (index seeks and local hops, never a
# scan): persons of other agencies born the same day, and persons of other agencies linked to an
# identifier the person is linked to. The birth-date block seeks each other agency of `$agencies`
# on the composite index `person_birth_date_owner` (equality on both keys), at most `$max` each:
# `owner_agency <> p.owner_agency` would walk every person of p's own agency born that day first,
# a cost that grows with a popular date (1 January where only the year is known). A shared identifier counts only
# when each side may know the other side's link (a confidential link is nobody else's business).
# An identifier with more than `$hub_links` links is no blocking key: a hub (a call centre, a phone
# a whole network shares) would make every person on it a candidate of every other, and each of
# the batch's persons on it would walk all its links (its degree is read, not walked); the
# `shared_identifier` alerts still tell each agency who else holds it.
# Minors are never proposed (data on minors reaches other agencies as hit / no-hit only).
# `a_knows` / `b_knows`: whether each owner may know the other person exists (alerted only then).
CANDIDATES = FIRST_PLAN + f"""
UNWIND $persons AS pid
MATCH (p:Node {{id: pid}})
WHERE p:Person AND coalesce(p.minor, false) = false
CALL (p) {{
  UNWIND [a IN $agencies WHERE a <> p.owner_agency] AS other
  CALL (p, other) {{
    MATCH (o:Person)
    WHERE o.birth_date = p.birth_date AND o.owner_agency = other AND coalesce(o.minor, false) = false
    RETURN o LIMIT $max
  }}
  RETURN o, null AS via, null AS via_type
  UNION
  MATCH (p)-[r1]-(i:Identifier)
  WHERE COUNT {{ (i)--() }} <= $hub_links
  MATCH (i)-[r2]-(o:Person)
  WHERE o.owner_agency <> p.owner_agency AND coalesce(o.minor, false) = false
  WITH p, o, r1, r2, i, {viewer_of('p.owner_agency')} AS pv, {viewer_of('o.owner_agency')} AS ov
  WHERE {rel_known('r2', 'pv')} AND {rel_known('r1', 'ov')}
  WITH o, i LIMIT $max
  RETURN o, i.id AS via, i.type AS via_type
}}
WITH p, o, [x IN collect(DISTINCT CASE WHEN via IS NOT NULL THEN {{id: via, type: via_type}} END)
            WHERE x IS NOT NULL] AS shared
WITH p, o, shared, {viewer_of('p.owner_agency')} AS pv, {viewer_of('o.owner_agency')} AS ov
RETURN p {{.id, .owner_agency, .first_name, .last_name, .aliases, .birth_date}} AS p,
       o {{.id, .owner_agency, .first_name, .last_name, .aliases, .birth_date}} AS o,
       shared, {node_known('o', 'pv')} AS p_knows, {node_known('p', 'ov')} AS o_knows
"""

# A pair judged `different` stays suppressed: it is returned only while not `different`.
MERGE_CANDIDATES = FIRST_PLAN + """
UNWIND $matches AS m
MERGE (c:MatchCandidate {pair_key: m.pair_key})
ON CREATE SET c.id = m.id, c.person_a = m.person_a, c.person_b = m.person_b, c.agency_a = m.agency_a,
              c.agency_b = m.agency_b, c.reasons = m.reasons, c.score = m.score, c.status = 'open',
              c.created_at = $now, c.updated_at = $now
WITH c, m
WHERE c.status <> 'different'
RETURN c.id AS id, m.pair_key AS pair_key
"""

# The candidate as the caller may see it: a party (owner of one side) that may know the other
# side, or the central agency; both persons must still exist and be known to the caller. Each
# person is shown as the caller may see it (in full, or a stub).
_VISIBLE = f"""
MATCH (c:MatchCandidate {{id: $id}})
MATCH (a:Node {{id: c.person_a}})
MATCH (b:Node {{id: c.person_b}})
WHERE {node_known('a')} AND {node_known('b')}
  AND {agency_record("c", "agency_a", "agency_b")}
"""

GET = f"""{_VISIBLE}
OPTIONAL MATCH (j:MatchJudgement {{match_id: c.id}})
WITH c, a, b, j ORDER BY j.at, j.id
RETURN c {{.id, .status, .score, .reasons, .created_at, .judged_at, .judged_by_agency}} AS match,
       [{node_view('a')}, {node_view('b')}] AS persons,
       [x IN collect(j) | x {{.id, .verdict, .note, .by_agency, .at}}] AS judgements
"""

# A judgement: recorded, the candidate's status set, and SAME_AS added (`same`) or removed
# (another verdict after `same`). The SAME_AS is the judging agency's, confidential if either
# person is, else restricted: it is seen under the usual rules.
JUDGE = f"""{_VISIBLE}
CREATE (j:MatchJudgement {{id: $judgement_id, match_id: c.id, verdict: $verdict, note: $note,
                           by_agency: $viewer.agency, by_unit: $unit, by_sub: $sub, at: $now}})
SET c.status = $verdict, c.judged_at = $now, c.judged_by_agency = $viewer.agency, c.updated_at = $now
WITH c, a, b
CALL (c, a, b) {{
  WITH c, a, b WHERE $verdict = 'same'
  MERGE (a)-[s:SAME_AS {{id: $same_as_id}}]->(b)
  ON CREATE SET s.owner_agency = $viewer.agency, s.owner_unit = $unit,
                {sharing_between("s", "a", "b")},
                s.match_id = c.id, s.source_system = 'ofast-graph matching', s.created_at = $now, s.updated_at = $now,
                s.version = 1
  RETURN count(s) AS linked
  UNION
  WITH c, a, b WHERE $verdict <> 'same'
  OPTIONAL MATCH (a)-[s:SAME_AS {{id: $same_as_id}}]->(b)
  DELETE s
  RETURN 0 AS linked
}}
RETURN c.id AS id
"""
