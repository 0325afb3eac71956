"""The annual threat assessment ("état de la menace", measure 4 of the national plan).

A year against the one before: seizures by drug, method and département; networks by kind and
territory; cross-agency overlaps found (alerts by kind); priority targets by status at the end of
the year; asset recovery steps; deal points by département. Aggregates only (the statements are in
`service.queries.threat_assessment`), rendered as a self-contained printable HTML page whose
charts are inline SVG: no script, no external resource.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from typing import Any

from neo4j import AsyncManagedTransaction

from service.access.auth import Principal
from service.access.visibility import viewer_params
from service.core.db import Database
from service.core.errors import ApiError
from service.queries import threat_assessment as q

Rows = dict[str, list[dict[str, Any]]]


@dataclass
class Year:
    """One year's figures, each a Counter by group key."""

    year: int
    seizures_by_drug: Counter[str] = field(default_factory=Counter)
    kg_by_drug: Counter[str] = field(default_factory=Counter)
    seizures_by_method: Counter[str] = field(default_factory=Counter)
    seizures_by_department: Counter[str] = field(default_factory=Counter)
    networks_by_kind: Counter[str] = field(default_factory=Counter)
    networks_by_department: Counter[str] = field(default_factory=Counter)
    alerts_by_kind: Counter[str] = field(default_factory=Counter)
    targets_by_status: Counter[str] = field(default_factory=Counter)
    assets_by_step: Counter[str] = field(default_factory=Counter)
    value_by_step: Counter[str] = field(default_factory=Counter)
    deal_points_by_department: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_rows(cls, year: int, rows: Rows) -> Year:
        y = cls(year)
        for r in rows["seizures"]:
            y.seizures_by_drug[r["drug"]] += r["seizures"]
            y.kg_by_drug[r["drug"]] += r["quantity_kg"]
            y.seizures_by_method[r["method"]] += r["seizures"]
            y.seizures_by_department[r["department"]] += r["seizures"]
        for r in rows["networks"]:
            y.networks_by_kind[r["kind"]] += r["networks"]
            y.networks_by_department[r["department"]] += r["networks"]
        y.alerts_by_kind.update({r["kind"]: r["alerts"] for r in rows["alerts"]})
        y.targets_by_status.update({r["status"]: r["targets"] for r in rows["priority_targets"]})
        for r in rows["assets"]:
            y.assets_by_step[r["step"]] += r["assets"]
            y.value_by_step[r["step"]] += r["value_eur"]
        y.deal_points_by_department.update({r["department"]: r["deal_points"] for r in rows["deal_points"]})
        return y


@dataclass
class Assessment:
    year: Year
    previous: Year
    statistics_count_all: bool
    generated_at: str


async def fetch(db: Database, principal: Principal, count_all: bool, year: int, generated_at: str) -> Assessment:
    """Both years' aggregates, read in one transaction (one consistent view of the graph)."""

    async def work(tx: AsyncManagedTransaction) -> tuple[Rows, Rows]:
        async def one(y: int) -> Rows:
            params = {"viewer": viewer_params(principal), "count_all": count_all,
                      "since": dt.date(y, 1, 1).isoformat(), "next": dt.date(y + 1, 1, 1).isoformat()}
            return {name: [r.data() async for r in await tx.run(statement, params)]
                    for name, statement in q.STATEMENTS.items()}

        return await one(year), await one(year - 1)

    current, previous = await db.read(work)
    return Assessment(Year.from_rows(year, current), Year.from_rows(year - 1, previous), count_all, generated_at)


