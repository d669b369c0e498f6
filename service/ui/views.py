"""What every UI page shares: the Jinja2 environment (autoescape on), rendering with the
user, language and CSRF token, forms checked for their CSRF token, and errors as pages."""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from service.api.deps import Services
from service.ui.i18n import LANGUAGES, language_of, translator
from service.ui.session import (
    CSRF_FIELD,
    CSRF_HEADER,
    CsrfFailed,
    LoginRequired,
    ScopeMissing,
    UiUser,
    csrf_ok,
    current_session,
)

T = TypeVar("T")
TEMPLATES = files("service.ui") / "templates"
ENV = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=True,  # every value escaped, whatever the file's name
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class UiError(Exception):
    """An error shown as a page (or an htmx fragment) with its status."""

    def __init__(self, status: int, detail: Any):
        super().__init__(str(detail))
        self.status, self.detail = status, detail


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    user: UiUser | None = None,
    status: int = 200,
) -> HTMLResponse:
    language = language_of(request)
    body = ENV.get_template(template).render(
        {
            "t": translator(language),
            "lang": language,
            "languages": LANGUAGES,
            "csrf": current_session(request).csrf,
            "user": user,
            "path": request.url.path,
            "here": _here(request),
            **(context or {}),
        }
    )
    return HTMLResponse(body, status_code=status)


def _here(request: Request) -> str:
    query = request.url.query
    return quote(request.url.path + (f"?{query}" if query else ""), safe="")


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def redirect(request: Request, url: str) -> Response:
    """A 303 to ``url``; for htmx, ``HX-Redirect`` (htmx follows it as a page load)."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def safe_next(value: str | None) -> str:
    """Where to go after login or a language switch: a UI path, never another site."""
    if value and value.startswith("/ui") and "//" not in value and "\\" not in value:
        return value
    return "/ui/"


async def checked_form(request: Request) -> dict[str, str]:
    """The URL-encoded form of a state-changing request, after its CSRF token was checked
    (form field ``csrf`` or the ``X-CSRF-Token`` header); one value per name (the last)."""
    form = await request.form()
    values = {name: value for name, value in form.items() if isinstance(value, str)}
    presented = values.pop(CSRF_FIELD, None) or request.headers.get(CSRF_HEADER)
    if not csrf_ok(request, presented):
        raise CsrfFailed()
    if any("\x00" in v for v in values.values()):
        raise UiError(422, "a NUL character (\\x00) is not allowed in text")
    return values


async def checked_multi_form(request: Request) -> dict[str, list[str]]:
    """Like ``checked_form``, keeping every value of repeated names (checkboxes)."""
    form = await request.form()
    values: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            values.setdefault(name, []).append(value)
    fields = values.pop(CSRF_FIELD, [])
    presented = fields[-1] if fields else request.headers.get(CSRF_HEADER)
    if not csrf_ok(request, presented):
        raise CsrfFailed()
    if any("\x00" in v for vs in values.values() for v in vs):
        raise UiError(422, "a NUL character (\\x00) is not allowed in text")
    return values


def api_call(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run an API route function as the UI's service call; its HTTP errors become pages."""
    try:
        return call(*args, **kwargs)
    except HTTPException as exc:
        raise UiError(exc.status_code, exc.detail) from exc


async def form_action(
    request: Request, then: str, call: Callable[..., Any], *args: Any
) -> Response:
    """A form button that runs one API call: the CSRF-checked form, the call off the event
    loop (its HTTP errors become pages), then the page ``then``."""
    await checked_multi_form(request)
    await run_in_threadpool(api_call, call, *args)
    return redirect(request, then)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def install_error_pages(app: Any) -> None:
    async def login_required(request: Request, exc: Exception) -> Response:
        target = f"/ui/login?next={_here(request)}"
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def scope_missing(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ScopeMissing)
        t = translator(language_of(request))
        detail = f"{t('Your key lacks the scope this page needs')}: {exc.scope}"
        return render(request, "error.html", {"status": 403, "detail": detail}, status=403)

    async def csrf_failed(request: Request, exc: Exception) -> Response:
        t = translator(language_of(request))
        detail = t(
            "The form expired or did not come from this site: reload the page and try again."
        )
        return render(request, "error.html", {"status": 403, "detail": detail}, status=403)

    async def ui_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UiError)
        detail = exc.detail
        if isinstance(detail, list):  # the API's refused files or field errors
            detail = "; ".join(
                str(d.get("error") or d.get("msg") or d) if isinstance(d, dict) else str(d)
                for d in detail
            )
        context = {"status": exc.status, "detail": str(detail)}
        template = "error_fragment.html" if is_htmx(request) else "error.html"
        # htmx swaps only 2xx answers by default: a fragment error is sent as 200 + header.
        status = 200 if is_htmx(request) else exc.status
        response = render(request, template, context, status=status)
        response.headers["X-Clinsynth-Status"] = str(exc.status)
        return response

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(ScopeMissing, scope_missing)
    app.add_exception_handler(CsrfFailed, csrf_failed)
    app.add_exception_handler(UiError, ui_error)
