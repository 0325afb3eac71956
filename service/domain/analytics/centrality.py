"""Degree and betweenness centrality on small undirected graphs, in plain Python.

Neo4j Community has no Graph Data Science library, so the key-players analysis fetches the
caller's visible subgraph with Cypher and ranks it here. Betweenness is Brandes' algorithm
(2001) for unweighted graphs: one breadth-first search per source, then dependencies
accumulated in reverse order — O(V·E). When that work exceeds a budget only a fixed, seeded
sample of sources is used and the sums are scaled up (Brandes & Pich 2007), so a large subgraph
still answers in bounded time; the result then says `approximate`.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Adjacency = dict[str, set[str]]


def undirected(edges: Iterable[tuple[str, str]], nodes: Iterable[str] = ()) -> Adjacency:
    """A simple undirected graph: parallel edges collapse, self-loops are dropped."""
    adj: Adjacency = {n: set() for n in nodes}
    for a, b in edges:
        adj.setdefault(a, set())
        adj.setdefault(b, set())
        if a != b:
            adj[a].add(b)
            adj[b].add(a)
    return adj


def degree(adj: Adjacency) -> dict[str, int]:
    """Number of distinct neighbours of each node."""
    return {v: len(ns) for v, ns in adj.items()}


def _accumulate(adj: Adjacency, source: str, bc: dict[str, float]) -> None:
    """One Brandes pass: shortest paths from `source`, dependencies added into `bc`."""
    order: list[str] = []
    preds: dict[str, list[str]] = {source: []}
    sigma: dict[str, float] = {source: 1.0}
    dist: dict[str, int] = {source: 0}
    queue: deque[str] = deque([source])
    while queue:
        v = queue.popleft()
        order.append(v)
        for w in adj[v]:
            if w not in dist:
                dist[w] = dist[v] + 1
                sigma[w] = 0.0
                preds[w] = []
                queue.append(w)
            if dist[w] == dist[v] + 1:
                sigma[w] += sigma[v]
                preds[w].append(v)
    delta: dict[str, float] = dict.fromkeys(order, 0.0)
    for w in reversed(order):
        coeff = (1.0 + delta[w]) / sigma[w]
        for v in preds[w]:
            delta[v] += sigma[v] * coeff
        if w != source:
            bc[w] += delta[w]


@dataclass(frozen=True)
class Betweenness:
    scores: dict[str, float]  # unnormalised: each unordered pair {s, t} counted once
    approximate: bool
    sources: int


def betweenness(adj: Adjacency, *, budget: int = 2_000_000, min_samples: int = 32, seed: int = 0) -> Betweenness:
    """Betweenness of every node of an undirected graph.

    Exact while the work, about nodes x (nodes + 2 x edges) steps, fits in `budget`; beyond it,
    from a seeded sample of as many sources as the budget allows (at least `min_samples`).
    """
    bc: dict[str, float] = dict.fromkeys(adj, 0.0)
    nodes: Sequence[str] = sorted(adj)
    per_source = len(nodes) + sum(len(ns) for ns in adj.values())
    approximate = len(nodes) * per_source > budget
    sources: Sequence[str] = nodes
    if approximate:
        k = min(len(nodes), max(min_samples, budget // max(per_source, 1)))
        sources = random.Random(seed).sample(list(nodes), k)
    for s in sources:
        _accumulate(adj, s, bc)
    # Each undirected pair was counted from both ends; a sample is scaled to all sources.
    scale = 0.5 * (len(nodes) / len(sources) if approximate and sources else 1.0)
    return Betweenness({v: b * scale for v, b in bc.items()}, approximate, len(sources))


def normalised(score: float, n: int) -> float:
    """Betweenness as a share of the (n-1)(n-2)/2 pairs a node could lie between."""
    pairs = (n - 1) * (n - 2) / 2
    return score / pairs if pairs > 0 else 0.0
