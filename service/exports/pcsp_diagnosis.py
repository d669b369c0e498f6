"""Patient, tumours, metastases, hereditary predisposition and relapse of the PCSP document.

A tumour (first or second) is a ConditionPrimaryCancerPcsp coded by ICD-O-3 morphology (also
in the mCODE histology extension, bound *required* to ICD-O-3) with its ICD-O-3 topography
and its protocol risk group as ``stage`` (the logical model's "Stage/Risk");
its metastases are ConditionSecondaryCancerPcsp pointing back to it; each predisposition
syndrome is an ObservationHereditaryPredispositionPcsp cited from the tumour's
``evidence[predisposition]``. A relapse after the end of treatment is, as the IG models it,
another ConditionPrimaryCancerPcsp with clinical status ``relapse`` and
``condition-occurredFollowing`` the first tumour, filed in the ``relapseAfterEOT`` section.
"""

from __future__ import annotations

from service.exports.fhir_common import (
    CLINICAL,
    CONFIRMED,
    EXT,
    HISTOLOGY,
    ICDO3,
    SCT,
    Json,
    as_text,
    cc,
    citation_notes,
    ext,
    patient_fields,
    risk_stage,
    sct,
)
from service.exports.pcsp_builder import PassportBuilder
from service.exports.pcsp_codes import ORPHA, ORPHA_CODES, Profile, lookup
from service.records import Diagnosis, Relapse

PREDISPOSITION = sct("47708004", "Genetic predisposition")


def add_patient(b: PassportBuilder) -> None:
    b.add("patient", "Patient", **patient_fields(b.record))


def add_tumour(b: PassportBuilder, key: str, dx: Diagnosis) -> Json:
    """The tumour Condition (filed in section ``key``), its metastases and predispositions."""
    morphology = cc(ICDO3, dx.icdo3_morphology, dx.tumour)
    predispositions = [
        b.put(
            None,
            f"{key}/predisposition/{i}",
            "Observation",
            Profile.PREDISPOSITION,
            code=PREDISPOSITION,
            valueCodeableConcept=_syndrome(name),
            effectiveDateTime=dx.diagnosis_date.isoformat(),
        )
        for i, name in enumerate(dx.genetic_conditions)
    ]
    evidence = [{"code": [PREDISPOSITION], "detail": predispositions}] if predispositions else []
    condition = b.put(
        key,
        f"condition/{key}",
        "Condition",
        Profile.PRIMARY_CANCER,
        extension=[ext(HISTOLOGY, valueCodeableConcept=morphology)],
        verificationStatus=CONFIRMED,
        code=morphology,
        bodySite=[cc(ICDO3, dx.icdo3_topography, None, dx.site)],
        onsetDateTime=dx.diagnosis_date.isoformat(),
        stage=risk_stage(dx.risk_group),
        evidence=evidence,
        note=citation_notes(dx.citations),
    )
    sites: list[str | None] = list(dx.metastasis_sites) or ([None] if dx.metastatic else [])
    for i, site in enumerate(sites):
        text = f"Metastasis of {dx.tumour}" + (f" to {site}" if site else "")
        b.put(
            key,
            f"{key}/metastasis/{i}",
            "Condition",
            Profile.SECONDARY_CANCER,
            extension=[ext(EXT + "condition-related", valueReference=condition)],
            verificationStatus=CONFIRMED,
            code=cc(SCT, "128462008", "Secondary malignant neoplastic disease", text),
            bodySite=[as_text(site)],
            onsetDateTime=dx.diagnosis_date.isoformat(),
        )
    if dx.prosthesis_placed:
        present = dx.prosthesis_still_present
        b.add(
            f"{key}/prosthesis",
            "Observation",
            code=as_text("Prosthesis placed"),
            focus=[condition],
            valueBoolean=True,
            component=[{"code": as_text("Prosthesis still present"), "valueBoolean": present}]
            if present is not None
            else [],
        )
    return condition


def _syndrome(name: str) -> Json:
    """An Orphanet code where the IG's list has the syndrome, else the name as text."""
    found = lookup(ORPHA_CODES, name)
    return cc(ORPHA, found[0], found[1], name) if found else {"text": name}


def add_relapse(b: PassportBuilder, relapse: Relapse, primary: Json) -> Json:
    dx = b.record.diagnosis
    morphology = cc(ICDO3, dx.icdo3_morphology, dx.tumour)
    return b.put(
        "primary/relapseAfterEOT",
        "condition/relapse",
        "Condition",
        Profile.PRIMARY_CANCER,
        extension=[
            ext(HISTOLOGY, valueCodeableConcept=morphology),
            ext(EXT + "condition-occurredFollowing", valueReference=primary),
        ],
        clinicalStatus=cc(CLINICAL, "relapse", "Relapse"),
        verificationStatus=CONFIRMED,
        code={**morphology, "text": f"Relapse of {dx.tumour}"},
        bodySite=[as_text(relapse.site)],
        onsetDateTime=relapse.date.isoformat(),
        note=citation_notes(relapse.citations)
        + (
            [{"text": f"Second-line regimen: {relapse.second_line_regimen}"}]
            if relapse.second_line_regimen
            else []
        ),
    )
