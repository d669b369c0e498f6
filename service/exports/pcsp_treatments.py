"""Chemotherapy and radiotherapy of the PCSP document.

Chemotherapy: one MedicationAdministrationPcsp per dose given (ATC-coded, dose as given in
UCUM), each linked (``resource-relatedInfo``) to the CumulativeDoseChemoObsPcsp of its drug.
The passport states cumulative doses per m² only (ChemoUnitsVs: mg/m2, g/m2, [iU]/m2, a
*required* binding), so doses per kg and flat doses are converted with the body surface area
at diagnosis (Mosteller, from the record's seeded weight and height): the cumulative value is
per m², the sum as prescribed is kept as a component and the conversion is stated in a note;
each administration keeps its dose as given and says its per-m² equivalent in
``dosage.text``. Intrathecal drugs and corticosteroids are MedicationStatementPcsp.

Radiotherapy: a ProcedureRadiotherapyPcsp per course (type from RadiotherapyTypeVs, site
from the IG's radiotherapy code system, fractions as ``procedure-performedTiming``) with its
TotalDoseRadObsPcsp; a boost is a ProcedureRadiotherapyBoostPcsp with its own total dose, a
shielding block a ProcedureRadiotherapyShieldingPcsp.
"""

from __future__ import annotations

from service.exports.fhir_common import (
    ATC,
    OBS_CATEGORY,
    SCT,
    UCUM,
    Json,
    as_text,
    cc,
    citation_notes,
    ext,
    intrathecal_dosage,
    sct,
)
from service.exports.pcsp_builder import PassportBuilder
from service.exports.pcsp_codes import (
    ISOTOPES,
    RADIOTHERAPY_TYPES,
    Extension,
    Profile,
    generic,
    lookup,
    radiotherapy_site,
)
from service.records import BodyMeasures, ChemotherapyAdministration, RadiotherapyCourse

PROCEDURE_CATEGORY = [cc(OBS_CATEGORY, "procedure", "Procedure")]
RADIOTHERAPY = sct("108290001", "Radiotherapy")
CALCULATED = sct("702873001", "Calculation technique")
_PER_M2 = {"mg/m2": "mg/m2", "g/m2": "g/m2", "IU/m2": "[iU]/m2"}
_UCUM = {**_PER_M2, "mg/kg": "mg/kg", "microgram/kg": "ug/kg", "mg": "mg"}


def ucum(value: float, unit: str) -> Json:
    code = _UCUM.get(unit, unit)
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def dose_per_m2(dose: float, unit: str, m: BodyMeasures) -> tuple[float, str]:
    """The dose per m² of body surface (the unit as the record writes it)."""
    if unit in _PER_M2:
        return dose, unit
    per_kg = {"mg/kg": 1.0, "microgram/kg": 0.001}
    milligrams = dose * m.weight_kg * per_kg[unit] if unit in per_kg else dose
    return round(milligrams / m.bsa_m2, 4), "mg/m2"


def _measures_note(m: BodyMeasures) -> str:
    return (
        f"Converted to a dose per m2 with a body surface area of {m.bsa_m2} m2 (Mosteller; "
        f"weight {m.weight_kg} kg, height {m.height_cm} cm at diagnosis)"
    )


def add_chemotherapy(
    b: PassportBuilder, section: str, items: list[ChemotherapyAdministration], reason: Json
) -> None:
    for i, item in enumerate(items):
        text = f"cycle {item.cycle}"
        if item.unit not in _PER_M2:
            value, unit = dose_per_m2(item.dose, item.unit, b.measures)
            text += (
                f"; {item.dose} {item.unit} = {round(value, 2)} {unit} (BSA {b.measures.bsa_m2} m2)"
            )
        b.put(
            section,
            f"chemo/{section}/{i}",
            "MedicationAdministration",
            Profile.MEDICATION_ADMINISTRATION,
            extension=[ext(Extension.RELATED_INFO, valueReference=b.ref(_cumulative_key(item)))],
            medicationCodeableConcept=cc(ATC, item.atc, item.drug),
            effectiveDateTime=item.date.isoformat(),
            reasonReference=[reason],
            dosage={"text": text, "dose": ucum(item.dose, item.unit)},
            note=citation_notes(item.citations),
        )


