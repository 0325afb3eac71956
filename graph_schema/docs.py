"""The schema page of the docs, rendered from schema.yaml."""

from __future__ import annotations

from graph_schema import get_schema
from graph_schema.model import Property


def _prop(p: Property) -> str:
    kind = f"enum: {', '.join(p.values)}" if p.type == "enum" else p.type
    return f"| `{p.name}` | {kind} | {p.description} |"


def _paragraph(text: str) -> list[str]:
    return [text, ""] if text else []


def render_markdown() -> str:
    schema = get_schema()
    out = ["# Graph schema", "",
           "Generated from `graph_schema/schema.yaml` by `ofast-graph schema-docs`; do not edit.", "",
           "Below, each type's own properties. What every entity, identifier and relationship carries besides",
           "(id, owner agency, sharing level, evaluation and handling codes, dates, version) is in",
           "[architecture.md](architecture.md#storage-model).", ""]
    for kind, title in (("entity", "Owned entities"), ("identifier", "Identifiers (merge keys, no owner)")):
        out += [f"## {title}", ""]
        for node in schema.nodes.values():
            if node.kind != kind:
                continue
            out += [f"### {node.name}", "", *_paragraph(node.description)]
            if node.normaliser:
                out += [f"Keyed by its value, normalised by `{node.normaliser}`.", ""]
            if node.properties:
                out += ["| property | type | notes |", "| --- | --- | --- |"]
                out += [_prop(p) for p in node.properties.values()]
                out.append("")
    out += ["## Relationships", ""]
    for rel in schema.relationships.values():
        pairs = ", ".join(f"{a}→{b}" for a, b in sorted(rel.pairs))
        out += [f"### {rel.name}", "", *_paragraph(rel.description), f"Allowed pairs: {pairs}", ""]
        if rel.properties:
            out += ["| property | type | notes |", "| --- | --- | --- |"]
            out += [_prop(p) for p in rel.properties.values()]
            out.append("")
    return "\n".join(out)
