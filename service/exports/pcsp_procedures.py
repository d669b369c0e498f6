"""Surgery, stem-cell transplant, other information and the front-line treatment of the PCSP
document.

Surgery: ProcedureSurgeryPcsp (amputations coded from AmputationProcedureTypeVs, organs from
AffectedOrganVs and SacrifiedOrganVs where they have a code); a shunt is its own
ProcedureSurgeryPcsp (ShuntProcedureTypeVs), part of the operation. Transplant:
ProcedureSctPcsp (SctTypeVs) using a BiologicallyDerivedProductSctPcsp (donor and cell
source from the IG's code system), ObservationBloodAboRh before and after it, ConditionGvhdPcsp
(type and grade from the IG's value sets) and ProcedureSctProphylaxisPcsp for the
immunosuppression. Other information: ConditionToxicityPcsp, ProcedureCVCOtherInfosPcsp,
ProcedureCryopreservationOtherInfosPcsp, ProcedureTransfusionOtherInfosPcsp. The front-line
treatment is a ProcedureFltPcsp instantiating a PlanDefinitionFltPcsp (a guideline-based plan:
that is how the record was made).
"""

from __future__ import annotations

from service.exports.fhir_common import (
    CLINICAL,
    CONFIRMED,
    EXT,
    LOINC,
    SCT,
    Json,
    as_text,
    cc,
    citation_notes,
    ext,
    sct,
)
from service.exports.pcsp_builder import PassportBuilder
from service.exports.pcsp_codes import (
    ABO,
    AFFECTED_ORGANS,
    CELL_SOURCES,
    CS_GENERIC,
    DONOR_TYPES,
    RH,
    SACRIFIED_ORGANS,
    SCT_TYPES,
    Extension,
    Profile,
    generic,
    lookup,
)
from service.records import StemCellTransplant, Surgery

IMPLANTATION = sct("129336009", "Implantation - action")


def _organ(table: dict[str, tuple[str, str]], name: str) -> Json:
    found = lookup(table, name)
    return cc(SCT, found[0], found[1], name) if found else {"text": name}


def _device(b: PassportBuilder, key: str, kind: str, present: bool) -> Json:
    status = "active" if present else "inactive"
    return b.add(key, "Device", status=status, type=as_text(kind), patient=b.patient)


def add_surgery(b: PassportBuilder, section: str, surgeries: list[Surgery], reason: Json) -> None:
    for i, s in enumerate(surgeries):
        k = f"surgery/{section}/{i}"
        amputation = [{"system": SCT, "code": "81723002", "display": "Amputation"}]
        surgery = b.put(
            section,
            k,
            "Procedure",
            Profile.SURGERY,
            extension=[
                ext(Extension.SACRIFIED_ORGAN, valueCodeableConcept=_organ(SACRIFIED_ORGANS, o))
                for o in s.organs_removed
            ],
            category=sct("387713003", "Surgical procedure"),
            code={"coding": amputation if s.amputation else [], "text": s.description},
            performedDateTime=s.date.isoformat(),
            reasonReference=[reason],
            bodySite=[_organ(AFFECTED_ORGANS, o) for o in s.organs_affected],
            note=citation_notes(s.citations),
        )
        if s.shunt:
            device = _device(b, f"{k}/shunt/device", s.shunt.type, s.shunt.still_present)
            ventriculoperitoneal = "peritoneal" in s.shunt.type.lower()
            code = ("sht-47020004", "Ventriculoperitoneal shunt")
            b.put(
                section,
                f"{k}/shunt",
                "Procedure",
                Profile.SURGERY,
                partOf=[surgery],
                category=sct("387713003", "Surgical procedure"),
                code=generic(*code, s.shunt.type)
                if ventriculoperitoneal
                else generic("sht-other", "Other shunt procedure", s.shunt.type),
                performedDateTime=s.date.isoformat(),
                reasonReference=[reason],
                focalDevice=[{"action": IMPLANTATION, "manipulated": device}],
            )


