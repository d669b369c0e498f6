"""The stem-cell transplant block: type, donor and cell source from the transplant guidance;
conditioning (its dosed drugs become chemotherapy items, its total body irradiation a
radiotherapy course), GvHD and immunosuppression from the passages that state them.

The model chooses the type, donor and cell source among the options the passages offer for
this tumour; code fills the blood groups, the donor's relationship, GvHD (only after an
allogeneic transplant) and the prophylaxis its donor type calls for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from knowledge.care_facts import (
    GVHD_GRADES,
    CareFacts,
    ConditioningFact,
    TransplantOptionFact,
    TransplantTypeFact,
    care_facts,
    same_tumour,
)
from knowledge.evidence import DrugDoseFact, Fact, RadiotherapyFact, build_evidence_sheet
from service.generation.blocks.base import Agent, GenerationError, Patient, as_object, unique_by
from service.generation.blocks.chemotherapy import administration
from service.generation.blocks.radiotherapy import is_total_body, total_body_irradiation
from service.generation.blocks.timeline import conditioning_day
from service.generation.constraints import EvidenceLabels, choice, const, object_schema
from service.records import (
    ChemotherapyAdministration,
    Diagnosis,
    Donor,
    GraftVersusHost,
    RadiotherapyCourse,
    StemCellTransplant,
)
from service.requests import RequestError

BLOOD_GROUPS = ("O+", "A+", "B+", "AB+", "O-", "A-", "B-", "AB-")
BLOOD_WEIGHTS = (35, 36, 9, 3, 7, 7, 2, 1)  # roughly the Spanish population
ACUTE_GVHD = 0.4  # share of allogeneic transplants with acute GvHD
CHRONIC_GVHD = 0.2
RELATIVES: dict[str, tuple[str, ...]] = {
    "matched_sibling": ("brother", "sister"),
    "haploidentical": ("mother", "father", "brother", "sister"),
}
# Donor types that cannot give a cell source (a haploidentical graft is not cord blood).
NOT_WITH: dict[str, set[str]] = {"haploidentical": {"cord_blood"}}
AUTOLOGOUS_SOURCES = ("peripheral_blood", "bone_marrow")


@dataclass
class TransplantPlan:
    """What the transplant contributes to the record, undated pieces dated by ``build``."""

    type_fact: TransplantTypeFact
    cell_source: TransplantOptionFact
    donor: TransplantOptionFact | None
    conditioning: ConditioningFact | None
    conditioning_doses: list[DrugDoseFact] = field(default_factory=list)
    tbi: RadiotherapyFact | None = None
    facts: CareFacts = field(default_factory=CareFacts)


@dataclass
class TransplantItems:
    transplant: StemCellTransplant
    conditioning: list[ChemotherapyAdministration]
    tbi: RadiotherapyCourse | None


def indicated(fact: TransplantTypeFact, code: str, *, relapse: bool) -> bool:
    """The sentence names this tumour for this transplant type (as relapsed only with a
    relapse in the record)."""
    plain = [t for t in fact.tumours if t not in fact.relapsed_tumours]
    if any(same_tumour(code, t) for t in plain):
        return True
    return relapse and any(same_tumour(code, t) for t in fact.relapsed_tumours)


def hsct_block(
    agent: Agent, patient: Patient, diagnosis: Diagnosis, *, relapse: bool
) -> TransplantPlan:
    tumour, code = diagnosis.tumour, diagnosis.icdo3_morphology
    chunks = agent.retrieve_until(
        [
            f"haematopoietic stem cell transplantation (HSCT) indicated for {tumour}, "
            "allogeneic or autologous",
            f"{tumour} ICD-O-3 morphology {code} autologous HSCT indications",
            "stem cell sources bone marrow peripheral blood cord blood, matched sibling, "
            "unrelated or haploidentical donor",
            "conditioning regimens: total body irradiation, busulfan, melphalan, etoposide",
            "GvHD prophylaxis ciclosporin methotrexate; acute GvHD affects skin, liver, "
            "gastrointestinal tract",
        ],
        lambda found: any(
            indicated(f, code, relapse=relapse) for f in care_facts(found).transplant_types
        ),
    )
    facts = care_facts(chunks)
    types = [f for f in facts.transplant_types if indicated(f, code, relapse=relapse)]
    if not types:
        raise RequestError(
            f"a transplant was asked for, but no retrieved guideline passage names HSCT for "
            f"{tumour} (ICD-O-3 {code}); ingest transplant guidance that does"
        )
    # With a relapse in the record, a transplant the guidance gives for relapsed disease
    # comes first (it then consolidates the second line).
    types.sort(key=lambda f: indicated(f, code, relapse=False))
    types = unique_by(types, lambda f: f.type)
    sources = unique_by(facts.options("cell_source"), lambda f: f.value)
    donors = unique_by(facts.options("donor"), lambda f: f.value)
    if not sources:
        raise GenerationError("no retrieved passage names a stem cell source")
    sheet = build_evidence_sheet(chunks)
    labels = EvidenceLabels(sheet)
    branches = []
    for fact in agent.shuffled(types):
        if fact.type == "autologous":
            allowed = [s for s in sources if s.value in AUTOLOGOUS_SOURCES]
            extra: dict[str, Any] = {}
        else:
            allowed = sources
            if not donors:
                continue
            extra = {"donor": {"enum": [d.value for d in agent.shuffled(donors)]}}
        if not allowed:
            continue
        branches.append(
            object_schema(
                {
                    "type": const(fact.type),
                    "source": const(labels(fact.chunk_id)),
                    **extra,
                    "cell_source": {"enum": [s.value for s in agent.shuffled(allowed)]},
                }
            )
        )
    if not branches:
        raise GenerationError(f"no transplant option for {tumour} has a donor and cell source")
    answer = agent.ask(
        "hsct",
        object_schema({"hsct": choice(branches)}),
        types="\n".join(f"- {f.type} (source {labels(f.chunk_id)}): {f.quote}" for f in types),
        donors=", ".join(d.value for d in donors) or "none",
        cell_sources=", ".join(s.value for s in sources),
        patient=f"{patient.describe()}; {tumour} of the {diagnosis.site}",
    )
    chosen = as_object(answer.get("hsct"))
    type_fact = next((f for f in types if f.type == chosen.get("type")), None)
    if type_fact is None:
        raise GenerationError(f"transplant type not in the evidence: {chosen!r}")
    donor = None
    if type_fact.type == "allogeneic":
        donor = next((d for d in donors if d.value == chosen.get("donor")), None)
        if donor is None:
            raise GenerationError(f"transplant donor not in the evidence: {chosen!r}")
    source = next((s for s in sources if s.value == chosen.get("cell_source")), None)
    if source is None:
        raise GenerationError(f"stem cell source not in the evidence: {chosen!r}")
    banned = NOT_WITH.get(donor.value, set()) if donor else set()
    if source.value in banned or (
        type_fact.type == "autologous" and source.value not in AUTOLOGOUS_SOURCES
    ):
        source = next(s for s in sources if s.value not in banned | {"cord_blood"})
    plan = TransplantPlan(type_fact, source, donor, None, facts=facts)
    _conditioning(agent, plan, patient, code, sheet.drug_doses, sheet.radiotherapy)
    return plan


def _conditioning(
    agent: Agent,
    plan: TransplantPlan,
    patient: Patient,
    code: str,
    doses: list[DrugDoseFact],
    radiotherapy: list[RadiotherapyFact],
) -> None:
    """A conditioning regimen the passages name for this type and tumour (seeded choice),
    with the doses they state for its drugs and its TBI course."""
    fitting = [
        c
        for c in plan.facts.conditioning
        if c.type == plan.type_fact.type
        and c.indicated_for(code)
        and (c.min_age is None or patient.age >= c.min_age)
    ]
    fitting = unique_by(fitting, lambda c: c.name)
    if not fitting:
        return
    chosen = agent.rng.choice(fitting)
    plan.conditioning = chosen
    given = [d for d in doses if not d.cumulative]
    missing = [drug for drug in chosen.drugs if not any(d.drug == drug for d in given)]
    if missing:  # a dose may be stated in a passage the first queries did not bring
        found = agent.retrieve(f"{' '.join(missing)} dose mg/kg mg/m2 IV conditioning")
        given += [d for d in build_evidence_sheet(found).doses_given() if d.drug in missing]
    plan.conditioning_doses = unique_by(
        [d for drug in chosen.drugs for d in given if d.drug == drug], lambda d: d.drug
    )
    if chosen.tbi:
        plan.tbi = next((r for r in radiotherapy if is_total_body(r)), None)


def transplant_items(
    agent: Agent, plan: TransplantPlan, day: date, *, first_cycle: int
) -> TransplantItems:
    """The transplant on ``day``, its conditioning days before it."""
    rng = agent.rng
    cited: list[Fact] = [plan.type_fact, plan.cell_source]
    before = rng.choices(BLOOD_GROUPS, BLOOD_WEIGHTS)[0]
    donor = None
    donor_group = None
    after = before
    gvhd: list[GraftVersusHost] = []
    immunosuppression: list[str] = []
    if plan.donor is not None:
        cited.append(plan.donor)
        relatives = RELATIVES.get(plan.donor.value)
        donor = Donor(
            type=plan.donor.value,
            relationship=rng.choice(relatives) if relatives else None,
        )
        donor_group = rng.choices(BLOOD_GROUPS, BLOOD_WEIGHTS)[0]
        after = donor_group
        prophylaxis = next(
            (p for p in plan.facts.prophylaxis if plan.donor.value in p.donors), None
        )
        if prophylaxis is not None:
            cited.append(prophylaxis)
            immunosuppression += [rng.choice(group) for group in prophylaxis.drugs]
        gvhd, gvhd_facts, treatment = _gvhd(agent, plan)
        cited += gvhd_facts
        immunosuppression += treatment
    if plan.conditioning is not None:
        cited.append(plan.conditioning)
    conditioning = [
        administration(agent, dose, conditioning_day(day, index), first_cycle)
        for index, dose in enumerate(plan.conditioning_doses)
    ]
    tbi = (
        total_body_irradiation(agent, plan.tbi, conditioning_day(day, 0))
        if plan.tbi is not None
        else None
    )
    transplant = StemCellTransplant(
        date=day,
        type=plan.type_fact.type,
        cell_source=plan.cell_source.value,
        blood_group_before=before,
        blood_group_after=after,
        donor=donor,
        donor_blood_group=donor_group,
        gvhd=gvhd,
        immunosuppression=list(dict.fromkeys(immunosuppression)),
        conditioning=plan.conditioning.name if plan.conditioning else None,
        citations=agent.cite_all(cited),
    )
    return TransplantItems(transplant, conditioning, tbi)


def _gvhd(
    agent: Agent, plan: TransplantPlan
) -> tuple[list[GraftVersusHost], list[Fact], list[str]]:
    """GvHD after an allogeneic transplant, with organs a passage names for its form, the
    facts cited for it, and the treatment drugs a passage gives for its grade."""
    rng = agent.rng
    found: list[GraftVersusHost] = []
    cited: list[Fact] = []
    drugs: list[str] = []
    for form, share in (("acute", ACUTE_GVHD), ("chronic", CHRONIC_GVHD)):
        organs = [g for g in plan.facts.gvhd if g.form == form]
        if not organs or rng.random() >= share:
            continue
        fact = organs[0]
        grade = rng.randint(1, GVHD_GRADES[form])
        named = rng.sample(fact.organs, rng.randint(1, min(3, len(fact.organs))))
        found.append(GraftVersusHost(form=form, grade=grade, organs=named))
        cited.append(fact)
        for treatment in plan.facts.gvhd_treatments:
            if treatment.form == form and grade >= treatment.min_grade:
                cited.append(treatment)
                drugs += treatment.drugs
    return found, cited, drugs
