"""UI sessions: a random cookie naming a server-side session, a CSRF token per session, and
the API key the user logged in with, checked again on every request with the API's scopes.

The session lives in this process's memory (a restart logs everyone out) and never in the
cookie, so the key is never sent back to the browser. Every state-changing UI request
carries the session's CSRF token (a form field or the ``X-CSRF-Token`` header htmx sends).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.deps import Services, get_services
from service.auth import SCOPES, ApiKey
from service.auth import Scope as KeyScope

COOKIE = "clinsynth_ui"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
IDLE_SECONDS = 8 * 3600
MAX_SESSIONS = 5000
UI_PREFIX = "/ui"
# What the UI pages may load: only this origin (no CDN, no fonts, no inline script).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'"
)


@dataclass
class UiSession:
    sid: str
    csrf: str
    token: str | None = None  # the API key logged in with; server-side only
    seen: float = field(default_factory=time.monotonic)


class UiSessions:
    """Sessions by id, oldest dropped past ``MAX_SESSIONS``, idle ones expired."""

    def __init__(self) -> None:
        self._by_id: OrderedDict[str, UiSession] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sid: str | None) -> UiSession | None:
        if not sid:
            return None
        with self._lock:
            session = self._by_id.get(sid)
            if session is None:
                return None
            if time.monotonic() - session.seen > IDLE_SECONDS:
                del self._by_id[sid]
                return None
            session.seen = time.monotonic()
            self._by_id.move_to_end(sid)
            return session

    def new(self, token: str | None = None) -> UiSession:
        session = UiSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32), token)
        with self._lock:
            self._by_id[session.sid] = session
            while len(self._by_id) > MAX_SESSIONS:
                self._by_id.popitem(last=False)
        return session

    def drop(self, sid: str) -> None:
        with self._lock:
            self._by_id.pop(sid, None)


class UiSessionMiddleware:
    """Pure ASGI: under /ui, find or start the session (``request.state.ui_session``),
    set its cookie when it changed, and send the pages' security headers."""

    def __init__(self, app: ASGIApp, *, sessions: UiSessions):
        self.app, self.sessions = app, sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == UI_PREFIX or path.startswith(UI_PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        cookies = SimpleCookie()
        for name, value in scope["headers"]:
            if name == b"cookie":
                try:
                    cookies.load(value.decode("latin-1"))
                except Exception:  # a malformed Cookie header is no session
                    cookies = SimpleCookie()
        presented = cookies[COOKIE].value if COOKIE in cookies else None
        session = self.sessions.get(presented)
        state = scope.setdefault("state", {})
        state["ui_session"] = session or self.sessions.new()
        state["ui_sessions"] = self.sessions
        secure = scope.get("scheme") == "https"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                current: UiSession = state["ui_session"]
                if current.sid != presented:
                    cookie = (
                        f"{COOKIE}={current.sid}; Path={UI_PREFIX}; HttpOnly; SameSite=Strict"
                        + ("; Secure" if secure else "")
                    )
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                names = {k.lower() for k, _ in headers}
                for name, value in _SECURITY_HEADERS:
                    if name not in names:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


_SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)


def current_session(request: Request) -> UiSession:
    session: UiSession = request.state.ui_session
    return session


def rotate(request: Request, token: str | None) -> UiSession:
    """A fresh session id (and CSRF token) at login and logout: no session fixation."""
    sessions: UiSessions = request.state.ui_sessions
    sessions.drop(current_session(request).sid)
    session = sessions.new(token)
    request.state.ui_session = session
    return session


class LoginRequired(Exception):
    """No valid key in the session where the service asks for one."""


class ScopeMissing(Exception):
    def __init__(self, scope: str):
        super().__init__(scope)
        self.scope = scope


class CsrfFailed(Exception):
    """A state-changing UI request without the session's CSRF token."""


@dataclass(frozen=True)
class UiUser:
    """Who is using the UI: the key logged in with, or nobody on an open server."""

    key: ApiKey | None
    open: bool  # the service asks for no key (loopback demo, auth disabled)

    def allows(self, scope: str) -> bool:
        return self.open or (self.key is not None and self.key.allows(scope))

    @property
    def name(self) -> str:
        if self.key is None:
            return ""
        return self.key.name or self.key.key_id

    @property
    def scopes(self) -> list[str]:
        return list(SCOPES) if self.open or self.key is None else self.key.scopes


def user_of(request: Request, services: Services) -> UiUser:
    """The session's user; LoginRequired when the service asks for a key and the session
    holds none that is still valid (a revoked key logs the session out at once)."""
    if not services.needs_key():
        return UiUser(None, open=True)
    session = current_session(request)
    assert services.keys is not None
    key = services.keys.verify(session.token) if session.token else None
    if key is None:
        session.token = None
        raise LoginRequired()
    return UiUser(key, open=False)


def ui_require(scope: KeyScope) -> DependsParam:
    """A UI route dependency: the API's scope, checked on the session's key."""

    def check(request: Request, services: Services = Depends(get_services)) -> UiUser:  # noqa: B008
        user = user_of(request, services)
        if not user.allows(scope):
            raise ScopeMissing(scope)
        return user

    return Depends(check)


def csrf_ok(request: Request, presented: str | None) -> bool:
    expected = current_session(request).csrf
    return bool(presented) and hmac.compare_digest(expected, presented or "")


def check_csrf_header(request: Request) -> None:
    """For requests whose body the route streams (uploads): the token in a header."""
    if not csrf_ok(request, request.headers.get(CSRF_HEADER)):
        raise CsrfFailed()
