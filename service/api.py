"""The HTTP API. Routers stay thin: get a component from app state, call one method.

The model and stores are built once in the app factory; FastAPI runs these plain
``def`` endpoints in its thread pool and the model backend serialises calls itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, Field

from service.api_deps import Services, ServicesDep, require
from service.api_documents import documents_router
from service.api_errors import install_request_hygiene
from service.auth import ApiKeys, auth_required
from service.documents import IngestJobs
from service.generation import GenerationError
from service.offline import enforce_offline
from service.records import PatientRecord
from service.requests import RequestError
from service.settings import Settings


class GenerateRequest(BaseModel):
    prompt: str = Field(min_length=1, max_length=2000, description="The patient to generate")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="Same seed, same record")


class PatientPage(BaseModel):
    items: list[PatientRecord]
    total: int
    limit: int
    offset: int


class Health(BaseModel):
    status: str
    chunks: int
    model: str


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The app; ``services`` lets tests pass components built on fakes (and their keys).

    Raises ValueError when auth is disabled on a non-loopback bind address."""
    enforce_offline()
    keys_required = auth_required(settings.api_auth, settings.host)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is None:
            from service.components import (
                build_generator,
                build_knowledge_store,
                build_language_model,
                build_record_store,
                ingest_options,
            )
            from service.database import open_database

            engine = open_database(settings.db_url)
            store = build_knowledge_store(settings, engine)
            generator = build_generator(settings, store, build_language_model(settings))
            app.state.services = Services(
                generator,
                build_record_store(settings, engine),
                knowledge=store,
                jobs=IngestJobs(store, engine, settings.home / "uploads"),
                ingest=ingest_options(settings),
                max_upload_bytes=settings.max_pdf_bytes,
                keys=ApiKeys(engine) if keys_required else None,
            )
        else:
            app.state.services = services
        yield

    app = FastAPI(title="clinsynth", version="0.1.0", lifespan=lifespan)
    install_request_hygiene(app, max_bytes=settings.max_request_bytes)
    app.include_router(documents_router)

    @app.get("/health")
    def health(services: ServicesDep) -> Health:
        return Health(
            status="ok",
            chunks=services.generator.store.count(),
            model=services.generator.model.name,
        )

    @app.post("/v1/patients", status_code=201, dependencies=[require("generate")])
    def generate_patient(body: GenerateRequest, services: ServicesDep) -> PatientRecord:
        import secrets

        seed = body.seed if body.seed is not None else secrets.randbelow(2**31)
        try:
            made = services.generator.generate(body.prompt, seed=seed)[0]
        except RequestError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        except GenerationError as exc:
            raise HTTPException(status_code=502, detail=str(exc)) from exc
        services.records.save(made.record, seconds=made.seconds)
        return made.record

    @app.get("/v1/patients", dependencies=[require("read")])
    def list_patients(
        services: ServicesDep,
        limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 50,
        offset: Annotated[int, Query(ge=0, description="Records to skip")] = 0,
        tumour: Annotated[str | None, Query(max_length=200, description="Part of the name")] = None,
    ) -> PatientPage:
        return PatientPage(
            items=services.records.list(limit=limit, offset=offset, tumour=tumour),
            total=services.records.count(tumour=tumour),
            limit=limit,
            offset=offset,
        )

    @app.get("/v1/patients/{record_id}", dependencies=[require("read")])
    def get_patient(record_id: str, services: ServicesDep) -> PatientRecord:
        record = services.records.get(record_id)
        if record is None:
            raise HTTPException(status_code=404, detail=f"no patient with id {record_id}")
        return record

    return app
