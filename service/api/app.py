"""The HTTP API. Routers stay thin: get a component from app state, call one method.

The model and stores are built once in the app factory; FastAPI runs these plain
``def`` endpoints in its thread pool and the model backend serialises calls itself.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from service.api.batches import batches_router, running_batches
from service.api.contract import install_contract
from service.api.deps import Services, ServicesDep
from service.api.documents import documents_router
from service.api.errors import install_request_hygiene, trusted_hosts
from service.api.exports import exports_router
from service.api.facts import facts_router
from service.api.inputs import NulGuard
from service.api.patients import patients_router
from service.api.reports import reports_router
from service.api.tabular import running_tabular, tabular_router
from service.api.validation import validation_router
from service.auth import key_policy
from service.offline import enforce_offline
from service.settings import Settings
from service.ui import UI_MULTIPART_PREFIXES, install_ui

log = logging.getLogger(__name__)
# Swagger UI and ReDoc as the fastapi-offline package ships them: the docs pages load
# nothing from a CDN (the service runs where the internet is out of reach).
DOCS_ASSETS = "/docs-assets"


class Health(BaseModel):
    status: str
    chunks: int
    model: str


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The app; ``services`` lets tests pass components built on fakes (and their keys).

    Which requests need a key comes from the settings, for passed services too (those
    with ``keys=None`` check none). Raises ValueError when auth is disabled on a
    non-loopback bind address."""
    enforce_offline()
    policy = key_policy(settings.api.api_auth, settings.api.host)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        components = None
        if services is None:
            from service.components import build_services

            components = build_services(settings)
            app.state.services = Services.of(components, key_policy=policy)
        else:
            services.key_policy = policy  # the settings say which requests need a key
            app.state.services = services
        warn_if_open(app.state.services, settings.api.host)
        try:
            with running_batches(app, settings), running_tabular(app):
                yield
        finally:
            if components is not None:  # what the app built, it closes
                components.close()

    app = FastAPI(
        title="clinsynth", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    install_contract(app)
    app.add_middleware(NulGuard)  # inside the hygiene's size cap: it reads capped bodies
    install_ui(app)  # inside the hygiene: UI forms are size-capped and host-checked too
    hosts = trusted_hosts(settings.api.host, settings.api.trusted_host_names())
    install_request_hygiene(
        app,
        max_bytes=settings.api.max_request_bytes,
        hosts=hosts,
        multipart_prefixes=UI_MULTIPART_PREFIXES,
        form_prefix="/ui/",
    )
    install_offline_docs(app)
    app.include_router(documents_router)
    app.include_router(facts_router)
    app.include_router(validation_router)
    app.include_router(batches_router)
    app.include_router(reports_router)
    app.include_router(exports_router)
    app.include_router(tabular_router)

    @app.get("/health")
    def health(services: ServicesDep) -> Health:
        return Health(
            status="ok",
            chunks=services.generator.store.count(),
            model=services.generator.model.name,
        )

    app.include_router(patients_router)
    return app


def warn_if_open(services: Services, host: str) -> None:
    """Say loudly that a loopback server in ``auto`` mode answers without a key."""
    if services.key_policy == "once_a_key_exists" and not services.needs_key():
        log.warning(
            "the API on %s is OPEN: no API key exists, so any local process or user can "
            "read, generate and delete. `clinsynth apikey create` closes it at once; "
            "CLINSYNTH_API_AUTH=required always asks for a key",
            host,
        )


def install_offline_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc from the packaged assets, never from a CDN."""
    assets = files("fastapi_offline") / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="clinsynth API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="clinsynth API",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
