"""Batch exports over HTTP, and the FHIR form of one patient.

JSON, NDJSON and FHIR (NDJSON of Bundles: ``fhir`` PCSP passport documents,
``fhir-transaction`` transaction Bundles) stream a page of records at a time; CSV is built
into a temporary zip (one file per block) that is removed once sent.
"""

from __future__ import annotations

import json
import re
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from service.api.deps import ServicesDep, require
from service.exports.csv import write_csv_zip
from service.exports.fhir import FhirConversionError, record_to_bundle
from service.exports.formats import (
    FILE_SUFFIXES,
    MEDIA_TYPES,
    ExportFormat,
    batch_exists,
    iter_text,
    page_records,
)
from service.exports.pcsp import record_to_document
from service.records import PatientRecord

exports_router = APIRouter(tags=["exports"])

FHIR_JSON = "application/fhir+json"
PDF = "application/pdf"
FHIR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {FHIR_JSON: {}, PDF: {}},
        "description": "The record, its Survivorship Passport (a PCSP FHIR R4 document "
        "Bundle), its FHIR R4 transaction Bundle, or the printable passport (PDF)",
    }
}


class PatientFormat(StrEnum):
    json = "json"
    fhir = "fhir"
    fhir_transaction = "fhir-transaction"
    pdf = "pdf"


def passport_response(record: PatientRecord) -> Response:
    """The printable Survivorship Passport of one record (``application/pdf``)."""
    from service.exports.passport_pdf import render_passport

    return Response(
        content=render_passport(record),
        media_type=PDF,
        headers={"Content-Disposition": f'inline; filename="passport-{record.record_id}.pdf"'},
    )


def fhir_response(record: PatientRecord, fmt: PatientFormat = PatientFormat.fhir) -> Response:
    """One record as a PCSP document Bundle (``fhir``) or a transaction Bundle
    (``fhir-transaction``), ``application/fhir+json``."""
    convert = record_to_document if fmt is PatientFormat.fhir else record_to_bundle
    try:
        bundle = convert(record)
    except FhirConversionError as exc:
        raise HTTPException(status_code=500, detail=str(exc)) from exc
    body = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content=body, media_type=FHIR_JSON)


@exports_router.get(
    "/v1/batches/{batch_id}/export",
    dependencies=[require("read")],
    response_class=Response,
    responses={
        200: {
            "content": {MEDIA_TYPES[f]: {} for f in ExportFormat},
            "description": "json: an array of records; ndjson: one record per line; "
            "csv: a zip of one CSV per block; fhir: one PCSP Survivorship Passport (FHIR R4 "
            "document Bundle) per line; fhir-transaction: one FHIR R4 transaction Bundle per line",
        },
        404: {"description": "No such batch"},
    },
)
def export_batch(
    batch_id: str,
    services: ServicesDep,
    format: Annotated[
        ExportFormat, Query(description="json, ndjson, csv, fhir or fhir-transaction")
    ] = (ExportFormat.json),
) -> Response:
    """Every stored record of a batch, in batch order, in the asked format."""
    if not batch_exists(services.records.engine, batch_id):
        raise HTTPException(status_code=404, detail=f"no batch with id {batch_id}")
    records = page_records(services.records, batch_id=batch_id)
    name = f"batch-{re.sub(r'[^A-Za-z0-9._-]', '_', batch_id)}"
    if format is ExportFormat.csv:
        with tempfile.NamedTemporaryFile(suffix=".zip", delete=False) as handle:
            path = Path(handle.name)
        try:
            write_csv_zip(records, path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return FileResponse(
            path,
            media_type=MEDIA_TYPES[format],
            filename=f"{name}-csv.zip",
            background=BackgroundTask(path.unlink, missing_ok=True),
        )
    suffix = {ExportFormat.fhir: "-fhir", ExportFormat.fhir_transaction: "-fhir-transaction"}.get(
        format, ""
    )
    return StreamingResponse(
        iter_text(records, format),
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="{name}{suffix}{FILE_SUFFIXES[format]}"'
        },
    )
