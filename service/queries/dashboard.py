"""Cypher behind GET /v1/dashboard/threat: national aggregates for the threat assessment (measure 4).

Aggregates only: no statement returns an item, its id or a free-text value. Which items count
follows the policy switch `statistics_count_all` (`$count_all`): when true every item counts,
visible or not (a count reveals no content); when false only items the caller sees in full
(`node_full`), since the drug of a seizure, the status of an asset or the territory of a network
is content that a stub withholds. Group keys are closed sets — a month, a drug or status from the
schema's enums, a département code (two characters, or three overseas) — never free text, so a
total of one reveals no more than "one item of this kind exists".

Every value is a parameter (`$viewer`, `$count_all`, `$since`, `$until`).
"""

from __future__ import annotations

from service.access.visibility import node_full
from service.queries.places import department_of_territory

# Seizures by month (YYYY-MM of `date`) and drug. Quantities are summed per unit family:
# weights in kilograms (g and kg), litres, and doses apart.
SEIZURES_BY_MONTH = f"""
MATCH (s:Seizure)
WHERE ($count_all OR {node_full('s')})
  AND s.date IS NOT NULL
  AND ($since IS NULL OR s.date >= $since) AND ($until IS NULL OR s.date <= $until)
WITH substring(toString(s.date), 0, 7) AS month, coalesce(s.drug, 'other') AS drug, s
RETURN month, drug, count(s) AS seizures,
       sum(CASE s.unit WHEN 'kg' THEN coalesce(s.quantity, 0.0)
                       WHEN 'g' THEN coalesce(s.quantity, 0.0) / 1000.0 ELSE 0.0 END) AS quantity_kg,
       sum(CASE s.unit WHEN 'l' THEN coalesce(s.quantity, 0.0) ELSE 0.0 END) AS quantity_l,
       sum(CASE s.unit WHEN 'doses' THEN coalesce(s.quantity, 0.0) ELSE 0.0 END) AS doses
ORDER BY month, drug
"""

# Criminal assets by status (identified → seized → confiscated), with their total value.
ASSETS_BY_STATUS = f"""
MATCH (a:Asset)
WHERE $count_all OR {node_full('a')}
RETURN coalesce(a.status, 'unknown') AS status, count(a) AS assets,
       sum(coalesce(a.value_eur, 0.0)) AS value_eur
ORDER BY status
"""

# Active networks by département. A network is active when a case linked to it — through a
# member (MEMBER_OF then INVOLVED_IN) or through a seizure made on it (SEIZED_FROM then
# SEIZED_IN) — is open or before the courts (when not counting all, a case whose status the
# caller cannot read does not count). Its département is the code between the last
# parentheses of `territory` ("Marseille (13)" → "13"), else `unknown`.
NETWORKS_BY_TERRITORY = f"""
MATCH (n:Network)
WHERE $count_all OR {node_full('n')}
WITH n
WHERE EXISTS {{
    MATCH (n)<-[:MEMBER_OF]-(:Person)-[:INVOLVED_IN]->(c:Case)
    WHERE c.status IN ['open', 'judicial'] AND ($count_all OR {node_full('c')})
  }} OR EXISTS {{
    MATCH (n)<-[:SEIZED_FROM]-(:Seizure)-[:SEIZED_IN]->(c:Case)
    WHERE c.status IN ['open', 'judicial'] AND ($count_all OR {node_full('c')})
  }}
WITH n, {department_of_territory('n.territory')} AS department
RETURN department, count(n) AS networks, collect(DISTINCT n.kind) AS kinds
ORDER BY networks DESC, department
"""
