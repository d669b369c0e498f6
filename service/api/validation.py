"""A record's validation over HTTP: ``GET`` reads the result stored with the record (a read
never validates or writes); ``POST`` validates the record now and stores the result."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from service.api.deps import ServicesDep, require
from service.validation import ValidationResult

validation_router = APIRouter(tags=["validation"])


@validation_router.get(
    "/v1/patients/{record_id}/validation",
    dependencies=[require("read")],
    responses={
        404: {"description": "No such patient"},
        409: {"description": "The record was stored without a validation"},
    },
)
def patient_validation(record_id: str, services: ServicesDep) -> ValidationResult:
    """Failed rules (id, severity, message, fields) and grounding counts of one record, as
    stored with it (records are validated as they are stored when a validator is
    configured, by `clinsynth validate`, or by `POST` on this path)."""
    try:
        stored = services.records.get_validation(record_id)
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=f"no patient with id {record_id}") from exc
    if stored is None:
        raise HTTPException(
            status_code=409,
            detail=f"patient {record_id} has no stored validation: validate it with "
            f"POST /v1/patients/{record_id}/validation (scope generate) or clinsynth validate",
        )
    return stored


@validation_router.post("/v1/patients/{record_id}/validation", dependencies=[require("generate")])
def validate_patient(record_id: str, services: ServicesDep) -> ValidationResult:
    """Validate the stored record now and store the result in place of any earlier one."""
    record = services.records.get(record_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"no patient with id {record_id}")
    if services.validator is None:
        raise HTTPException(status_code=503, detail="validation is not configured")
    result = services.validator.validate(record)
    try:
        services.records.set_validation(record_id, result)
    except KeyError as exc:  # deleted in between
        raise HTTPException(status_code=404, detail=f"no patient with id {record_id}") from exc
    return result
