"""The HTTP API. Routers stay thin: get a component from app state, call one method.

The model and stores are built once in the app factory; FastAPI runs these plain
``def`` endpoints in its thread pool and the model backend serialises calls itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel

from service.api_batches import batches_router, running_batches
from service.api_deps import Services, ServicesDep, require
from service.api_documents import documents_router
from service.api_errors import install_request_hygiene
from service.api_exports import FHIR_RESPONSES, PatientFormat, exports_router, fhir_response
from service.api_reports import reports_router
from service.api_tabular import running_tabular, tabular_router
from service.api_validation import validation_router
from service.auth import ApiKeys, auth_required
from service.documents import IngestJobs
from service.generation import GenerationError
from service.offline import enforce_offline
from service.records import PatientRecord
from service.repair import generate_checked
from service.requests import MAX_SEED, RequestError, RequestFields, build_request, seed_at
from service.settings import Settings


class GenerateRequest(RequestFields):
    """Body of ``POST /v1/patients``: a prompt, structured fields, or both (fields win)."""


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
            from service.validation import build_validator

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
                validator=build_validator(settings, store),
                repair_rounds=settings.repair_rounds,
            )
        else:
            app.state.services = services
        with running_batches(app, settings), running_tabular(app):
            yield

    app = FastAPI(title="clinsynth", version="0.1.0", lifespan=lifespan)
    install_request_hygiene(app, max_bytes=settings.max_request_bytes)
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

    @app.post("/v1/patients", status_code=201, dependencies=[require("generate")])
    def generate_patient(
        body: GenerateRequest, services: ServicesDep
    ) -> PatientRecord | list[PatientRecord]:
        """Generate patients now and store them.

        Describe the patient in `prompt` (English or Spanish), in the structured fields, or
        both; a field given explicitly wins over what the prompt says. Without `count` the
        reply is one record; with `count` it is a JSON list of `count` records, made with
        seeds `seed`, `seed + 1`... and stored only when all of them were generated (for
        large numbers use `POST /v1/batches`). An impossible or unclear request is a 422
        whose `detail` says what to change.
        """
        import secrets

        seed = body.seed if body.seed is not None else secrets.randbelow(MAX_SEED + 1)
        try:
            request = build_request(body)
            made = [
                generate_checked(
                    services.generator,
                    services.validator,
                    request,
                    seed=seed_at(seed, index),
                    max_rounds=services.repair_rounds,
                )
                for index in range(body.count or 1)
            ]
        except RequestError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        except GenerationError as exc:
            raise HTTPException(status_code=502, detail=str(exc)) from exc
        services.records.save_all(
            [(checked.made.record, checked.made.seconds) for checked in made],
            validations={
                checked.made.record.record_id: checked.validation_json
                for checked in made
                if checked.validation_json is not None
            },
        )
        records = [checked.made.record for checked in made]
        return records if body.count is not None else records[0]

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

    @app.get(
        "/v1/patients/{record_id}",
        dependencies=[require("read")],
        response_model=PatientRecord,
        responses=FHIR_RESPONSES,
    )
    def get_patient(
        record_id: str,
        services: ServicesDep,
        format: Annotated[
            PatientFormat, Query(description="json: the record; fhir: a FHIR R4 Bundle")
        ] = PatientFormat.json,
    ) -> PatientRecord | Response:
        record = services.records.get(record_id)
        if record is None:
            raise HTTPException(status_code=404, detail=f"no patient with id {record_id}")
        return fhir_response(record) if format is PatientFormat.fhir else record

    return app
