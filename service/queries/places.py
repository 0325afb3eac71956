"""Where a place is, as Cypher expressions: the département of an INSEE commune code or of a
network's territory text. One definition for every aggregate that groups by département."""

from __future__ import annotations

# Metropolitan codes 01–95 with Corsica's 2A / 2B, overseas 971–976.
DEPARTMENT_PATTERN = "(0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97[1-6])"


def department_of_insee(code: str) -> str:
    """The département of an INSEE commune code expression: its first two characters (2A, 2B
    included), three overseas (97x); null when the code is none."""
    return (f"CASE WHEN {code} IS NULL THEN null WHEN {code} STARTS WITH '97' THEN substring({code}, 0, 3) "
            f"ELSE substring({code}, 0, 2) END")


def department_of_territory(territory: str) -> str:
    """The département of a territory text expression: the code between its last parentheses
    ("Marseille (13)" -> "13"), else `unknown`."""
    code = f"trim(replace(last(split(coalesce({territory}, ''), '(')), ')', ''))"
    return f"CASE WHEN {code} =~ '{DEPARTMENT_PATTERN}' THEN {code} ELSE 'unknown' END"
