"""Patients over HTTP: generate now (the one patient flow), list, read as JSON or FHIR."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel

from service.api.contract import error_response
from service.api.deps import ServicesDep, require
from service.api.exports import FHIR_RESPONSES, PatientFormat, fhir_response, passport_response
from service.api.inputs import MAX_OFFSET
from service.generation.blocks.base import GenerationError
from service.generation.flow import GenerationFailed
from service.records import PatientRecord
from service.requests import MAX_SEED, RequestError, RequestFields, build_request

patients_router = APIRouter(tags=["patients"])


class GenerateRequest(RequestFields):
    """Body of ``POST /v1/patients``: a prompt, structured fields, or both (fields win)."""


class PatientPage(BaseModel):
    items: list[PatientRecord]
    total: int
    limit: int
    offset: int


@patients_router.post(
    "/v1/patients",
    status_code=201,
    dependencies=[require("generate")],
    responses={502: error_response("The model's output could not be made into a valid record")},
)
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
    seed = body.seed if body.seed is not None else secrets.randbelow(MAX_SEED + 1)
    try:
        made = services.flow.create_all(build_request(body), seed=seed, count=body.count or 1)
    except RequestError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    except GenerationError as exc:
        kept = (
            f" (raw output kept on the server as {exc.kept.name})"
            if isinstance(exc, GenerationFailed)
            else ""
        )
        raise HTTPException(status_code=502, detail=f"{exc}{kept}") from exc
    records = [checked.record for checked in made]
    return records if body.count is not None else records[0]


@patients_router.get("/v1/patients", dependencies=[require("read")])
def list_patients(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Records to skip")] = 0,
    tumour: Annotated[str | None, Query(max_length=200, description="Part of the name")] = None,
) -> PatientPage:
    return PatientPage(
        items=services.records.list(limit=limit, offset=offset, tumour=tumour),
        total=services.records.count(tumour=tumour),
        limit=limit,
        offset=offset,
    )


@patients_router.get(
    "/v1/patients/{record_id}",
    dependencies=[require("read")],
    response_model=PatientRecord,
    responses=FHIR_RESPONSES,
)
def get_patient(
    record_id: str,
    services: ServicesDep,
    format: Annotated[
        PatientFormat,
        Query(
            description="json: the record; fhir: its Survivorship Passport (PCSP FHIR R4 "
            "document Bundle); fhir-transaction: a FHIR R4 transaction Bundle; pdf: the "
            "printable Survivorship Passport"
        ),
    ] = PatientFormat.json,
) -> PatientRecord | Response:
    record = services.records.get(record_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"no patient with id {record_id}")
    if format is PatientFormat.json:
        return record
    return (
        passport_response(record) if format is PatientFormat.pdf else fhir_response(record, format)
    )
