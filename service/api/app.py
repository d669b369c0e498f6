"""The HTTP API. Routers stay thin: get a component from app state, call one method.

The model and stores are built once in the app factory; FastAPI runs these plain
``def`` endpoints in its thread pool and the model backend serialises calls itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel

from service.api.batches import batches_router, running_batches
from service.api.contract import install_contract
from service.api.deps import Services, ServicesDep
from service.api.documents import documents_router
from service.api.errors import install_request_hygiene
from service.api.exports import exports_router
from service.api.inputs import NulGuard
from service.api.patients import patients_router
from service.api.reports import reports_router
from service.api.tabular import running_tabular, tabular_router
from service.api.validation import validation_router
from service.auth import auth_required
from service.offline import enforce_offline
from service.settings import Settings


class Health(BaseModel):
    status: str
    chunks: int
    model: str


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The app; ``services`` lets tests pass components built on fakes (and their keys).

    Raises ValueError when auth is disabled on a non-loopback bind address."""
    enforce_offline()
    keys_required = auth_required(settings.api.api_auth, settings.api.host)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        components = None
        if services is None:
            from service.components import build_services

            components = build_services(settings)
            app.state.services = Services.of(components, keys_required=keys_required)
        else:
            app.state.services = services
        try:
            with running_batches(app, settings), running_tabular(app):
                yield
        finally:
            if components is not None:  # what the app built, it closes
                components.close()

    app = FastAPI(title="clinsynth", version="0.1.0", lifespan=lifespan)
    install_contract(app, is_secured=_is_secured)
    app.add_middleware(NulGuard)  # inside the hygiene's size cap: it reads capped bodies
    install_request_hygiene(app, max_bytes=settings.api.max_request_bytes)
    app.include_router(documents_router)
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


def _is_secured(route: APIRoute) -> bool:
    """Whether a route checks an API key (it depends on ``deps.require``)."""
    return any(
        d.call is not None and d.call.__qualname__.startswith("require.")
        for d in route.dependant.dependencies
    )
