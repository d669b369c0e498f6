"""The record's summary, written from its structured blocks in the request's language.

It restates only what the record holds, so it cannot carry an uncited clinical claim.
"""

from __future__ import annotations

from service.records import ChemotherapyAdministration, Demographics, Diagnosis, RadiotherapyCourse

_CHILD = {
    ("en", "male"): "boy",
    ("en", "female"): "girl",
    ("es", "male"): "Niño",
    ("es", "female"): "Niña",
}


def _drugs(chemotherapy: list[ChemotherapyAdministration]) -> str:
    return ", ".join(dict.fromkeys(c.drug for c in chemotherapy))


def summarise(
    demographics: Demographics,
    diagnosis: Diagnosis,
    chemotherapy: list[ChemotherapyAdministration],
    radiotherapy: list[RadiotherapyCourse],
    language: str,
) -> str:
    cycles = max((c.cycle for c in chemotherapy), default=0)
    child = _CHILD[(language, demographics.sex)]
    age = diagnosis.age_at_diagnosis
    if language == "es":
        parts = [
            f"{child} de {age} años diagnosticado el {diagnosis.diagnosis_date} de "
            f"{diagnosis.tumour} (CIE-O-3 {diagnosis.icdo3_morphology}), localización: "
            f"{diagnosis.site}, "
            + (
                "con metástasis en " + ", ".join(diagnosis.metastasis_sites)
                if diagnosis.metastatic
                else "sin metástasis"
            )
            + "."
        ]
        if chemotherapy:
            parts.append(f"Quimioterapia: {cycles} ciclos ({_drugs(chemotherapy)}).")
        parts.extend(
            f"Radioterapia en {r.site}: {r.dose:g} Gy en {r.fractions} fracciones."
            for r in radiotherapy
        )
    else:
        parts = [
            f"{age}-year-old {child} diagnosed on {diagnosis.diagnosis_date} with "
            f"{diagnosis.tumour} (ICD-O-3 {diagnosis.icdo3_morphology}), site: {diagnosis.site}, "
            + (
                "with metastases to " + ", ".join(diagnosis.metastasis_sites)
                if diagnosis.metastatic
                else "without metastases"
            )
            + "."
        ]
        if chemotherapy:
            parts.append(f"Chemotherapy: {cycles} cycles ({_drugs(chemotherapy)}).")
        parts.extend(
            f"Radiotherapy to {r.site}: {r.dose:g} Gy in {r.fractions} fractions."
            for r in radiotherapy
        )
    return " ".join(parts)
