"""Cypher behind GET /v1/reports/threat-assessment: a year's aggregates (measure 4 of the plan).

Aggregates only, like the threat dashboard (`service.queries.dashboard`): no statement returns an
item, an id or a free-text value; group keys are closed sets (the schema's enums, département
codes, alert kinds, statuses). Which items count follows the policy's statistics rule
(`$count_all`: every item, else only those the caller sees in full). Each statement takes the
year as `$since` (its first day) and `$next` (the next year's first day), compared as ISO text,
as every date and time of the graph is stored.
"""

from __future__ import annotations

from graph_schema import get_schema
from service.access.visibility import node_full
from service.queries.places import department_of_insee, department_of_territory

_s = get_schema()
_SEIZURE, _NETWORK, _ASSET = _s.node("Seizure").name, _s.node("Network").name, _s.node("Asset").name
_LOCATION, _LOCATED = _s.node("Location").name, _s.relationship("LOCATED_AT").name
_SEIZED_FROM = _s.relationship("SEIZED_FROM").name


def _counted(var: str) -> str:
    return f"($count_all OR {node_full(var)})"


_IN_YEAR = "{x} >= $since AND {x} < $next"

# Seizures of the year by drug, by method, and by the département of their place: a Location
# they are LOCATED_AT (or seized from) with an INSEE code, else `unknown`. Weights in kilograms
# (g and kg); other units are counted, not weighed.
SEIZURES = f"""
MATCH (s:{_SEIZURE})
WHERE {_counted('s')} AND s.date IS NOT NULL AND {_IN_YEAR.format(x='s.date')}
WITH s, COLLECT {{
  MATCH (s)-[:{_LOCATED}|{_SEIZED_FROM}]->(p:{_LOCATION}) WHERE p.insee_code IS NOT NULL
  RETURN {department_of_insee('p.insee_code')} LIMIT 1
}} AS places
RETURN coalesce(s.drug, 'other') AS drug, coalesce(s.method, 'unknown') AS method,
       coalesce(places[0], 'unknown') AS department, count(s) AS seizures,
       sum(CASE s.unit WHEN 'kg' THEN coalesce(s.quantity, 0.0)
                       WHEN 'g' THEN coalesce(s.quantity, 0.0) / 1000.0 ELSE 0.0 END) AS quantity_kg
"""

# Networks known by the end of the year (first pushed before `$next`), by kind and département
# of their territory ("Marseille (13)" -> 13).
NETWORKS = f"""
MATCH (n:{_NETWORK})
WHERE {_counted('n')} AND n.created_at < $next
RETURN coalesce(n.kind, 'other') AS kind, {department_of_territory('n.territory')} AS department,
       count(n) AS networks
"""

# Cross-agency overlaps found in the year: alerts raised, by kind (each overlap alerts both sides).
ALERTS = """
MATCH (a:Alert)
WHERE a.created_at >= $since AND a.created_at < $next
RETURN a.kind AS kind, count(a) AS alerts
"""

# Priority targets by their status at the end of the year: the status set by the last proposal or
# transition before `$next` (reviews keep it).
PRIORITY_TARGETS = """
MATCH (v:PriorityTargetVersion)
WHERE v.at < $next AND v.kind IN ['proposal', 'transition']
WITH v.target_id AS target, v ORDER BY v.version DESC
WITH target, head(collect(CASE v.kind WHEN 'proposal' THEN 'proposed' ELSE v.transition_to END)) AS status
RETURN status, count(target) AS targets
"""

# Asset recovery steps taken in the year: identified, seized, confiscated, released, by the date
# of each step (an asset seized in one year and confiscated in the next counts in both).
ASSETS = f"""
MATCH (a:{_ASSET}) WHERE {_counted('a')}
UNWIND [['identified', a.identified_on], ['seized', a.seized_on], ['confiscated', a.confiscated_on],
        ['released', a.released_on]] AS step
WITH a, step WHERE step[1] IS NOT NULL AND {_IN_YEAR.format(x='step[1]')}
RETURN step[0] AS step, count(a) AS assets, sum(coalesce(a.value_eur, 0.0)) AS value_eur
"""

# Deal points known by the end of the year, by département.
DEAL_POINTS = f"""
MATCH (l:{_LOCATION} {{kind: 'deal_point'}})
WHERE {_counted('l')} AND l.created_at < $next
RETURN coalesce({department_of_insee('l.insee_code')}, 'unknown') AS department, count(l) AS deal_points
"""

STATEMENTS = {"seizures": SEIZURES, "networks": NETWORKS, "alerts": ALERTS, "priority_targets": PRIORITY_TARGETS,
              "assets": ASSETS, "deal_points": DEAL_POINTS}
