"""Input the database cannot hold is refused at the door: NUL bytes and integers out of range.

PostgreSQL text and JSON cannot store a NUL character, and psycopg refuses one even as a
query parameter; OFFSET is a bigint. Either used to surface as a 500 after the route had
done its work (seconds of generation for a prompt). ``NulGuard`` answers 422, in FastAPI's
validation-error shape, before any route runs: for the path, the query string and JSON
bodies alike, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Paging offsets: far beyond any table here, far inside PostgreSQL's bigint.
MAX_OFFSET = 2**31 - 1
NUL = "\x00"
BODY_METHODS = {"POST", "PUT", "PATCH"}


def nul_locations(value: Any, where: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Where in a parsed JSON value a string (or an object key) holds a NUL character."""
    if isinstance(value, str):
        if NUL in value:
            yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                yield (*where, key)
            yield from nul_locations(item, (*where, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nul_locations(item, (*where, index))


def _url_problem(scope: Scope) -> tuple[str | int, ...] | None:
    if NUL in scope.get("path", "") or NUL in unquote(scope.get("raw_path", b"").decode("latin-1")):
        return ("path",)
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if NUL in name or NUL in value:
            return ("query", name.replace(NUL, "\\x00"))
    return None


class NulGuard:
    """Pure ASGI middleware: a NUL byte anywhere in the URL or a JSON body is a 422."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (where := _url_problem(scope)) is not None:
            await _refuse(send, where)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if scope["method"] not in BODY_METHODS or content_type != b"application/json":
            await self.app(scope, receive, send)
            return
        # JSON bodies are small (RequestHygiene caps them before this runs): read, check, replay.
        messages: list[Message] = []
        body = bytearray()
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None  # the route's parser names the error (400)
        if (first := next(nul_locations(parsed, ("body",)), None)) is not None:
            await _refuse(send, first)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, where: tuple[str | int, ...]) -> None:
    # A NUL in a key is named, not echoed: the message is text, and text never holds NUL.
    shown = ".".join(str(part) for part in where).replace("\x00", "\\x00")
    message = f"{shown}: a NUL character (\\x00) is not allowed in text"
    error = {"type": "string_nul", "loc": list(where), "msg": "NUL character not allowed"}
    response = JSONResponse({"detail": [error], "message": message}, status_code=422)
    await response({"type": "http", "method": "GET", "path": "/", "headers": []}, _gone, send)


async def _gone() -> Message:
    return {"type": "http.disconnect"}
