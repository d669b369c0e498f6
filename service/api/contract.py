"""The API's contract: every status a route can answer is in its OpenAPI schema.

Some answers come from outside the route: the middleware (400 untrusted Host or malformed
JSON, 413, 415, 422 for a NUL byte), the key check (401, 403), a path naming nothing
(404) and a backend that is down (503: the model server, the knowledge store or the
database). ``install_contract`` maps the backends' errors to 503 instead of a 500 and adds
those statuses, with one error body, to each operation they can reach, so a client (and
the schemathesis test in tests/unit/test_api_contract.py) can rely on the schema.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from models.base import BackendError

log = logging.getLogger(__name__)

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"description": "What went wrong: a sentence, or a list of field errors"},
        "message": {"type": "string", "description": "One line, for validation errors"},
    },
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
# Strings may hold any character but NUL (see service/api/inputs.py); the schema says so.
NO_NUL = "^[^\\x00]*$"

COMMON = {
    "400": "Malformed JSON body, or a Host header this server does not answer to",
    "422": "A parameter or body field is invalid (a NUL character included)",
}
WITH_BODY = {
    "413": "The request body is larger than the server accepts",
    "415": "The body is not sent with the content type this route reads",
}
SECURED = {
    "401": "Missing, invalid or revoked API key",
    "403": "The API key lacks the scope this route needs",
}
WITH_PATH = {"404": "Nothing with the id given in the path"}
BACKENDS = {"503": "A backend it needs is unavailable: model server, knowledge store, database"}


def error_response(description: str) -> dict[str, Any]:
    """One entry of a route's ``responses=``: a status answered with the error body."""
    return {"description": description, "content": _json_error()}


def _json_error() -> dict[str, Any]:
    return {"application/json": {"schema": dict(ERROR_REF)}}


def install_contract(app: FastAPI) -> None:
    """503 for backends that are down; every reachable status documented on every route."""
    app.add_exception_handler(BackendError, _backend_down)
    app.add_exception_handler(OperationalError, _database_down)
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        document_statuses(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_statuses(schema: dict[str, Any]) -> None:
    """Add the statuses answered outside the routes; forbid NUL in every free string."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            statuses = dict(COMMON)
            if "requestBody" in operation:
                statuses |= WITH_BODY
            if "security" in operation:  # a route that takes a key (deps.require)
                statuses |= SECURED
            if "{" in path:
                statuses |= WITH_PATH
            if path.startswith("/v1/"):
                statuses |= BACKENDS
            responses = operation.setdefault("responses", {})
            for status, text in statuses.items():
                responses.setdefault(status, error_response(text))
            # A 422 is also an impossible request read from the prompt: a sentence, not a list.
            responses["422"]["content"] = _json_error()
    for node in _request_nodes(schema):
        if node.get("type") == "string" and not {"enum", "const", "format", "pattern"} & set(node):
            node["pattern"] = NO_NUL


def _request_nodes(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The schema objects requests are read with: parameters and bodies, through $refs."""
    components = schema.get("components", {}).get("schemas", {})
    roots = [
        part
        for operations in schema.get("paths", {}).values()
        for operation in operations.values()
        for part in (operation.get("parameters", []), operation.get("requestBody", {}))
    ]
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        for node in _schema_nodes(pending.pop()):
            yield node
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in seen and name in components:
                    seen.add(name)
                    pending.append(components[name])


def _schema_nodes(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _schema_nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _schema_nodes(item)


async def _backend_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("model backend unavailable on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": f"the model backend is unavailable: {exc}"},
        status_code=503,
        headers={"Retry-After": "30"},
    )


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": "the database is unavailable; try again when it is back"},
        status_code=503,
        headers={"Retry-After": "30"},
    )
