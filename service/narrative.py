"""The record's summary, written from its structured blocks in the request's language.

It restates only what the record holds, so it cannot carry an uncited clinical claim.
"""

from __future__ import annotations

from service.records import ChemotherapyAdministration, Demographics, Diagnosis, RadiotherapyCourse

PHRASES = {
    "en": {
        "opening": "{age}-year-old {child} diagnosed on {date} with {tumour} "
        "(ICD-O-3 {code}), site: {site}, {spread}.",
        "male": "boy",
        "female": "girl",
        "metastatic": "with metastases to {sites}",
        "localised": "without metastases",
        "chemotherapy": "Chemotherapy: {cycles} cycles ({drugs}).",
        "radiotherapy": "Radiotherapy to {site}: {dose:g} Gy in {fractions} fractions.",
    },
    "es": {
        "opening": "{child} de {age} años diagnosticado el {date} de {tumour} "
        "(CIE-O-3 {code}), localización: {site}, {spread}.",
        "male": "Niño",
        "female": "Niña",
        "metastatic": "con metástasis en {sites}",
        "localised": "sin metástasis",
        "chemotherapy": "Quimioterapia: {cycles} ciclos ({drugs}).",
        "radiotherapy": "Radioterapia en {site}: {dose:g} Gy en {fractions} fracciones.",
    },
}


def summarise(
    demographics: Demographics,
    diagnosis: Diagnosis,
    chemotherapy: list[ChemotherapyAdministration],
    radiotherapy: list[RadiotherapyCourse],
    language: str,
) -> str:
    say = PHRASES[language]
    spread = (
        say["metastatic"].format(sites=", ".join(diagnosis.metastasis_sites))
        if diagnosis.metastatic
        else say["localised"]
    )
    parts = [
        say["opening"].format(
            age=diagnosis.age_at_diagnosis,
            child=say[demographics.sex],
            date=diagnosis.diagnosis_date,
            tumour=diagnosis.tumour,
            code=diagnosis.icdo3_morphology,
            site=diagnosis.site,
            spread=spread,
        )
    ]
    if chemotherapy:
        parts.append(
            say["chemotherapy"].format(
                cycles=max(c.cycle for c in chemotherapy),
                drugs=", ".join(dict.fromkeys(c.drug for c in chemotherapy)),
            )
        )
    parts.extend(
        say["radiotherapy"].format(site=r.site, dose=r.dose, fractions=r.fractions)
        for r in radiotherapy
    )
    return " ".join(parts)
