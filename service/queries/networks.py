"""Cypher behind GET /v1/networks/{id}: a network, its members, cases, seizures, assets, territories.

Every list applies the caller's visibility in the query (`$viewer`): an item appears only when
it and every relationship leading to it are known, in full or as a stub. The aggregates
(seizure and asset totals) follow the policy switch `statistics_count_all` (`$count_all`): when
true they count everything linked to the network, since a total reveals no item; when false only
what the caller may know exists.
"""

from __future__ import annotations

from service.access.visibility import node_known, node_view, rel_full, rel_known, rel_view

NETWORK = f"""
MATCH (n:Node {{id: $id}})
WHERE n:Network AND {node_known('n')}
RETURN {node_view('n')} AS network
"""

MEMBERS = f"""
MATCH (n:Node {{id: $id}})<-[r:MEMBER_OF]-(p:Person)
WHERE {rel_known('r')} AND {node_known('p')}
RETURN {node_view('p')} AS person, {rel_view('r')} AS link,
       CASE WHEN {rel_full('r')} THEN r.role END AS role
ORDER BY p.id
LIMIT $limit
"""

# Cases reached through a member's INVOLVED_IN or a seizure made on the network (SEIZED_FROM →
# SEIZED_IN); every hop must be known, so a confidential member never leads to its cases.
CASES = f"""
MATCH (n:Node {{id: $id}})
CALL (n) {{
  MATCH (n)<-[r1:MEMBER_OF]-(p:Person)-[r2:INVOLVED_IN]->(c:Case)
  WHERE {rel_known('r1')} AND {node_known('p')} AND {rel_known('r2')} AND {node_known('c')}
  RETURN c, 'member' AS via
  UNION
  MATCH (n)<-[r1:SEIZED_FROM]-(s:Seizure)-[r2:SEIZED_IN]->(c:Case)
  WHERE {rel_known('r1')} AND {node_known('s')} AND {rel_known('r2')} AND {node_known('c')}
  RETURN c, 'seizure' AS via
}}
WITH c, collect(DISTINCT via) AS via
RETURN {node_view('c')} AS case_view, via
ORDER BY c.id
LIMIT $limit
"""

SEIZURE_TOTALS = f"""
MATCH (n:Node {{id: $id}})<-[r:SEIZED_FROM]-(s:Seizure)
WHERE $count_all OR ({rel_known('r')} AND {node_known('s')})
WITH DISTINCT s
RETURN s.drug AS drug, s.unit AS unit, sum(coalesce(s.quantity, 0.0)) AS quantity, count(s) AS items
ORDER BY drug, unit
"""

# Assets owned by the network itself or by any of its members, each counted once.
ASSET_TOTALS = f"""
MATCH (n:Node {{id: $id}})
CALL (n) {{
  MATCH (n)-[o:OWNS]->(a:Asset)
  WHERE $count_all OR ({rel_known('o')} AND {node_known('a')})
  RETURN a
  UNION
  MATCH (n)<-[m:MEMBER_OF]-(p:Person)-[o:OWNS]->(a:Asset)
  WHERE $count_all OR ({rel_known('m')} AND {node_known('p')} AND {rel_known('o')} AND {node_known('a')})
  RETURN a
}}
WITH DISTINCT a
RETURN a.status AS status, sum(coalesce(a.value_eur, 0.0)) AS value_eur, count(a) AS items
ORDER BY status
"""

TERRITORIES = f"""
MATCH (n:Node {{id: $id}})-[r:OPERATES]->(l:Location)
WHERE {rel_known('r')} AND {node_known('l')}
RETURN {node_view('l')} AS location
ORDER BY l.id
LIMIT $limit
"""
