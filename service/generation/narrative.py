"""The record's summary, written from its structured blocks in the request's language.

It restates only what the record holds, so it cannot carry an uncited clinical claim.
"""

from __future__ import annotations

from collections.abc import Sequence

from knowledge.vocabulary import name_in
from service.records import (
    ChemotherapyAdministration,
    Demographics,
    Diagnosis,
    PatientRecord,
    RadiotherapyCourse,
    Relapse,
    SecondTumour,
    StemCellTransplant,
    Surgery,
)

PHRASES = {
    "en": {
        "opening": "{age}-year-old {child} {diagnosed} on {date} with {tumour} "
        "(ICD-O-3 {code}), site: {site}, {spread}.",
        "male": "boy",
        "female": "girl",
        "diagnosed_male": "diagnosed",
        "diagnosed_female": "diagnosed",
        "metastatic": "with metastases to {sites}",
        "localised": "without metastases",
        "risk": "Risk group: {group}.",
        "risk_low": "low",
        "risk_standard": "standard",
        "risk_intermediate": "intermediate",
        "risk_high": "high",
        "chemotherapy": "Chemotherapy: {cycles} cycles ({drugs}).",
        "radiotherapy": "Radiotherapy to {site}: {dose:g} Gy in {fractions} fractions.",
        "brachytherapy": "Brachytherapy ({source}) to {site}: {dose:g} Gy in {fractions} "
        "fractions.",
        "metabolic": "Metabolic therapy with {radiopharmaceutical} {activity:g} {unit}.",
        "predisposition": "Predisposition: {syndromes}.",
        "surgery": "Surgery on {date}: {description}.",
        "hsct": "{type} stem cell transplant on {date}{conditioning}.",
        "conditioning": " after {name} conditioning",
        "autologous": "Autologous",
        "allogeneic": "Allogeneic",
        "relapse": "Relapse on {date} ({site}).",
        "second_line": "Second-line treatment: {regimen}.",
        "second_tumour": "Second tumour diagnosed on {date}: {tumour} (ICD-O-3 {code}).",
    },
    "es": {
        "opening": "{child} de {age} años {diagnosed} el {date} de {tumour} "
        "(CIE-O-3 {code}), localización: {site}, {spread}.",
        "male": "Niño",
        "female": "Niña",
        "diagnosed_male": "diagnosticado",
        "diagnosed_female": "diagnosticada",
        "metastatic": "con metástasis en {sites}",
        "localised": "sin metástasis",
        "risk": "Grupo de riesgo: {group}.",
        "risk_low": "bajo",
        "risk_standard": "estándar",
        "risk_intermediate": "intermedio",
        "risk_high": "alto",
        "chemotherapy": "Quimioterapia: {cycles} ciclos ({drugs}).",
        "radiotherapy": "Radioterapia en {site}: {dose:g} Gy en {fractions} fracciones.",
        "brachytherapy": "Braquiterapia ({source}) en {site}: {dose:g} Gy en {fractions} "
        "fracciones.",
        "metabolic": "Terapia metabólica con {radiopharmaceutical} {activity:g} {unit}.",
        "predisposition": "Predisposición: {syndromes}.",
        "surgery": "Cirugía el {date}: {description}.",
        "hsct": "Trasplante de progenitores hematopoyéticos {type} el {date}{conditioning}.",
        "conditioning": " tras acondicionamiento {name}",
        "autologous": "autólogo",
        "allogeneic": "alogénico",
        "relapse": "Recaída el {date} ({site}).",
        "second_line": "Tratamiento de segunda línea: {regimen}.",
        "second_tumour": "Segundo tumor diagnosticado el {date}: {tumour} (CIE-O-3 {code}).",
    },
}


def summarise(
    demographics: Demographics,
    diagnosis: Diagnosis,
    chemotherapy: list[ChemotherapyAdministration],
    radiotherapy: list[RadiotherapyCourse],
    language: str,
    *,
    surgery: Sequence[Surgery] = (),
    hsct: Sequence[StemCellTransplant] = (),
    relapse: Relapse | None = None,
    second_tumour: SecondTumour | None = None,
) -> str:
    say = PHRASES[language]

    def site_name(d: Diagnosis) -> str:
        return name_in(language, "site", d.icdo3_topography or d.site, d.site)

    spread = (
        say["metastatic"].format(sites=", ".join(diagnosis.metastasis_sites))
        if diagnosis.metastatic
        else say["localised"]
    )
    parts = [
        say["opening"].format(
            age=diagnosis.age_at_diagnosis,
            child=say[demographics.sex],
            diagnosed=say[f"diagnosed_{demographics.sex}"],
            date=diagnosis.diagnosis_date,
            tumour=name_in(language, "tumour", diagnosis.icdo3_morphology, diagnosis.tumour),
            code=diagnosis.icdo3_morphology,
            site=site_name(diagnosis),
            spread=spread,
        )
    ]
    if diagnosis.risk_group:
        parts.append(say["risk"].format(group=say[f"risk_{diagnosis.risk_group}"]))
    if chemotherapy:
        parts.append(
            say["chemotherapy"].format(
                cycles=max(c.cycle for c in chemotherapy),
                drugs=", ".join(
                    dict.fromkeys(name_in(language, "drug", c.drug, c.drug) for c in chemotherapy)
                ),
            )
        )
    if diagnosis.genetic_conditions:
        parts.append(
            say["predisposition"].format(syndromes=", ".join(diagnosis.genetic_conditions))
        )
    parts.extend(_course(say, r) for r in radiotherapy)
    parts.extend(say["surgery"].format(date=s.date, description=s.description) for s in surgery)
    parts.extend(
        say["hsct"].format(
            type=say[h.type],
            date=h.date,
            conditioning=say["conditioning"].format(name=h.conditioning) if h.conditioning else "",
        )
        for h in hsct
    )
    if relapse is not None:
        parts.append(say["relapse"].format(date=relapse.date, site=relapse.site))
        if relapse.second_line_regimen:
            parts.append(say["second_line"].format(regimen=relapse.second_line_regimen))
    if second_tumour is not None:
        d = second_tumour.diagnosis
        parts.append(
            say["second_tumour"].format(
                date=d.diagnosis_date,
                tumour=name_in(language, "tumour", d.icdo3_morphology, d.tumour),
                code=d.icdo3_morphology,
            )
        )
    return " ".join(parts)


def summarise_record(record: PatientRecord, first_line_items: int, language: str) -> str:
    """``summarise`` of a whole record whose first ``first_line_items`` administrations are
    its first-line chemotherapy (the rest conditioning)."""
    return summarise(
        record.demographics,
        record.diagnosis,
        record.chemotherapy[:first_line_items],
        record.radiotherapy,
        language,
        surgery=record.surgery,
        hsct=record.hsct,
        relapse=record.relapse,
        second_tumour=record.second_tumour,
    )


def _course(say: dict[str, str], r: RadiotherapyCourse) -> str:
    """A course in the summary's words: metabolic therapy by its activity, brachytherapy
    with its source."""
    if r.metabolic is not None:
        m = r.metabolic
        return say["metabolic"].format(
            radiopharmaceutical=m.radiopharmaceutical, activity=m.activity, unit=m.activity_unit
        )
    if r.brachytherapy is not None:
        return say["brachytherapy"].format(
            source=r.brachytherapy.source, site=r.site, dose=r.dose, fractions=r.fractions
        )
    return say["radiotherapy"].format(site=r.site, dose=r.dose, fractions=r.fractions)