# --- rendering -----------------------------------------------------------------------------------

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1b1f24; margin: 2rem auto; max-width: 60rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ccd; }
.meta { color: #555; } table { border-collapse: collapse; margin: 0.6rem 0 1rem; }
th, td { padding: 0.2rem 0.7rem; border-bottom: 1px solid #e3e6ea; text-align: right; }
th:first-child, td:first-child { text-align: left; } .up, .down { font-weight: 600; }
svg .label, svg .value { font-size: 12px; fill: #1b1f24; } svg .chart-title { font-weight: 600; font-size: 13px; }
svg .now { fill: #2f5d8a; } svg .before { fill: #b7c6d6; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } figure, table { break-inside: avoid; } }
"""


def svg_compared(title: str, rows: list[tuple[str, float, float]], labels: tuple[str, str], width: int = 640) -> str:
    """Horizontal bars, two per group (this year, the previous one), as inline SVG; escaped text."""
    pair, label_w, top = 34, 190, 44
    height = top + pair * max(len(rows), 1) + 8
    peak = max((max(a, b) for _, a, b in rows), default=0) or 1
    bar_max = width - label_w - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<text x="0" y="16" class="chart-title">{escape(title)}</text>',
             f'<rect x="{label_w}" y="24" width="10" height="10" class="now"/>'
             f'<text x="{label_w + 14}" y="33" class="label">{escape(labels[0])}</text>'
             f'<rect x="{label_w + 80}" y="24" width="10" height="10" class="before"/>'
             f'<text x="{label_w + 94}" y="33" class="label">{escape(labels[1])}</text>']
    if not rows:
        parts.append(f'<text x="0" y="{top + 16}" class="label">nothing recorded</text>')
    for i, (label, now, before) in enumerate(rows):
        y = top + i * pair
        parts.append(f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end" class="label">'
                     f'{escape(label[:36])}</text>')
        for j, (value, css) in enumerate(((now, "now"), (before, "before"))):
            w = max(round(bar_max * value / peak), 1 if value else 0)
            yy = y + 2 + j * 14
            parts.append(f'<rect x="{label_w}" y="{yy}" width="{w}" height="12" class="{css}">'
                         f'<title>{escape(label)}: {_n(value)}</title></rect>'
                         f'<text x="{label_w + w + 5}" y="{yy + 11}" class="value">{_n(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _n(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ") if float(value).is_integer() else f"{value:,.1f}".replace(",", " ")


def _change(now: float, before: float) -> str:
    if not before:
        return "new" if now else "—"
    pct = (now - before) / before * 100
    css = "up" if pct > 0 else "down" if pct < 0 else ""
    return f'<span class="{css}">{pct:+.0f} %</span>'


def _section(title: str, now: Counter[str], before: Counter[str], years: tuple[str, str], unit: str = "",
             limit: int = 20) -> str:
    keys = sorted(set(now) | set(before), key=lambda k: (-now[k], -before[k], k))[:limit]
    rows = [(k, float(now[k]), float(before[k])) for k in keys]
    table = "".join(f"<tr><td>{escape(k)}</td><td>{_n(a)}</td><td>{_n(b)}</td><td>{_change(a, b)}</td></tr>"
                    for k, a, b in rows)
    return (f"<figure>{svg_compared(title + (f' ({unit})' if unit else ''), rows, years)}</figure>"
            f"<table><thead><tr><th>{escape(title)}</th><th>{escape(years[0])}</th><th>{escape(years[1])}</th>"
            f"<th>change</th></tr></thead><tbody>{table}</tbody></table>")


def render_html(a: Assessment) -> str:
    """The report as one printable HTML page (inline CSS and SVG only)."""
    now, before = a.year, a.previous
    years = (str(now.year), str(before.year))
    rule = ("Every item counts, whichever agency holds it and however it is shared (the access policy's "
            "statistics rule): a count reveals no content." if a.statistics_count_all else
            "Only items the reader's agency sees in full are counted (the access policy's statistics rule).")
    totals = [("Seizures", sum(now.seizures_by_drug.values()), sum(before.seizures_by_drug.values())),
              ("Drugs seized (kg)", round(sum(now.kg_by_drug.values()), 1), round(sum(before.kg_by_drug.values()), 1)),
              ("Networks known", sum(now.networks_by_kind.values()), sum(before.networks_by_kind.values())),
              ("Cross-agency alerts", sum(now.alerts_by_kind.values()), sum(before.alerts_by_kind.values())),
              ("Assets seized (EUR)", now.value_by_step["seized"], before.value_by_step["seized"]),
              ("Assets confiscated (EUR)", now.value_by_step["confiscated"], before.value_by_step["confiscated"]),
              ("Deal points known", sum(now.deal_points_by_department.values()),
               sum(before.deal_points_by_department.values()))]
    head = "".join(f"<tr><td>{escape(t)}</td><td>{_n(x)}</td><td>{_n(y)}</td><td>{_change(x, y)}</td></tr>"
                   for t, x, y in totals)
    body = [
        f"<h1>Threat assessment {now.year}</h1>",
        f'<p class="meta">État de la menace liée aux trafics de stupéfiants — {now.year} against {before.year}. '
        f"Generated {escape(a.generated_at)} by ofast-graph. {escape(rule)} Aggregates only: no person, "
        f"case or place is named.</p>",
        "<h2>Summary</h2>",
        f"<table><thead><tr><th></th><th>{years[0]}</th><th>{years[1]}</th><th>change</th></tr></thead>"
        f"<tbody>{head}</tbody></table>",
        "<h2>Seizures</h2>",
        _section("Seizures by drug", now.seizures_by_drug, before.seizures_by_drug, years),
        _section("Quantity by drug", Counter({k: round(v, 1) for k, v in now.kg_by_drug.items()}),
                 Counter({k: round(v, 1) for k, v in before.kg_by_drug.items()}), years, unit="kg"),
        _section("Seizures by method", now.seizures_by_method, before.seizures_by_method, years),
        _section("Seizures by département", now.seizures_by_department, before.seizures_by_department, years),
        "<h2>Networks</h2>",
        _section("Networks by kind", now.networks_by_kind, before.networks_by_kind, years),
        _section("Networks by département", now.networks_by_department, before.networks_by_department, years),
        "<h2>Cross-agency overlaps found</h2>",
        "<p>Alerts raised by deconfliction in the year, by kind (an overlap alerts each agency concerned).</p>",
        _section("Alerts by kind", now.alerts_by_kind, before.alerts_by_kind, years),
        "<h2>Priority targets</h2>",
        _section("Targets by status at year end", now.targets_by_status, before.targets_by_status, years),
        "<h2>Criminal assets</h2>",
        "<p>Recovery steps taken in the year (an asset seized one year and confiscated the next counts in each).</p>",
        _section("Assets by step", now.assets_by_step, before.assets_by_step, years),
        _section("Value by step", now.value_by_step, before.value_by_step, years, unit="EUR"),
        "<h2>Deal points</h2>",
        _section("Deal points by département", now.deal_points_by_department, before.deal_points_by_department, years),
    ]
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Threat assessment {now.year}</title><style>{_CSS}</style></head><body>"
            + "".join(body) + "</body></html>")


def _no_fetch(url: str, *args: object, **kwargs: object) -> dict[str, object]:
    # The report is self-contained (inline CSS and SVG): the renderer fetches nothing, anywhere.
    raise ValueError(f"the threat assessment loads no resource ({url})")


def render_pdf(html: str) -> bytes:
    """The HTML report as PDF, rendered by WeasyPrint (no browser). WeasyPrint needs the system's
    Pango; without it the PDF is unavailable (501), the HTML still is."""
    try:
        import weasyprint
    except OSError as exc:  # the library is installed but a system library it loads is missing
        raise ApiError(501, "pdf_unavailable", "this server cannot render PDF (WeasyPrint needs Pango); "
                                               "ask for the HTML and print it from a browser") from exc
    pdf: bytes = weasyprint.HTML(string=html, url_fetcher=_no_fetch).write_pdf()
    return pdf

