"""The schema page of the docs, rendered from schema.yaml."""

from __future__ import annotations

from graph_schema import get_schema
from graph_schema.model import NodeType, Property, RelationshipType


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
            out += _cross_rules(node)
            for prop, steps in node.progression.items():
                path = " → ".join(" or ".join(f"`{v}`" for v in step) for step in steps)
                out.append(f"- A stored `{prop}` only moves forward: {path}, an absent one read as the first "
                           "(else 422; the same again is unchanged).")
            if node.date_order or node.exclusive or node.progression:
                out.append("")
    out += ["## Relationships", ""]
    for rel in schema.relationships.values():
        pairs = ", ".join(f"{a}→{b}" for a, b in sorted(rel.pairs))
        out += [f"### {rel.name}", "", *_paragraph(rel.description), f"Allowed pairs: {pairs}", ""]
        if rel.properties:
            out += ["| property | type | notes |", "| --- | --- | --- |"]
            out += [_prop(p) for p in rel.properties.values()]
            out.append("")
        if rel.date_order or rel.exclusive:
            out += [*_cross_rules(rel), ""]
    out += _events()
    return "\n".join(out)


def _cross_rules(item: NodeType | RelationshipType) -> list[str]:
    out = [f"- In order where given: {' ≤ '.join(f'`{q}`' for q in seq)} (else 422)." for seq in item.date_order]
    return out + [f"- At most one of {', '.join(f'`{q}`' for q in group)} (else 422)." for group in item.exclusive]


def _events() -> list[str]:
    schema = get_schema()
    out = ["## Events (`POST /v1/events`)", "",
           "Owned like links (owner, sharing, codes); one `(:Event:<label>)` node each, naming its parties",
           "by id (`<party>_id`) and its time `at` (UTC), found by indexes on (party id, at).", ""]
    for event in schema.events.values():
        time = "ISO 8601 date-time with an offset" + (", or a date (00:00 UTC)" if event.at == "datetime_or_date"
                                                      else "")
        out += [f"### {event.name} (`:{event.label}`)", "", *_paragraph(event.description),
                f"`at`: {time}." + (f" Aggregated as `{event.aggregate}` links." if event.aggregate else ""), "",
                "| field | type | notes |", "| --- | --- | --- |"]
        for party in event.parties.values():
            shape = "{type, ref}" if party.form == "end" else "value"
            kind = f"{' or '.join(party.types)} ({shape}{', required' if party.required else ''})"
            out.append(f"| `{party.name}` | {kind} | {party.description} (stored as `{party.stored_as}`) |")
        if event.place:
            place = event.place
            fields = ", ".join(["ref", *place.properties])
            out.append(f"| `{place.field}` | Location `{place.kind}` ({fields}{', required' if place.required else ''})"
                       f" | {place.description} (stored as `place_id`, `place_ref`) |")
        for p in event.properties.values():
            kind = f"enum: {', '.join(p.values)}" if p.type == "enum" else p.type
            out.append(f"| `{p.name}` | {kind}{', required' if p.name in event.required else ''} | {p.description} |")
        out.append("")
    return out