def _cumulative_key(item: ChemotherapyAdministration) -> str:
    return f"cumulative/{item.drug}/{'iu' if item.unit == 'IU/m2' else 'mass'}"


def cumulative_groups(
    items: list[ChemotherapyAdministration],
) -> dict[str, list[ChemotherapyAdministration]]:
    """Administrations by cumulative-dose key: one per drug (international units apart)."""
    groups: dict[str, list[ChemotherapyAdministration]] = {}
    for item in items:
        groups.setdefault(_cumulative_key(item), []).append(item)
    return groups


def cumulative_dose(given: list[ChemotherapyAdministration], m: BodyMeasures) -> tuple[float, str]:
    """The sum of ``given`` per m²: g/m2 when every dose is, [iU]/m2 for units, else mg/m2."""
    units = {item.unit for item in given}
    if units <= {"g/m2"} or units <= {"IU/m2"}:
        return round(sum(item.dose for item in given), 6), given[0].unit
    total = 0.0
    for item in given:
        value, unit = dose_per_m2(item.dose, item.unit, m)
        total += value * (1000 if unit == "g/m2" else 1)
    return round(total, 4), "mg/m2"


def add_cumulative_doses(b: PassportBuilder, items: list[ChemotherapyAdministration]) -> None:
    """One CumulativeDoseChemoObsPcsp per drug over every administration of the record."""
    for key, given in cumulative_groups(items).items():
        drug = given[0].drug
        value, unit = cumulative_dose(given, b.measures)
        dates = sorted(item.date.isoformat() for item in given)
        converted = {item.unit for item in given} - set(_PER_M2)
        as_given = [
            {
                "code": generic("cumulativeDose", "Cumulative dose", f"As prescribed ({u})"),
                "valueQuantity": ucum(round(sum(i.dose for i in given if i.unit == u), 6), u),
            }
            for u in sorted(converted)
        ]
        b.put(
            None,
            key,
            "Observation",
            Profile.CUMULATIVE_DOSE_CHEMO,
            category=PROCEDURE_CATEGORY,
            code=generic("cumulativeDose", "Cumulative dose", f"Cumulative {drug} dose"),
            focus=[{"display": drug}],
            effectivePeriod={"start": dates[0], "end": dates[-1]},
            method=CALCULATED,
            valueQuantity=ucum(value, unit),
            component=as_given,
            note=[{"text": _measures_note(b.measures)}] if converted else [],
        )


def add_statements(b: PassportBuilder, section: str, reason: Json) -> None:
    """Intrathecal drugs and corticosteroids over 4 weeks as MedicationStatementPcsp."""
    it = b.record.intrathecal
    if it is not None:
        for i, drug in enumerate(it.drugs):
            b.put(
                section,
                f"intrathecal/{i}",
                "MedicationStatement",
                Profile.MEDICATION_STATEMENT,
                medicationCodeableConcept=as_text(drug),
                effectivePeriod={"start": it.start_date.isoformat()},
                reasonReference=[reason],
                dosage=intrathecal_dosage(it.injections),
                note=citation_notes(it.citations),
            )
    steroids = b.record.corticosteroids_over_4_weeks
    if steroids is not None:
        b.put(
            section,
            "corticosteroids",
            "MedicationStatement",
            Profile.MEDICATION_STATEMENT,
            status="completed" if steroids else "not-taken",
            medicationCodeableConcept=cc(ATC, "H02", "CORTICOSTEROIDS FOR SYSTEMIC USE"),
            reasonReference=[reason],
            dosage=[{"text": "for at least 4 weeks continuously as anti-cancer treatment"}],
        )


