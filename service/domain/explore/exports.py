"""Exports of a neighbourhood or path result: GraphML (Gephi, i2) and FollowTheMoney JSON lines (Aleph).

Both are built from the API result the caller already received — the nodes and edges laid out
by `service.api.views` after the Cypher applied the visibility rules — so an export can never show
more than the JSON response. Stubs (restricted items of other agencies) keep their id, type,
owner agency and contact and nothing else.

GraphML: one `<node>` per node and one `<edge>` per edge, with attributes `type`, `label`,
`owner_agency`, `redacted`, `sharing`, `contact` (stubs), `value` (identifiers), then every
schema property as `p_<name>` (lists joined with "; ") — only present on items seen in full.

FollowTheMoney (v4), one entity per line, by the correspondence `graph_schema.ftm` declares for
the import too (names and summaries are the export's own):

| ofast-graph | FtM schema | properties |
| --- | --- | --- |
| Person | Person | firstName, lastName, name, alias, birthDate, nationality |
| Company | Company | name, registrationNumber, jurisdiction |
| Network | Organization | name, summary (kind), address (territory) |
| Case | CourtCase | name (title or reference), caseNumber, fileDate, status, court |
| Seizure | Event | name, date, address (place), summary (drug, quantity, method) |
| Asset | Asset | name (label), amountEur, summary (kind, status) |
| Location | Address | full (label), latitude, longitude, summary (kind) |
| Phone | UserAccount | phone, service "phone" |
| Email | UserAccount | email, service "email" |
| BankAccount | BankAccount | iban when it parses as one, else accountNumber |
| Vehicle | Vehicle | registrationNumber, type |
| CryptoWallet | CryptoWallet | publicKey |

Relationships become FtM interval entities: MEMBER_OF → Membership (member, organization,
role); OWNS and HOLDS → Ownership (owner, asset, percentage from `share`, startDate / endDate
from `since` / `until`); CONTROLS → Directorship (director, organization, role, startDate /
endDate); ASSOCIATE_OF → Associate (person, associate,
relationship); TRANSFERRED between bank accounts → Payment (payerAccount, beneficiaryAccount,
amountEur, date); every other relationship → UnknownLink (subject, object, role = the
relationship type). A relationship whose ends FtM cannot type that way (an OWNS of a Network,
which FtM's Ownership accepts, or a TRANSFERRED to a wallet) falls back to UnknownLink.

Stubs are exported as an entity of the mapped schema carrying only its id and a note
("redacted — held by <agency>; contact: <contact>"); redacted relationships likewise keep only
their two ends and a note. Never a value.

Evaluation and handling codes travel with the items: GraphML attributes `reliability`,
`accuracy`, `handling`, `handling_notice`, `handling_note` (stubs: `handling` and its notice
only); in FtM, the item's `notes` (relationships: `description`) carry "evaluation B2; H1: …".
An export is a dissemination: one that would carry an item coded H2 that the caller's agency
does not own is refused as a whole (`service.access.handling`, 403) — stubs included.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from followthemoney import model
from followthemoney.proxy import EntityProxy

from graph_schema.ftm import LINKS as FTM_LINKS
from graph_schema.ftm import NODES as FTM_NODES
from graph_schema.ftm import UNKNOWN_LINK, FtmLink
from service.access import handling

GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
# Characters XML 1.0 cannot carry at all, even escaped: dropped from exported text.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")



def _clean(value: Any) -> str:
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value if v is not None)
    elif isinstance(value, bool):
        value = "true" if value else "false"
    return _XML_ILLEGAL.sub("", str(value))


def _label(node: dict[str, Any]) -> str:
    if node.get("redacted"):
        return f"{node['type']} (redacted, {node.get('owner_agency')})"
    if "value" in node:
        return str(node.get("value") or "")
    props = node.get("properties") or {}
    for key in ("name", "label", "title", "reference", "place"):
        if props.get(key):
            return str(props[key])
    names = [props.get("first_name"), props.get("last_name")]
    return " ".join(n for n in names if n) or str(node.get("ref") or node["id"])


CODE_ATTRS = ("reliability", "accuracy", "handling", "handling_notice", "handling_note")


def refuse_h2(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], agency: str) -> None:
    """Refuse (403 `handling_h2`) an export that would carry another agency's H2 item, in full or as
    a stub: an export is a dissemination, and H2 allows none without the owner's consent."""
    handling.refuse_h2([*nodes, *edges], agency, "export", "ask their owners, or use the JSON view")


