"""A record's validation over HTTP: the stored result, or validated (and stored) on demand."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from service.api.deps import ServicesDep, require
from service.validation import ValidationResult

validation_router = APIRouter(tags=["validation"])


@validation_router.get("/v1/patients/{record_id}/validation", dependencies=[require("read")])
def patient_validation(record_id: str, services: ServicesDep) -> ValidationResult:
    """Failed rules (id, severity, message, fields) and grounding counts of one record.

    A record validated before (by a batch, `clinsynth validate` or an earlier call) returns
    that result; otherwise it is validated now and the result stored with it."""
    try:
        stored = services.records.get_validation(record_id)
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=f"no patient with id {record_id}") from exc
    if stored is not None:
        return stored
    record = services.records.get(record_id)
    if record is None:  # deleted in between
        raise HTTPException(status_code=404, detail=f"no patient with id {record_id}")
    if services.validator is None:
        raise HTTPException(status_code=503, detail="validation is not configured")
    result = services.validator.validate(record)
    services.records.set_validation(record_id, result)
    return result
