"""No requested block is ever dropped: a record lacking one (the first tumour's or the
second tumour's) is refused with the reason."""

from __future__ import annotations

from service.generation.blocks.chemotherapy import anthracycline_bound, anthracycline_dose
from service.generation.blocks.treatment import tumour_codes
from service.records import Diagnosis, PatientRecord
from service.requests import ParsedRequest, RequestError
from service.requests.common import is_triple_intrathecal


def refuse_if_short(request: ParsedRequest, record: PatientRecord, store: object) -> None:
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
    if request.shunt and not any(s.shunt for s in record.surgery):
        missing.append("shunt")
    if request.triple_intrathecal and not (
        record.intrathecal and is_triple_intrathecal(record.intrathecal.drugs)
    ):
        missing.append("triple intrathecal therapy")
    techniques = {r.technique for r in record.radiotherapy}
    if request.brachytherapy and "brachytherapy" not in techniques:
        missing.append("brachytherapy")
    if request.metabolic_therapy and "metabolic" not in techniques:
        missing.append("metabolic therapy")
    syndromes = set(record.diagnosis.genetic_conditions)  # English names: before localising
    missing += [s for s in request.genetic_conditions if s not in syndromes]
    if missing:
        d = record.diagnosis
        raise RequestError(
            f"the ingested guidelines give no usable {' or '.join(missing)} for "
            f"{d.tumour} (ICD-O-3 {d.icdo3_morphology}), so a record with every requested "
            f"block cannot be made; {coverage_note(store, d)}"
        )
    _refuse_if_second_short(request, record, store)


def _refuse_if_second_short(request: ParsedRequest, record: PatientRecord, store: object) -> None:
    """The blocks asked for the second tumour, each in its part of the record."""
    second = record.second_tumour
    if request.second_tumour is None or request.second_tumour_blocks is None:
        return
    if second is None:
        raise RequestError(f"the second tumour ({request.second_tumour.term}) was not generated")
    held = {
        "chemotherapy": second.chemotherapy,
        "radiotherapy": second.radiotherapy,
        "surgery": second.surgery,
    }
    missing = [block for block in request.second_tumour_blocks if not held[block]]
    if missing:
        d = second.diagnosis
        raise RequestError(
            f"the ingested guidelines give no usable {' or '.join(missing)} for the second "
            f"tumour, {d.tumour} (ICD-O-3 {d.icdo3_morphology}), so a record with every "
            f"block requested for it cannot be made; {coverage_note(store, d)}"
            + _anthracyclines_used(record, missing)
        )


def _anthracyclines_used(record: PatientRecord, missing: list[str]) -> str:
    """Why the second tumour's chemotherapy may be missing where its guideline gives
    regimens: what the first tumour's treatment used of the cumulative anthracycline bound."""
    used = record.chemotherapy + (record.relapse.second_line if record.relapse else [])
    dose = anthracycline_dose(used)
    if "chemotherapy" not in missing or dose == 0:
        return ""
    return (
        f"; its regimens must also fit the cumulative anthracycline bound "
        f"({anthracycline_bound():g} mg/m2 doxorubicin-equivalent), of which the first "
        f"tumour's treatment used {dose:.0f}"
    )


def coverage_note(store: object, diagnosis: Diagnosis) -> str:
    """What ``clinsynth coverage`` says of the tumour and the groups holding it."""
    coverage = getattr(store, "tumour_coverage", None)
    if coverage is None:
        return "`clinsynth coverage` shows which blocks the guidelines support for each tumour"
    entries = coverage({c for codes in tumour_codes(diagnosis) for c in codes})
    if not entries:
        return "`clinsynth coverage` lists no ingested guideline naming it"
    said = "; ".join(
        f"{e['term']}: "
        + ", ".join(f"{block} {held['facts']} facts" for block, held in e["blocks"].items())
        for e in entries
    )
    return f"`clinsynth coverage` says {said}"
