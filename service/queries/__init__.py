"""Cypher, apart from the routers: one module per resource, every value a parameter."""

# The statements every ingest batch runs (its upserts and hooks) start with this: Neo4j keeps
# their first plan instead of replanning them whenever the graph's statistics moved — every 10 s
# while a graph grows from empty (the demo, a first import, the benchmarks), at 100-600 ms of
# planning each on a 2-core machine, more than running one on a 2,000-item batch. Each is anchored
# on unique or indexed lookups (`Node {id}`, `LookupMemory {identifier_id}`, `Watch {target_id}`,
# `Person (birth_date, owner_agency)`): `EXPLAIN` gives the same plan on an empty graph as on a
# loaded one, so the first plan is as good as a fresh one. A restart plans them anew.
# Not the link upserts (`service.queries.ingest.upsert_links`): planned on an empty graph, their
# MERGE seeks the link in its type's `id` index instead of expanding between its two ends, and
# that plan, kept, made a volume ingest about ten times slower than a replanned one.
FIRST_PLAN = "CYPHER replan=skip"
