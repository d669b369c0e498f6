"""Treatment mappings of the FHIR export: chemotherapy, intrathecal, radiotherapy, surgery, HSCT
and the "others" block, each added to a ``ResourceBuilder`` (see ``service.exports.fhir`` for the
Bundle they end up in and why the resources have the shapes they have).

Each function takes the builder and the ``reason`` (a reference to the Condition treated) and
adds its resources in the record's order, so the Bundle stays deterministic.
"""

from __future__ import annotations

from service.exports.fhir_common import (
    ATC,
    CLINICAL,
    CODES,
    CONFIRMED,
    EXT,
    LOINC,
    PCSP,
    PROCEDURE_CATEGORY,
    RELATED_INFO,
    SCT,
    Json,
    ResourceBuilder,
    as_text,
    cc,
    citation_notes,
    ext,
    intrathecal_dosage,
    local,
    quantity,
    sct,
)
from service.records import (
    ChemotherapyAdministration,
    RadiotherapyCourse,
    StemCellTransplant,
    Surgery,
)

_TECHNIQUES = {  # technique -> (SNOMED code or None, label)
    "external_beam": ("33195004", "External beam radiation therapy"),
    "brachytherapy": ("152198000", "Brachytherapy"),
    "metabolic": ("399315003", "Radionuclide therapy"),
    "proton": (None, "Proton beam radiation therapy"),
    "tbi": (None, "Total body irradiation"),
}
RADIOTHERAPY = sct("108290001", "Radiotherapy")


# Chemotherapy


def add_chemotherapy(
    b: ResourceBuilder, key: str, items: list[ChemotherapyAdministration], reason: Json
) -> None:
    """One MedicationAdministration per dose, linked to its cumulative-dose Observation."""
    for i, item in enumerate(items):
        cumulative = b.ref(f"cumulative/{item.drug}/{item.unit}")
        b.add(
            f"chemo/{key}/{i}",
            "MedicationAdministration",
            extension=[ext(RELATED_INFO, valueReference=cumulative)],
            medicationCodeableConcept=cc(ATC, item.atc, item.drug),
            effectiveDateTime=item.date.isoformat(),
            reasonReference=[reason],
            dosage={"text": f"cycle {item.cycle}", "dose": quantity(item.dose, item.unit)},
            note=citation_notes(item.citations),
        )


def add_cumulative_doses(b: ResourceBuilder) -> None:
    """One Observation per (drug, unit): the sum over every administration of the record."""
    r = b.record
    items = list(r.chemotherapy) + (r.relapse.second_line if r.relapse else [])
    items += r.second_tumour.chemotherapy if r.second_tumour else []
    groups: dict[tuple[str, str], list[ChemotherapyAdministration]] = {}
    for item in items:
        groups.setdefault((item.drug, item.unit), []).append(item)
    for (drug, unit), given in groups.items():
        dates = sorted(item.date.isoformat() for item in given)
        drug_code = {
            "code": local("drug", "Drug"),
            "valueCodeableConcept": cc(ATC, given[0].atc, drug),
        }
        b.add(
            f"cumulative/{drug}/{unit}",
            "Observation",
            category=PROCEDURE_CATEGORY,
            code=local("cumulative-dose", "Cumulative dose", f"Cumulative {drug} dose"),
            effectivePeriod={"start": dates[0], "end": dates[-1]},
            method=sct("702873001", "Calculation technique"),
            valueQuantity=quantity(round(sum(i.dose for i in given), 6), unit),
            component=[drug_code],
        )


def add_intrathecal(b: ResourceBuilder, reason: Json) -> None:
    """Intrathecal drugs as MedicationStatements; the corticosteroid flag as an Observation."""
    it = b.record.intrathecal
    if it is not None:
        for i, drug in enumerate(it.drugs):
            b.add(
                f"intrathecal/{i}",
                "MedicationStatement",
                category=as_text("intrathecal chemotherapy"),
                medicationCodeableConcept=as_text(drug),
                effectivePeriod={"start": it.start_date.isoformat()},
                reasonReference=[reason],
                dosage=intrathecal_dosage(it.injections),
                note=citation_notes(it.citations),
            )
    if b.record.corticosteroids_over_4_weeks is not None:
        b.add(
            "corticosteroids",
            "Observation",
            code=local("corticosteroids-over-4-weeks", "Corticosteroids for over 4 weeks"),
            valueBoolean=b.record.corticosteroids_over_4_weeks,
        )


# Radiotherapy


