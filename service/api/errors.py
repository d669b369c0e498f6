"""Request hygiene for the HTTP API: every bad request is a clear 4xx naming the problem.

- A Host header naming no host this server answers to: 400, before anything else (a web
  page on another site cannot reach a local server by rebinding its DNS name to 127.0.0.1).
- A JSON body that does not parse: 400 with the position of the error.
- A body on a JSON endpoint sent with another content type: 415.
- A body larger than ``max_request_bytes`` (declared or streamed): 413, before the route
  runs, so nothing is stored. Multipart uploads (``POST /v1/documents``) are read by
  their route after the key check, against their own cap (``service.api.uploads``).
- Under ``form_prefix`` (the web UI, ``/ui/``) HTML forms are welcome too: URL-encoded
  bodies under the same size cap, multipart only on the UI's upload paths.
- Validation errors keep FastAPI's 422 with its field list, plus a one-line ``message``.
"""

from __future__ import annotations

import socket
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_METHODS = {"POST", "PUT", "PATCH"}
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = ("0.0.0.0", "::", "")


def trusted_hosts(bind: str, configured: list[str]) -> frozenset[str]:
    """Names a request's Host header may carry: the bind address, the loopback names and
    ``configured``; on a wildcard bind (not a name) the machine's hostname instead."""
    names = {*LOOPBACK_NAMES, *configured}
    if bind.lower() in WILDCARD_BINDS:
        names.add(socket.gethostname().lower())
    else:
        names.add(bind.lower().strip("[]"))
    return frozenset(names)


def host_name(header: str) -> str:
    """``Example.org:8000`` -> ``example.org``; ``[::1]:8000`` -> ``::1``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    if header.count(":") == 1:
        header = header.partition(":")[0]
    return header.rstrip(".")


class TrustedHosts:
    """Pure ASGI middleware: 400 for a Host header outside ``hosts``."""

    def __init__(self, app: ASGIApp, *, hosts: frozenset[str]):
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            header = next((v for k, v in scope["headers"] if k == b"host"), b"")
            if host_name(header.decode("latin-1")) not in self.hosts:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                shown = header.decode("latin-1") or "none"
                await _reply(
                    send,
                    400,
                    f"untrusted Host header {shown!r}: this server does not answer to that "
                    "name; add it to CLINSYNTH_API_TRUSTED_HOSTS if clients use it",
                )
                return
        await self.app(scope, receive, send)


class RequestHygiene:
    """Pure ASGI middleware: content type and size checks before any route sees the body."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        multipart_paths: tuple[str, ...],
        multipart_prefixes: tuple[str, ...] = (),
        form_prefix: str | None = None,
    ):
        self.app = app
        self.max_bytes = max_bytes
        self.multipart_paths = multipart_paths
        self.multipart_prefixes = multipart_prefixes
        self.form_prefix = form_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        if path in self.multipart_paths or any(path.startswith(p) for p in self.multipart_prefixes):
            await self.app(scope, receive, send)
            return
        length = headers.get("content-length")
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        has_body = length is None and "transfer-encoding" in headers or (length or "0") != "0"
        accepted = {"application/json"}
        if self.form_prefix is not None and path.startswith(self.form_prefix):
            accepted.add("application/x-www-form-urlencoded")
        if has_body and content_type not in accepted:
            shown = content_type or "none"
            await _reply(
                send,
                415,
                f"unsupported content type {shown!r}: send the body as JSON with "
                "'Content-Type: application/json'",
            )
            return
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _reply(send, 413, _too_large(self.max_bytes))
            return
        # Read the (small) JSON body here, up to the limit, then replay it to the route:
        # a route never sees a body that is too large, however it was sent.
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # client went away
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await _reply(send, 413, _too_large(self.max_bytes))
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


def _too_large(limit: int) -> str:
    return f"request body larger than {limit} bytes (CLINSYNTH_MAX_REQUEST_BYTES)"


async def _reply(send: Send, status: int, detail: str) -> None:
    response = JSONResponse({"detail": detail}, status_code=status)
    await response(  # a Starlette response is itself an ASGI app
        {"type": "http", "method": "GET", "path": "/", "headers": []},
        _no_body,
        send,
    )


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: list[dict[str, Any]] = list(exc.errors())
    for error in errors:
        if error.get("type") == "json_invalid":
            position = error.get("loc", ("body", "?"))[-1]
            reason = error.get("ctx", {}).get("error", "invalid JSON")
            return JSONResponse(
                {"detail": f"malformed JSON body at character {position}: {reason}"},
                status_code=400,
            )
    first = errors[0] if errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = f"{where or 'request'}: {first.get('msg', 'invalid request')}"
    safe = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in errors]
    return JSONResponse({"detail": safe, "message": message}, status_code=422)


def install_request_hygiene(
    app: FastAPI,
    *,
    max_bytes: int,
    hosts: frozenset[str],
    multipart_paths: tuple[str, ...] = ("/v1/documents",),
    multipart_prefixes: tuple[str, ...] = (),
    form_prefix: str | None = None,
) -> None:
    app.add_middleware(
        RequestHygiene,
        max_bytes=max_bytes,
        multipart_paths=multipart_paths,
        multipart_prefixes=multipart_prefixes,
        form_prefix=form_prefix,
    )
    app.add_middleware(TrustedHosts, hosts=hosts)  # added last: runs first
    app.add_exception_handler(RequestValidationError, _validation_error)
