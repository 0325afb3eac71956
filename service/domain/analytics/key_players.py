"""Key players of a network: persons of the caller's visible subgraph ranked by degree and betweenness.

The subgraph comes from `service.queries.analytics` (what the caller may know, cut at `MAX_EDGES`
relationships); the ranking is `service.domain.analytics.centrality` on it, undirected.
"""

from __future__ import annotations

from typing import Any, Literal

from service.domain.analytics import centrality

MAX_EDGES = 10_000  # beyond this the subgraph is cut and the answer says `truncated`

Score = tuple[str, int, float, float]  # (person id, degree, betweenness, normalised betweenness)


def rank_persons(edges: list[dict[str, Any]], members: dict[str, str | None]) -> tuple[
        list[Score], int, int, bool]:
    """A score for every person of the subgraph, then its node and edge counts and whether the
    betweenness is approximate. `edges`: `{source, target, source_person, target_person}` rows;
    `members`: the network's visible members and their roles (they count even without an edge)."""
    persons = set(members)
    for e in edges:
        if e["source_person"]:
            persons.add(e["source"])
        if e["target_person"]:
            persons.add(e["target"])
    adj = centrality.undirected(((e["source"], e["target"]) for e in edges), nodes=members)
    deg = centrality.degree(adj)
    btw = centrality.betweenness(adj)
    n = len(adj)
    scores = [(p, deg[p], btw.scores[p], centrality.normalised(btw.scores[p], n)) for p in persons]
    return scores, n, sum(len(v) for v in adj.values()) // 2, btw.approximate


def ordered(scores: list[Score], order_by: Literal["betweenness", "degree"]) -> list[Score]:
    """Best first: by betweenness then degree, or by degree then betweenness; ties by id."""
    if order_by == "degree":
        return sorted(scores, key=lambda s: (-s[1], -s[2], s[0]))
    return sorted(scores, key=lambda s: (-s[2], -s[1], s[0]))