def add_radiotherapy(
    b: ResourceBuilder, key: str, courses: list[RadiotherapyCourse], reason: Json
) -> None:
    """A Procedure per course with its dose Observation, boost, shielding and activity."""
    for i, rt in enumerate(courses):
        k = f"rt/{key}/{i}"
        code, label = _TECHNIQUES[rt.technique]
        brachy, metabolic = rt.brachytherapy, rt.metabolic
        isotopes = [brachy.source] if brachy else []
        isotopes += [metabolic.radiopharmaceutical] if metabolic else []
        used = [brachy.applicator if brachy else None]
        used += [metabolic.radiopharmaceutical] if metabolic else []
        course = b.add(
            k,
            "Procedure",
            extension=[
                ext(RELATED_INFO, valueReference=b.ref(f"{k}/dose")) if rt.dose else None,
                *[
                    ext(PCSP + "radiotherapy-energy-or-isotope", valueCodeableConcept=as_text(s))
                    for s in isotopes
                ],
                ext(EXT + "procedure-method", valueCodeableConcept=as_text(brachy.dose_rate))
                if brachy and brachy.dose_rate
                else None,
            ],
            category=RADIOTHERAPY,
            code={
                "coding": [
                    {"system": SCT, "code": code, "display": label} if code else None,
                    {"system": CODES, "code": f"rt-{rt.technique}", "display": label},
                ],
                "text": label,
            },
            performedPeriod={"start": rt.start_date.isoformat()},
            reasonReference=[reason],
            bodySite=[as_text(rt.site)],
            usedCode=[as_text(u) for u in used],
            note=citation_notes(rt.citations),
        )
        fractions = {"code": local("fractions", "Fractions"), "valueInteger": rt.fractions}
        total = sct("445461008", "Total radiation dose delivered")
        if rt.dose is not None:  # metabolic therapy is dosed by its activity (below)
            _dose(b, f"{k}/dose", total, rt.site, rt.dose, course, [fractions])
        if rt.boost:
            boost = b.add(
                f"{k}/boost",
                "Procedure",
                extension=[ext(RELATED_INFO, valueReference=b.ref(f"{k}/boost/dose"))],
                partOf=[course],
                category=RADIOTHERAPY,
                code=sct("445232009", "Boost radiation therapy"),
                reasonReference=[reason],
                bodySite=[as_text(rt.boost.site)],
            )
            total = sct("445565002", "Total boost radiation dose delivered")
            _dose(b, f"{k}/boost/dose", total, rt.boost.site, rt.boost.dose, boost, [])
        if rt.shielding_block_site:
            b.add(
                f"{k}/shielding",
                "Procedure",
                partOf=[course],
                code=sct("228720004", "Making of shielding block for radiotherapy"),
                bodySite=[as_text(rt.shielding_block_site)],
            )
        if metabolic:
            activity = f"Administered activity of {metabolic.radiopharmaceutical}"
            b.add(
                f"{k}/activity",
                "Observation",
                category=PROCEDURE_CATEGORY,
                code=local("administered-activity", "Administered activity", activity),
                partOf=[course],
                valueQuantity=quantity(metabolic.activity, metabolic.activity_unit),
            )


def _dose(
    b: ResourceBuilder,
    key: str,
    code: Json,
    site: str,
    dose: float,
    of: Json,
    components: list[Json],
) -> None:
    b.add(
        key,
        "Observation",
        category=PROCEDURE_CATEGORY,
        code=code,
        partOf=[of],
        bodySite=as_text(site),
        valueQuantity=quantity(dose, "Gy"),
        component=components,
    )


# Surgery, transplant, others


def _device(b: ResourceBuilder, key: str, kind: str, present: bool) -> Json:
    status = "active" if present else "inactive"
    return b.add(key, "Device", status=status, type=as_text(kind), patient=b.patient)


def add_surgery(b: ResourceBuilder, key: str, surgeries: list[Surgery], reason: Json) -> None:
    """A Procedure per surgery: sacrificed organs, amputation code, shunt Device."""
    for i, s in enumerate(surgeries):
        k = f"surgery/{key}/{i}"
        shunt = None
        if s.shunt:
            shunt = _device(b, f"{k}/shunt", s.shunt.type, s.shunt.still_present)
        amputation = [{"system": CODES, "code": "amputation", "display": "Amputation"}]
        b.add(
            k,
            "Procedure",
            extension=[
                ext(PCSP + "surgery-sacrifiedOrgan", valueCodeableConcept=as_text(organ))
                for organ in s.organs_removed
            ],
            category=sct("387713003", "Surgical procedure"),
            code={"coding": amputation if s.amputation else [], "text": s.description},
            performedDateTime=s.date.isoformat(),
            reasonReference=[reason],
            bodySite=[as_text(organ) for organ in s.organs_affected],
            focalDevice=[{"action": as_text("implanted"), "manipulated": shunt}] if shunt else [],
            note=citation_notes(s.citations),
        )


