"""CSV and printable HTML renderings of the priority target list (measures 4 and 17).

Both take the entries exactly as the API returns them to the caller (`TargetOut` dumps): what
the caller may see was decided in Cypher, so nothing here filters. The HTML report is
self-contained — inline CSS and server-side SVG bar charts, no script, no external resource —
so that it prints and archives as it is for the annual threat assessment.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from html import escape
from typing import Any

CSV_COLUMNS = (
    "id", "status", "tier", "proposed_tier", "entity_type", "entity_id", "entity_label", "entity_redacted",
    "entity_hidden", "lead_agency", "lead_unit", "territories", "review_due", "overdue", "last_reviewed_at",
    "neutralised_at", "neutralised_case_ref", "proposed_by_agency", "justification", "version",
    "created_at", "updated_at",
)
TIER_LABELS = {1: "Tier 1", 2: "Tier 2", 3: "Tier 3"}
STATUS_ORDER = ("proposed", "active", "suspended", "neutralised", "archived", "rejected")
NO_TERRITORY = "(no visible territory)"
HIDDEN_LABEL = "(confidential to another agency)"
REDACTED_LABEL = "(restricted)"


def entity_label(entry: dict[str, Any]) -> str:
    """A person's name or a network's name when visible; a marker for stubs and hidden entities."""
    entity = entry.get("entity")
    if entry.get("entity_hidden") or not entity:
        return HIDDEN_LABEL
    if entity.get("redacted"):
        return REDACTED_LABEL
    props = entity.get("properties") or {}
    if entity.get("type") == "Person":
        name = " ".join(p for p in (props.get("first_name"), props.get("last_name")) if p)
        return name or str(entity.get("ref") or entity.get("id"))
    return str(props.get("name") or entity.get("ref") or entity.get("id"))


def _cell(value: Any) -> str:
    """Spreadsheet-safe text: a leading =, +, - or @ would run as a formula in Excel/LibreOffice."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    text = str(value)
    if text and text[0] in "=+-@\t\r":
        text = "'" + text
    return text


def csv_row(entry: dict[str, Any]) -> list[str]:
    entity = entry.get("entity") or {}
    values = {
        **entry,
        "entity_label": entity_label(entry),
        "entity_redacted": bool(entity.get("redacted")),
        "proposed_by_agency": (entry.get("proposed_by") or {}).get("agency"),
    }
    return [_cell(values.get(col)) for col in CSV_COLUMNS]


def render_csv(entries: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        writer.writerow(csv_row(entry))
    return out.getvalue()


# --- HTML --------------------------------------------------------------------------------------


def counts(entries: list[dict[str, Any]]) -> dict[str, list[tuple[str, int]]]:
    """The report's four breakdowns, in a stable, readable order."""
    by_tier = Counter(TIER_LABELS.get(e.get("tier") or 0, "No tier yet") for e in entries)
    by_status = Counter(str(e.get("status")) for e in entries)
    by_lead = Counter(str(e.get("lead_agency") or "(none yet)") for e in entries)
    by_territory: Counter[str] = Counter()
    for e in entries:
        for territory in e.get("territories") or [NO_TERRITORY]:
            by_territory[territory] += 1
    tiers = [(label, by_tier[label]) for label in (*TIER_LABELS.values(), "No tier yet") if by_tier[label]]
    statuses = [(s, by_status[s]) for s in STATUS_ORDER if by_status[s]]
    return {
        "tier": tiers,
        "status": statuses,
        "lead_agency": sorted(by_lead.items(), key=lambda kv: (-kv[1], kv[0])),
        "territory": sorted(by_territory.items(), key=lambda kv: (-kv[1], kv[0])),
    }


def svg_bars(title: str, data: list[tuple[str, int]], width: int = 560) -> str:
    """A horizontal bar chart as inline SVG; labels and values are escaped text."""
    row, label_w, top = 24, 200, 30
    height = top + row * max(len(data), 1) + 10
    peak = max((n for _, n in data), default=0) or 1
    bar_max = width - label_w - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f'<title>{escape(title)}</title>',
        f'<text x="0" y="18" class="chart-title">{escape(title)}</text>',
    ]
    if not data:
        parts.append(f'<text x="0" y="{top + 16}" class="label">no entries</text>')
    for i, (label, n) in enumerate(data):
        y = top + i * row
        w = max(round(bar_max * n / peak), 1)
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" class="label">'
                     f'{escape(label[:40])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row - 8}" class="bar">'
                     f'<title>{escape(label)}: {n}</title></rect>')
        parts.append(f'<text x="{label_w + w + 6}" y="{y + 16}" class="value">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


_STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 2em; color: #111; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.meta { color: #555; font-size: 0.9em; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; }
.chart-title { font-size: 14px; font-weight: bold; fill: #111; }
.label, .value { font-size: 12px; fill: #222; }
.bar { fill: #1f4e79; }
table { border-collapse: collapse; width: 100%; font-size: 0.85em; }
th, td { border: 1px solid #bbb; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #eee; }
.hidden { color: #777; font-style: italic; }
.overdue { color: #a00; font-weight: bold; }
@media print { body { margin: 1cm; } .charts { page-break-inside: avoid; } tr { page-break-inside: avoid; } }
"""


def _td(value: Any, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f"<td{cls}>{escape('' if value is None else str(value))}</td>"


def render_html(entries: list[dict[str, Any]], *, viewer_agency: str, generated_at: str,
                filters: dict[str, Any]) -> str:
    breakdown = counts(entries)
    charts = "".join(
        f'<figure>{svg_bars(title, breakdown[key])}</figure>'
        for key, title in (("tier", "Entries by tier"), ("status", "Entries by status"),
                           ("lead_agency", "Entries by lead agency"), ("territory", "Entries by territory"))
    )
    filter_text = ", ".join(f"{k} = {v}" for k, v in sorted(filters.items())) or "none"
    rows = []
    for e in entries:
        label = entity_label(e)
        hidden = e.get("entity_hidden") or (e.get("entity") or {}).get("redacted")
        rows.append(
            "<tr>" + _td(e.get("tier") or "—") + _td(e.get("status"))
            + _td(label, "hidden" if hidden else "") + _td(e.get("entity_type") or "")
            + _td(e.get("lead_agency") or "") + _td(e.get("lead_unit") or "")
            + _td("; ".join(e.get("territories") or []))
            + _td(e.get("review_due") or "", "overdue" if e.get("overdue") else "")
            + _td(e.get("neutralised_at") or "") + _td(e.get("updated_at", "")[:10]) + "</tr>"
        )
    table = (
        "<table><thead><tr><th>Tier</th><th>Status</th><th>Target</th><th>Type</th><th>Lead agency</th>"
        "<th>Lead unit</th><th>Territories</th><th>Review due</th><th>Neutralised</th><th>Updated</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    ) if rows else "<p>No entry matches.</p>"
    overdue = sum(1 for e in entries if e.get("overdue"))
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>National priority targets — threat assessment report</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>National priority target list</h1>"
        "<p class=\"meta\">Report for the annual threat assessment (measure 4 of the national plan). "
        f"Generated {escape(generated_at)} for agency {escape(viewer_agency)}; filters: {escape(filter_text)}. "
        "Entities hidden from this agency are counted but not named.</p>"
        f"<p><strong>{len(entries)}</strong> entries, <strong>{overdue}</strong> overdue for review.</p>"
        f"<h2>Breakdown</h2><div class=\"charts\">{charts}</div>"
        f"<h2>Entries</h2>{table}</body></html>"
    )
