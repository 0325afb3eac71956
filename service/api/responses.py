"""The JSON response the routers build themselves (`return JSONResponse(...)`), rendered by orjson.

Routes that return plain dicts keep FastAPI's own serialisation. Same bytes as Starlette's
`JSONResponse` for our values (UTF-8, compact), much faster: with the standard library's encoder,
rendering a large result is a visible share of the request's time outside Neo4j.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse as _StarletteJSONResponse


class JSONResponse(_StarletteJSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