def add_hsct(b: ResourceBuilder, key: str, t: StemCellTransplant, reason: Json) -> None:
    """The transplant Procedure, its cell product, blood groups, GVHD and immunosuppression."""
    source = t.cell_source.replace("_", " ")
    donor: str = t.type
    if t.donor:
        donor = t.donor.type.replace("_", " ")
        donor += f" ({t.donor.relationship})" if t.donor.relationship else ""
    product = b.add(
        f"{key}/product",
        "BiologicallyDerivedProduct",
        extension=[
            ext(PCSP + "sct-donor-type", valueCodeableConcept=as_text(donor)),
            ext(PCSP + "sct-source-type", valueCodeableConcept=as_text(source)),
        ],
        productCategory="cells",
        productCode=as_text(f"{source} stem cells"),
        collection={"source": b.patient} if t.type == "autologous" else None,
    )
    label = f"{t.type.capitalize()} haematopoietic stem cell transplant"
    transplant = b.add(
        key,
        "Procedure",
        extension=[ext(PCSP + "procedure-usedReference", valueReference=product)],
        category=sct("77465005", "Transplantation"),
        code=local(f"hsct-{t.type}", label),
        performedDateTime=t.date.isoformat(),
        reasonReference=[reason],
        note=citation_notes(t.citations),
    )
    groups = [("before", t.blood_group_before), ("after", t.blood_group_after)]
    for when, group in [*groups, ("donor", t.donor_blood_group)]:
        if group is None:
            continue
        donor_group = when == "donor"
        text = "Donor ABO and Rh group" if donor_group else f"ABO and Rh group {when} HSCT"
        b.add(
            f"{key}/blood-group/{when}",
            "Observation",
            code=cc(LOINC, "882-1", "ABO and Rh group [Type] in Blood", text),
            focus=[product] if donor_group else [],
            partOf=[transplant],
            effectiveTiming=None if donor_group else {"code": as_text(f"{when} transplant")},
            valueCodeableConcept=as_text(group),
        )
    for i, g in enumerate(t.gvhd):
        b.add(
            f"{key}/gvhd/{i}",
            "Condition",
            extension=[
                ext(EXT + "condition-related", valueReference=reason),
                ext(EXT + "condition-dueTo", valueReference=transplant),
            ],
            code=local(f"gvhd-{g.form}", f"{g.form.capitalize()} graft-versus-host disease"),
            bodySite=[as_text(organ) for organ in g.organs],
            stage=[{"summary": as_text(f"grade {g.grade}")}],
        )
    for i, drug in enumerate(t.immunosuppression):
        b.add(
            f"{key}/immunosuppression/{i}",
            "MedicationStatement",
            category=as_text("immunosuppression"),
            medicationCodeableConcept=as_text(drug),
            partOf=[transplant],
        )


def add_others(b: ResourceBuilder, reason: Json) -> None:
    """Intoxications, central venous catheter, fertility preservation and transfusions."""
    others = b.record.others
    if others is None:
        return
    notes = citation_notes(others.citations)  # the block's citations go with each of its resources
    for i, tox in enumerate(others.intoxications):
        status = ("resolved", "Resolved") if tox.resolved else ("active", "Active")
        b.add(
            f"others/intoxication/{i}",
            "Condition",
            clinicalStatus=cc(CLINICAL, *status),
            verificationStatus=CONFIRMED,
            code=sct("75478009", "Poisoning", f"Intoxication: {tox.agent}"),
            onsetDateTime=tox.date.isoformat(),
            abatementDateTime=tox.resolution_date.isoformat() if tox.resolution_date else None,
            note=notes,
        )
    if cvc := others.central_venous_catheter:
        device = _device(b, "others/catheter/device", cvc.type, cvc.still_present)
        b.add(
            "others/catheter",
            "Procedure",
            code=sct(
                "392230005", "Catheterization of vein", f"Central venous catheter ({cvc.type})"
            ),
            performedDateTime=cvc.placed_date.isoformat(),
            reasonReference=[reason],
            complication=[as_text(c) for c in cvc.complications],
            focalDevice=[{"action": as_text("implanted"), "manipulated": device}],
            note=notes,
        )
    if fp := others.fertility_preservation:
        stored = [{"text": f"Stored at: {fp.storage_site}"}] if fp.storage_site else []
        b.add(
            "others/fertility-preservation",
            "Procedure",
            status="completed" if fp.done else "not-done",
            category=as_text("fertility preservation"),
            code=sct("88094004", "Cryopreservation", fp.method or "Fertility preservation"),
            reasonReference=[reason],
            note=stored + notes,
        )
    if tr := others.transfusions:
        transfusion = b.add(
            "others/transfusions",
            "Procedure",
            status="completed" if tr.any else "not-done",
            code=sct("5447007", "Transfusion"),
            reasonReference=[reason],
            note=notes,
        )
        if tr.any:
            b.add(
                "others/transfusions/more-than-10",
                "Observation",
                code=local("transfusions-over-10", "More than 10 transfusions"),
                partOf=[transfusion],
                valueBoolean=tr.more_than_10,
            )
