"""GET /v1/reports/threat-assessment: the annual threat assessment (measure 4), as printable HTML.

The central agency's analysts only (permission `assess_threat` on an OFAST token). The figures and
their statements: `service.domain.threat.assessment`, `service.queries.threat_assessment`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from service.access.auth import Principal, require
from service.access.policy import Policy
from service.api.deps import get_db, get_policy
from service.api.openapi import errors
from service.core import clock
from service.core.db import Database
from service.core.errors import ApiError
from service.domain.threat import assessment

router = APIRouter(prefix="/v1/reports", tags=["reports"])

FIRST_YEAR = 2000


@router.get("/threat-assessment", response_class=Response, responses={
    **errors({403: "Not an analyst of the central agency (permission `assess_threat` on a central token)",
              422: "`year` is not a year between 2000 and next year"}),
    501: {"description": "`format=pdf` on a server without the system library PDF rendering needs (Pango)"},
    200: {"content": {"text/html": {}, "application/pdf": {}},
          "description": "A printable HTML report with inline SVG charts, or the same as PDF"}})
async def threat_assessment(
    request: Request,
    year: int = Query(..., description="The year assessed, against the one before (e.g. 2026)"),
    format: Literal["html", "pdf"] = Query("html", description="`html` (default) or `pdf` (rendered by the server)"),
    principal: Principal = Depends(require("assess_threat")),
    db: Database = Depends(get_db),
    policy: Policy = Depends(get_policy),
) -> Response:
    """The year's threat assessment against the previous year, as one printable HTML page.

    Seizures by drug, method and département; networks by kind and département; cross-agency
    overlaps found (alerts raised, by kind); priority targets by status at the end of each year;
    asset recovery steps (identified, seized, confiscated, released) with their value; deal
    points by département. Aggregates only, counted under the policy's statistics rule
    (`statistics_count_all`): no person, case, place or free text appears. Charts are inline SVG;
    the page loads nothing else. `format=pdf` renders the same page as PDF on the server
    (WeasyPrint, no browser). Audited.
    """
    if not principal.is_central:
        raise ApiError(403, "central_agency_only",
                       "the threat assessment is drawn up by the central agency's analysts only")
    if not FIRST_YEAR <= year <= dt.date.today().year + 1:
        raise ApiError(422, "invalid_year", f"year must be between {FIRST_YEAR} and {dt.date.today().year + 1}",
                       [{"loc": ["query", "year"], "message": "out of range", "type": "value_error"}])
    report = await assessment.fetch(db, principal, policy.statistics_count_all, year, clock.iso_now())
    await request.app.state.audit.record(principal, "report.threat_assessment", target_ids=[],
                                         result_count=sum(report.year.seizures_by_drug.values()),
                                         purpose=f"threat assessment {year}")
    html = assessment.render_html(report)
    if format == "pdf":
        pdf = await asyncio.to_thread(assessment.render_pdf, html)  # CPU-bound: off the event loop
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="threat-assessment-{year}.pdf"'})
    return Response(html, media_type="text/html; charset=utf-8", headers={
        # Self-contained: forbid any script or external fetch if it is opened in a browser.
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    })
