"""The OpenAPI document, with the error responses every operation may give, documented once.

FastAPI documents its own 422 shape (`HTTPValidationError`); ours is the common error body,
so the document is rewritten to say so — clients and schemathesis check responses against it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorResponse",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code"},
                "message": {"type": "string", "description": "What went wrong and what to do"},
                "details": {"description": "Per-item errors or context, when any"},
            },
        }
    },
}

COMMON_ERRORS = {
    "400": "Malformed request (e.g. body not JSON, missing X-Purpose)",
    "401": "Missing, expired or invalid bearer token, or unknown agency",
    "403": "The caller's roles or agency do not allow this action",
    "404": "No such item, or the caller may not know it exists",
    "413": "Body or batch over the limit",
    "415": "Unsupported content type",
    "422": "The request does not validate; details list every error",
    "503": "Neo4j unavailable; retry after the Retry-After header",
}
PUBLIC_PATHS = {"/healthz", "/readyz"}


def install_openapi(app: FastAPI) -> None:
    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = spec.setdefault("components", {})
        components.setdefault("schemas", {})["ErrorResponse"] = ERROR_SCHEMA
        components.setdefault("securitySchemes", {})["bearer"] = {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        ref = {"$ref": "#/components/schemas/ErrorResponse"}
        for path, operations in spec.get("paths", {}).items():
            for operation in operations.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                codes = ["503"] if path in PUBLIC_PATHS else list(COMMON_ERRORS)
                for code in codes:
                    existing = responses.get(code, {})
                    responses[code] = {
                        "description": existing.get("description") or COMMON_ERRORS[code],
                        "content": {"application/json": {"schema": ref}},
                    }
                if path not in PUBLIC_PATHS:
                    operation["security"] = [{"bearer": []}]
        for name in ("HTTPValidationError", "ValidationError"):
            components["schemas"].pop(name, None)
        app.openapi_schema = spec
        return spec

    app.openapi = custom_openapi  # type: ignore[method-assign]
