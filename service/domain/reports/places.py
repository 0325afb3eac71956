"""The département of a public report: from its point, inside the outline the map already ships
(`service/ui/static/data/france-departements.geojson`, INSEE codes and names), or from a French
postcode in its address text."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

OUTLINE = Path(__file__).resolve().parents[2] / "ui" / "static" / "data" / "france-departements.geojson"
POSTCODE = re.compile(r"(?<!\d)(\d{5})(?!\d)")

Ring = list[tuple[float, float]]


@lru_cache(maxsize=1)
def _outline() -> list[tuple[str, tuple[float, float, float, float], list[Ring]]]:
    """Each département: its code, bounding box and rings ([lon, lat] points)."""
    features: list[dict[str, Any]] = orjson.loads(OUTLINE.read_bytes())["features"]
    out = []
    for feature in features:
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        rings: list[Ring] = [[(float(x), float(y)) for x, y, *_ in ring] for polygon in polygons for ring in polygon]
        xs = [x for ring in rings for x, _ in ring]
        ys = [y for ring in rings for _, y in ring]
        out.append((str(feature["properties"]["code"]), (min(xs), min(ys), max(xs), max(ys)), rings))
    return out


def _inside(lon: float, lat: float, rings: list[Ring]) -> bool:
    # Even-odd rule over every ring: holes and islands come out right without telling them apart.
    inside = False
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
    return inside


def departement_of_point(lat: float, lon: float) -> str | None:
    """The INSEE code of the département containing the point, None outside every one."""
    for code, (x0, y0, x1, y1), rings in _outline():
        if x0 <= lon <= x1 and y0 <= lat <= y1 and _inside(lon, lat, rings):
            return code
    return None


def departement_of_postcode(text: str) -> str | None:
    """The département of the first French postcode in `text`: its first two digits, three
    overseas (97x), Corsica's 20xxx as 2A (below 20200) or 2B."""
    found = POSTCODE.search(text)
    if found is None:
        return None
    code = found.group(1)
    if code.startswith("97"):
        return code[:3]
    if code.startswith("20"):
        return "2A" if int(code) < 20200 else "2B"
    return code[:2] if code[:2] != "00" else None