def add_hsct(
    b: PassportBuilder, section: str, key: str, t: StemCellTransplant, reason: Json
) -> None:
    donor = DONOR_TYPES.get(t.donor.type) if t.donor else None
    source = CELL_SOURCES[t.cell_source]
    relation = (
        f" from the patient's {t.donor.relationship}" if t.donor and t.donor.relationship else ""
    )
    product = b.put(
        None,
        f"{key}/product",
        "BiologicallyDerivedProduct",
        Profile.SCT_PRODUCT,
        extension=[
            ext(Extension.SCT_DONOR_TYPE, valueCodeableConcept=generic(*donor)) if donor else None,
            ext(Extension.SCT_SOURCE_TYPE, valueCodeableConcept=generic(*source)),
        ],
        productCategory="cells",
        productCode=as_text(f"{t.cell_source.replace('_', ' ')} stem cells{relation}"),
        collection={"source": b.patient} if t.type == "autologous" else None,
    )
    transplant = b.put(
        section,
        key,
        "Procedure",
        Profile.SCT,
        extension=[ext(Extension.USED_REFERENCE, valueReference=product)],
        category=sct("77465005", "Transplantation"),
        code=cc(SCT, *SCT_TYPES[t.type]),
        performedDateTime=t.date.isoformat(),
        reasonReference=[reason],
        note=([{"text": f"Conditioning: {t.conditioning}"}] if t.conditioning else [])
        + citation_notes(t.citations),
    )
    for when, group in (("before", t.blood_group_before), ("after", t.blood_group_after)):
        if group is not None:
            _blood_group(b, section, f"{key}/blood-group/{when}", when, group, transplant)
    if t.donor_blood_group:
        b.add(
            f"{key}/blood-group/donor",
            "Observation",
            code=cc(LOINC, "882-1", "ABO and Rh group [Type] in Blood", "Donor ABO and Rh group"),
            focus=[product],
            partOf=[transplant],
            valueCodeableConcept=as_text(t.donor_blood_group),
        )
    for i, g in enumerate(t.gvhd):
        grade = (
            generic(f"Gvhd-acute-{g.grade}", f"Grade {g.grade}")
            if g.form == "acute"
            else generic(
                *(("Gvhd-chr-1", "Limited") if g.grade == 1 else ("Gvhd-chr-2", "Extensive"))
            )
        )
        code = ("402355000", "Acute graft-versus-host disease")
        if g.form == "chronic":
            code = ("402356004", "Chronic graft-versus-host disease")
        b.put(
            section,
            f"{key}/gvhd/{i}",
            "Condition",
            Profile.GVHD,
            extension=[
                ext(EXT + "condition-related", valueReference=reason),
                ext(EXT + "condition-dueTo", valueReference=transplant),
            ],
            verificationStatus=CONFIRMED,
            code=cc(SCT, *code),
            bodySite=[as_text(organ) for organ in g.organs],
            stage=[{"summary": {**grade, "text": f"{g.form} GvHD grade {g.grade}"}}],
        )
    if t.immunosuppression:
        b.put(
            section,
            f"{key}/prophylaxis",
            "Procedure",
            Profile.SCT_PROPHYLAXIS,
            category=sct("416608005", "Drug therapy"),
            code=sct("868254008", "GVHD (graft versus host disease) prophylaxis"),
            performedPeriod={"start": t.date.isoformat()},
            reasonReference=[reason, transplant],
            usedCode=[as_text(drug) for drug in t.immunosuppression],
        )


def _blood_group(
    b: PassportBuilder, section: str, key: str, when: str, group: str, transplant: Json
) -> None:
    abo, rh = ABO[group[:-1]], RH[group[-1]]
    timing = ("before-procedure", "Before procedure")
    if when == "after":
        timing = ("after-procedure", "After procedure")
    b.put(
        section,
        key,
        "Observation",
        Profile.BLOOD_ABO_RH,
        code=cc(LOINC, "34530-6", "ABO and Rh group panel - Blood", f"Blood group {when} HSCT"),
        partOf=[transplant],
        effectiveTiming={"code": generic(*timing)},
        component=[
            {
                "code": cc(LOINC, "883-9", "ABO group [Type] in Blood"),
                "valueCodeableConcept": cc(LOINC, *abo),
            },
            {
                "code": cc(LOINC, "10331-7", "Rh [Type] in Blood"),
                "valueCodeableConcept": cc(LOINC, *rh),
            },
        ],
    )


