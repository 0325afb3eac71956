"""The web UI, served by the service itself under `/ui` (same origin as the API, no CDN).

`service/ui/static/` holds the application (plain ES modules, no build step) and `vendor/`, the
third-party libraries (Cytoscape.js, Chart.js, Leaflet) that `./run` installs with `npm ci` from
`service/ui/package-lock.json` and copies there. The map's département outline ships in
`static/data/`. Nothing is fetched from the internet: the Content-Security-Policy allows only
this origin.

The UI holds no data beyond what the API returns to the token it was given; the token lives in
the tab's `sessionStorage` and goes away with the tab.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

log = structlog.get_logger(__name__)

STATIC_DIR = Path(__file__).resolve().parents[2] / "ui" / "static"
VENDOR_FILES = ("cytoscape.min.js", "chart.umd.min.js", "leaflet.js", "leaflet.css", "vis-timeline-graph2d.min.js")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")


class UiFiles(StaticFiles):
    """Static files with a strict Content-Security-Policy and no caching of the app's own code."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def missing_vendor_files() -> list[str]:
    return [name for name in VENDOR_FILES if not (STATIC_DIR / "vendor" / name).is_file()]


def install_ui(app: FastAPI) -> None:
    """Mount the UI at `/ui` (index.html at `/ui/`), kept out of the OpenAPI document."""
    missing = missing_vendor_files()
    if missing:
        log.warning("ui_vendor_missing", missing=missing,
                    hint="run ./run demo or ./run test once: it installs the UI libraries with npm ci")

    async def ui_root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    app.add_api_route("/ui", ui_root, methods=["GET"], include_in_schema=False)
    app.mount("/ui", UiFiles(directory=STATIC_DIR, html=True, check_dir=False), name="ui")