def add_radiotherapy(
    b: PassportBuilder, section: str, courses: list[RadiotherapyCourse], reason: Json
) -> None:
    for i, rt in enumerate(courses):
        k = f"rt/{section}/{i}"
        code, label = RADIOTHERAPY_TYPES[rt.technique]
        rt_type = cc(SCT, code, label)
        isotopes = [rt.brachytherapy.source] if rt.brachytherapy else []
        isotopes += [rt.metabolic.radiopharmaceutical] if rt.metabolic else []
        notes = [{"text": "Total body irradiation"}] if rt.technique == "tbi" else []
        if rt.brachytherapy and rt.brachytherapy.dose_rate:
            notes.append({"text": f"{rt.brachytherapy.dose_rate} brachytherapy"})
        used: list[Json | None] = (
            [generic("proton-beam", "Proton Beam")] if rt.technique == "proton" else []
        )
        used += [as_text(rt.brachytherapy.applicator)] if rt.brachytherapy else []
        course = b.put(
            section,
            k,
            "Procedure",
            Profile.RADIOTHERAPY,
            extension=[
                ext(Extension.RELATED_INFO, valueReference=b.ref(f"{k}/dose"))
                if rt.dose is not None
                else None,
                *[
                    ext(Extension.ENERGY_OR_ISOTOPE, valueCodeableConcept=_isotope(s))
                    for s in isotopes
                ],
                ext(
                    "http://hl7.org/fhir/StructureDefinition/procedure-method",
                    valueCodeableConcept=generic("unk-brachytherapy", "Unknown brachytherapy"),
                )
                if rt.brachytherapy
                else None,
                ext(Extension.PERFORMED_TIMING, valueTiming={"repeat": {"count": rt.fractions}}),
            ],
            category=RADIOTHERAPY,
            code=rt_type,
            performedPeriod={"start": rt.start_date.isoformat()},
            reasonReference=[reason],
            bodySite=[radiotherapy_site(rt.site)],
            usedCode=used,
            note=notes + citation_notes(rt.citations),
        )
        total = sct("445461008", "Total radiation dose delivered")
        if rt.dose is not None:  # metabolic therapy is dosed by its activity (below)
            _total_dose(b, f"{k}/dose", total, rt.site, rt.dose, course)
        if rt.boost:
            boost = b.put(
                section,
                f"{k}/boost",
                "Procedure",
                Profile.RADIOTHERAPY_BOOST,
                extension=[ext(Extension.RELATED_INFO, valueReference=b.ref(f"{k}/boost/dose"))],
                partOf=[course],
                category={
                    "coding": [
                        {"system": SCT, "code": "108290001", "display": "Radiotherapy"},
                        {
                            "system": SCT,
                            "code": "445232009",
                            "display": "Boost radiation therapy",
                        },
                    ]
                },
                code=rt_type,
                performedPeriod={"start": rt.start_date.isoformat()},
                reasonReference=[reason],
                bodySite=[radiotherapy_site(rt.boost.site)],
            )
            total = sct("445565002", "Total boost radiation dose delivered")
            _total_dose(b, f"{k}/boost/dose", total, rt.boost.site, rt.boost.dose, boost)
        if rt.shielding_block_site:
            b.put(
                section,
                f"{k}/shielding",
                "Procedure",
                Profile.RADIOTHERAPY_SHIELDING,
                partOf=[course],
                category=RADIOTHERAPY,
                code=sct("228720004", "Making of shielding block for radiotherapy"),
                reasonReference=[reason],
                bodySite=[radiotherapy_site(rt.shielding_block_site)],
            )
        if rt.metabolic:
            activity = f"Administered activity of {rt.metabolic.radiopharmaceutical}"
            b.add(
                f"{k}/activity",
                "Observation",
                category=PROCEDURE_CATEGORY,
                code=as_text(activity),
                partOf=[course],
                valueQuantity=ucum(rt.metabolic.activity, rt.metabolic.activity_unit),
            )


def _isotope(name: str) -> Json:
    found = lookup(ISOTOPES, name)
    return cc(SCT, found[0], found[1], name) if found else {"text": name}


def _total_dose(b: PassportBuilder, key: str, code: Json, site: str, dose: float, of: Json):
    b.put(
        None,
        key,
        "Observation",
        Profile.TOTAL_DOSE_RAD,
        category=PROCEDURE_CATEGORY,
        code=code,
        partOf=[of],
        bodySite=radiotherapy_site(site),
        valueQuantity=ucum(dose, "Gy"),
    )