def add_others(b: PassportBuilder, section: str, reason: Json) -> None:
    others = b.record.others
    if others is None:
        return
    notes = citation_notes(others.citations)
    for i, tox in enumerate(others.intoxications):
        status = ("resolved", "Resolved") if tox.resolved else ("active", "Active")
        b.put(
            section,
            f"others/intoxication/{i}",
            "Condition",
            Profile.TOXICITY,
            extension=[ext(EXT + "condition-related", valueReference=reason)],
            clinicalStatus=cc(CLINICAL, *status),
            verificationStatus=CONFIRMED,
            code=cc(SCT, "75478009", "Toxicity", f"Intoxication: {tox.agent}"),
            onsetDateTime=tox.date.isoformat(),
            abatementDateTime=tox.resolution_date.isoformat() if tox.resolution_date else None,
            note=notes,
        )
    if cvc := others.central_venous_catheter:
        device = _device(b, "others/catheter/device", cvc.type, cvc.still_present)
        b.put(
            section,
            "others/catheter",
            "Procedure",
            Profile.CVC,
            code=cc(
                SCT, "392230005", "Catheterization of vein", f"Central venous catheter ({cvc.type})"
            ),
            performedDateTime=cvc.placed_date.isoformat(),
            reasonReference=[reason],
            complication=[as_text(c) for c in cvc.complications],
            focalDevice=[{"action": IMPLANTATION, "manipulated": device}],
            note=notes,
        )
    if fp := others.fertility_preservation:
        stored = [{"text": f"Stored at: {fp.storage_site}"}] if fp.storage_site else []
        b.put(
            section,
            "others/fertility-preservation",
            "Procedure",
            Profile.CRYOPRESERVATION,
            status="completed" if fp.done else "not-done",
            code=cc(SCT, "88094004", "Cryopreservation", fp.method or "Fertility preservation"),
            reasonReference=[reason],
            note=stored + notes,
        )
    if tr := others.transfusions:
        timing = {"repeat": {"boundsRange": {"low": {"value": 11}}}} if tr.more_than_10 else None
        b.put(
            section,
            "others/transfusions",
            "Procedure",
            Profile.TRANSFUSION,
            extension=[ext(Extension.PERFORMED_TIMING, valueTiming=timing)] if timing else [],
            status="completed" if tr.any else "not-done",
            code=cc(
                SCT,
                "5447007",
                "Transfusion",
                "More than 10 transfusions" if tr.more_than_10 else None,
            ),
            reasonReference=[reason],
            note=notes,
        )


def add_front_line(b: PassportBuilder, section: str, reason: Json, dates: list[str]) -> None:
    """The front-line treatment (ProcedureFltPcsp) of a tumour and the plan it followed."""
    tumour = b.record.diagnosis.tumour if section == "primary" else None
    if section == "second" and b.record.second_tumour:
        tumour = b.record.second_tumour.diagnosis.tumour
    plan_id = b.resource_id(f"{section}/flt-plan")
    b.add(
        f"{section}/flt-plan",
        "PlanDefinition",
        meta={"profile": [Profile.FLT_PLAN]},
        url=f"urn:uuid:{plan_id}",
        title=f"Front-line treatment of {tumour} following the cited guidelines",
        type=cc(CS_GENERIC, "guidelines-plan", "Guidelines"),
        status="active",
    )
    b.put(
        section,
        f"{section}/flt",
        "Procedure",
        Profile.FLT,
        instantiatesCanonical=[f"urn:uuid:{plan_id}"],
        category=sct("708255002", "First line treatment"),
        code=as_text(f"Front-line treatment of {tumour}"),
        performedPeriod={"start": dates[0], "end": dates[-1]} if dates else None,
        reasonReference=[reason],
    )
