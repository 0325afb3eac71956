"""The OpenAPI document, with the error responses every operation may give, documented once.

Every operation gets the common errors (`COMMON_ERRORS`); its 403 names the permissions its
`require(...)` dependency asks for. A router declares only what its own errors mean beyond that,
with `errors({404: "…"})`. FastAPI documents its own 422 shape (`HTTPValidationError`); ours is the
common error body, so the document is rewritten to say so — clients and schemathesis check
responses against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

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
    "500": "A bug of the service, logged; `details.request_id` names the log line (do not resend as is)",
    "503": "Neo4j unavailable; retry after the Retry-After header",
}
PUBLIC_PATHS = {"/healthz", "/readyz", "/v1/reports/public"}  # no token
WRITE_METHODS = {"post", "put", "patch", "delete"}

BOOKMARK_PARAMETER: dict[str, Any] = {
    "name": "X-Neo4j-Bookmark", "in": "header", "required": False,
    "description": "Read-your-writes across replicas: the `X-Neo4j-Bookmark` values earlier write responses "
                   "carried (comma-separated, or the header repeated); the request waits until its database "
                   "server has applied those writes. A value this service did not issue is a 400 `invalid_bookmark`.",
    "schema": {"type": "string", "maxLength": 16384},
}
BOOKMARK_HEADER: dict[str, Any] = {
    "description": "When the request wrote: the bookmark of its last transaction (URL-safe; opaque). Send it "
                   "back on later requests, through any replica, to read at least what this one wrote.",
    "schema": {"type": "string"},
}


def errors(specific: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: what its own error statuses mean, where that says more than the
    common description."""
    return {code: {"description": text} for code, text in specific.items()}


def _permissions(dependant: Dependant) -> tuple[str, ...]:
    """The permissions a route's `require(...)` dependency asks for (any one of them suffices)."""
    pending = list(dependant.dependencies)
    while pending:
        dependant = pending.pop()
        found: tuple[str, ...] | None = getattr(dependant.call, "permissions", None)
        if found:
            return found
        pending.extend(dependant.dependencies)
    return ()


def _forbidden(permissions: tuple[str, ...]) -> str:
    if not permissions:
        return COMMON_ERRORS["403"]
    if len(permissions) == 1:
        return f"The caller's roles do not give the `{permissions[0]}` permission"
    return "The caller's roles give none of the permissions " + ", ".join(f"`{p}`" for p in permissions)


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
        # As get_openapi walks them: the routes of included routers with their effective paths.
        permissions = {(ctx.path_format, method.lower()): _permissions(ctx.original_route.dependant)
                       for ctx in iter_route_contexts(app.routes) if isinstance(ctx.original_route, APIRoute)
                       for method in ctx.methods or ()}
        for path, operations in spec.get("paths", {}).items():
            for method, operation in operations.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                codes = ["500", "503"] if path in PUBLIC_PATHS else list(COMMON_ERRORS)
                defaults = {**COMMON_ERRORS, "403": _forbidden(permissions.get((path, method), ()))}
                for code in codes:
                    existing = responses.get(code, {})
                    responses[code] = {
                        "description": existing.get("description") or defaults[code],
                        "content": {"application/json": {"schema": ref}},
                    }
                if path not in PUBLIC_PATHS:
                    operation["security"] = [{"bearer": []}]
                    operation.setdefault("parameters", []).append(BOOKMARK_PARAMETER)
                    if method in WRITE_METHODS:
                        for code, response in responses.items():
                            if code.startswith("2"):
                                response.setdefault("headers", {})["X-Neo4j-Bookmark"] = BOOKMARK_HEADER
        for name in ("HTTPValidationError", "ValidationError"):
            components["schemas"].pop(name, None)
        app.openapi_schema = spec
        return spec

    app.openapi = custom_openapi  # type: ignore[method-assign]
