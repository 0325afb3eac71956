"""Cypher, apart from the routers: one module per resource, every value a parameter."""