def _codes_text(item: dict[str, Any]) -> str | None:
    parts = []
    if item.get("reliability") and not item.get("redacted"):
        parts.append(f"evaluation {item['reliability']}{item.get('accuracy') or ''}")
    if item.get("handling_notice"):
        parts.append(str(item["handling_notice"]))
    if item.get("handling_note") and not item.get("redacted"):
        parts.append(f"handling note: {item['handling_note']}")
    return "; ".join(parts) or None


def _attrs(item: dict[str, Any], attrs: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """`attrs`, then the item's `keys` that have a value, then its properties unless it is a stub."""
    attrs |= {key: item[key] for key in keys if item.get(key) is not None}
    if not item.get("redacted"):
        attrs |= {f"p_{key}": value for key, value in (item.get("properties") or {}).items() if value is not None}
    return attrs


def _node_attrs(node: dict[str, Any]) -> dict[str, Any]:
    return _attrs(node, {"type": node["type"], "label": _label(node), "redacted": bool(node.get("redacted"))},
                  ("owner_agency", "sharing", "contact", "value", "ref", *CODE_ATTRS))


def _edge_attrs(edge: dict[str, Any]) -> dict[str, Any]:
    return _attrs(edge, {"type": edge["type"], "redacted": bool(edge.get("redacted"))},
                  ("owner_agency", "sharing", *CODE_ATTRS))


def _graphml_type(values: Iterable[Any]) -> str:
    vals = [v for v in values if v is not None]
    if vals and all(isinstance(v, bool) for v in vals):
        return "boolean"
    if vals and all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
        return "double"
    return "string"


def to_graphml(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> str:
    """A GraphML document of the visible result; ElementTree escapes every text and attribute."""
    ET.register_namespace("", GRAPHML_NS)
    root = ET.Element(f"{{{GRAPHML_NS}}}graphml")
    node_attrs = [(n["id"], _node_attrs(n)) for n in nodes]
    edge_attrs = [(e, _edge_attrs(e)) for e in edges]
    keys: dict[tuple[str, str], str] = {}
    for domain, items in (("node", [a for _, a in node_attrs]), ("edge", [a for _, a in edge_attrs])):
        names: dict[str, list[Any]] = {}
        for attrs in items:
            for name, value in attrs.items():
                names.setdefault(name, []).append(value)
        for name, values in names.items():
            key_id = f"{domain[0]}_{name}"
            keys[(domain, name)] = key_id
            ET.SubElement(root, f"{{{GRAPHML_NS}}}key", {
                "id": key_id, "for": domain, "attr.name": name, "attr.type": _graphml_type(values)})
    graph = ET.SubElement(root, f"{{{GRAPHML_NS}}}graph", {"id": "G", "edgedefault": "directed"})

    def data(parent: ET.Element, domain: str, attrs: dict[str, Any]) -> None:
        for name, value in attrs.items():
            el = ET.SubElement(parent, f"{{{GRAPHML_NS}}}data", {"key": keys[(domain, name)]})
            el.text = _clean(value)

    for node_id, attrs in node_attrs:
        data(ET.SubElement(graph, f"{{{GRAPHML_NS}}}node", {"id": node_id}), "node", attrs)
    for edge, attrs in edge_attrs:
        el = ET.SubElement(graph, f"{{{GRAPHML_NS}}}edge",
                           {"id": str(edge["id"]), "source": edge["source"], "target": edge["target"]})
        data(el, "edge", attrs)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _redacted_note(item: dict[str, Any]) -> str:
    note = f"redacted — held by {item.get('owner_agency')}"
    if item.get("contact"):
        note += f"; contact: {item['contact']}"
    return note


def _summary(*parts: tuple[str, Any]) -> str | None:
    text = ", ".join(f"{k}: {v}" for k, v in parts if v is not None)
    return text or None


def _ftm_schema(type_: str) -> str:
    mapping = FTM_NODES.get(type_)
    return mapping.schema if mapping is not None else "Thing"


def _fill_node(proxy: EntityProxy, node: dict[str, Any]) -> None:
    mapping = FTM_NODES.get(node["type"])
    if mapping is None:
        return
    p = node.get("properties") or {}
    for ours, theirs in mapping.properties.items():
        proxy.add(theirs, p.get(ours), quiet=True)
    if mapping.value:
        value = node.get("value")
        for prop in mapping.value:  # the first property that takes the value (an IBAN, else an account number)
            proxy.add(prop, value, quiet=True)
            if proxy.get(prop, quiet=True):
                break
        proxy.add("name", value, quiet=True)
    # What FtM has no property of the same meaning for: names and summaries.
    t = node["type"]
    if t == "Person":
        full = " ".join(x for x in (p.get("first_name"), p.get("last_name")) if x)
        proxy.add("name", full or None, quiet=True)
    elif t == "Network":
        proxy.add("summary", _summary(("kind", p.get("kind"))), quiet=True)
        proxy.add("address", p.get("territory"), quiet=True)
    elif t == "Case":
        proxy.add("name", p.get("title") or p.get("reference") or node.get("ref"), quiet=True)
    elif t == "Seizure":
        proxy.add("name", f"Seizure {node.get('ref') or ''}".strip(), quiet=True)
        proxy.add("summary", _summary(("drug", p.get("drug")), ("quantity", p.get("quantity")),
                                      ("unit", p.get("unit")), ("method", p.get("method"))), quiet=True)
    elif t == "Asset":
        proxy.add("summary", _summary(("kind", p.get("kind")), ("status", p.get("status"))), quiet=True)
    elif t == "Location":
        proxy.add("name", p.get("label"), quiet=True)
        proxy.add("summary", _summary(("kind", p.get("kind")), ("insee_code", p.get("insee_code"))), quiet=True)
    elif t in ("Phone", "Email"):
        proxy.add("service", t.lower(), quiet=True)


def _node_entity(node: dict[str, Any]) -> EntityProxy:
    proxy = model.make_entity(_ftm_schema(node["type"]))
    proxy.id = node["id"]
    if node.get("redacted"):
        proxy.add("notes", _redacted_note(node), quiet=True)
    else:
        _fill_node(proxy, node)
    proxy.add("notes", _codes_text(node), quiet=True)
    return proxy


def _ends_fit(link: FtmLink, edge: dict[str, Any], schemata: dict[str, str]) -> bool:
    """Whether FtM's interval schema accepts the edge's two ends as typed."""
    schema = model.get(link.schema)
    assert schema is not None
    src_p, dst_p = schema.get(link.source), schema.get(link.target)
    src_schema = model.get(schemata.get(edge["source"], "Thing"))
    dst_schema = model.get(schemata.get(edge["target"], "Thing"))
    return (src_p is not None and dst_p is not None and src_p.range is not None and dst_p.range is not None
            and src_schema is not None and dst_schema is not None
            and src_schema.is_a(src_p.range) and dst_schema.is_a(dst_p.range))


def _edge_entity(edge: dict[str, Any], schemata: dict[str, str]) -> EntityProxy:
    link = FTM_LINKS.get(edge["type"])
    if link is None or not _ends_fit(link, edge, schemata):
        link = UNKNOWN_LINK
    proxy = model.make_entity(link.schema)
    proxy.id = str(edge["id"])
    proxy.add(link.source, edge["source"])
    proxy.add(link.target, edge["target"])
    if link is UNKNOWN_LINK:
        proxy.add("role", edge["type"], quiet=True)
    proxy.add("description", _codes_text(edge), quiet=True)
    if edge.get("redacted"):
        proxy.add("description", _redacted_note(edge), quiet=True)
        return proxy
    p = edge.get("properties") or {}
    if link is UNKNOWN_LINK:
        details = _summary(*((k, v) for k, v in p.items() if v is not None))
        proxy.add("summary", details, quiet=True)
        proxy.add("date", p.get("since") or p.get("date"), quiet=True)
    for ours, theirs in link.properties.items():
        proxy.add(theirs, p.get(ours), quiet=True)
    for ours, theirs in link.percent.items():
        fraction = p.get(ours)
        proxy.add(theirs, None if fraction is None else f"{float(fraction) * 100:g}", quiet=True)
    return proxy


def to_ftm(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> str:
    """FollowTheMoney entities as JSON lines: the nodes first, then the relationships."""
    schemata = {n["id"]: _ftm_schema(n["type"]) for n in nodes}
    lines = [json.dumps(_node_entity(n).to_dict(), ensure_ascii=False, sort_keys=True) for n in nodes]
    lines += [json.dumps(_edge_entity(e, schemata).to_dict(), ensure_ascii=False, sort_keys=True) for e in edges]
    return "\n".join(lines) + ("\n" if lines else "")
