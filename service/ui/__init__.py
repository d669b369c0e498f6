"""The web UI at ``/ui``: server-rendered Jinja2 pages and htmx (vendored in ``static/``,
nothing loaded from elsewhere) on the same app, services and scopes as the API."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from service.ui.generation import generation_pages
from service.ui.i18n import LANG_COOKIE, LANGUAGES, language_of, translator
from service.ui.knowledge import REPLACE_PREFIX, UPLOAD_PATH, knowledge_pages
from service.ui.records import record_pages
from service.ui.session import UiSessionMiddleware, UiSessions, rotate, user_of
from service.ui.views import (
    checked_form,
    install_error_pages,
    redirect,
    render,
    safe_next,
    services_of,
)

UI_MULTIPART_PREFIXES = (UPLOAD_PATH, REPLACE_PREFIX)
session_pages = APIRouter(include_in_schema=False)


@session_pages.get("/ui")
@session_pages.get("/ui/")
def home(request: Request) -> Response:
    return RedirectResponse("/ui/knowledge", status_code=303)


@session_pages.get("/ui/login")
def login_page(request: Request, next: str | None = None) -> Response:
    services = services_of(request)
    context = {"next": safe_next(next), "error": "", "open": not services.needs_key()}
    return render(request, "login.html", context)


@session_pages.post("/ui/login")
async def login(request: Request) -> Response:
    """Check the key as the API does; the session keeps it server-side, under a new id."""
    form = await checked_form(request)
    token = form.get("api_key", "").strip()
    services = services_of(request)
    target = safe_next(form.get("next"))
    if not services.needs_key():
        return redirect(request, target)
    assert services.keys is not None
    key = await run_in_threadpool(services.keys.verify, token) if token else None
    if key is None:
        t = translator(language_of(request))
        context = {"next": target, "error": t("Invalid or revoked API key"), "open": False}
        return render(request, "login.html", context, status=401)
    rotate(request, token)
    return redirect(request, target)


@session_pages.post("/ui/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    rotate(request, None)
    return redirect(request, "/ui/login")


@session_pages.get("/ui/lang/{code}")
def choose_language(code: str, request: Request, next: str | None = None) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, code, path="/ui", samesite="strict", max_age=365 * 86400, httponly=True
        )
    return response


@session_pages.get("/ui/whoami")
def whoami(request: Request) -> dict[str, object]:
    """Who the session is (tests and the page header): scopes, or 401 to log in."""
    user = user_of(request, services_of(request))
    return {"open": user.open, "name": user.name, "scopes": user.scopes}


def install_ui(app: FastAPI) -> None:
    """Mount the UI: its pages, its static files and its session handling."""
    static = files("service.ui") / "static"
    app.mount("/ui/static", StaticFiles(directory=str(static)), name="ui-static")
    install_error_pages(app)
    for router in (session_pages, knowledge_pages, generation_pages, record_pages):
        app.include_router(router)
    app.add_middleware(UiSessionMiddleware, sessions=UiSessions())


__all__ = ["UI_MULTIPART_PREFIXES", "install_ui"]
