"""No requested block is ever dropped: a record lacking one is refused with the reason."""

from __future__ import annotations

from service.records import PatientRecord
from service.requests import ParsedRequest, RequestError


def refuse_if_short(request: ParsedRequest, record: PatientRecord) -> None:
    """No requested block is ever dropped: a record without one is refused, naming it."""
    held = {
        "chemotherapy": record.chemotherapy,
        "radiotherapy": record.radiotherapy,
        "surgery": record.surgery,
        "hsct": record.hsct,
        "others": record.others,
    }
    missing = [block for block in request.blocks if not held[block]]
    if request.relapse and record.relapse is None:
        missing.append("relapse")
    if missing:
        d = record.diagnosis
        raise RequestError(
            f"the ingested guidelines give no usable {' or '.join(missing)} for "
            f"{d.tumour} (ICD-O-3 {d.icdo3_morphology}), so a record with every requested "
            "block cannot be made; `clinsynth coverage` shows which blocks the guidelines "
            "support for each tumour"
        )
