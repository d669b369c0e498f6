"""A tumour's course after its diagnosis: chemotherapy, surgery, radiotherapy and a
transplant in clinical order; a transplant deferred to after the relapse; a second tumour
with the treatments asked for it."""

from __future__ import annotations

from datetime import date, timedelta

from knowledge.vocabulary import Term
from service.generation.blocks.base import Agent, Patient
from service.generation.blocks.chemotherapy import (
    administrations,
    anthracycline_bound,
    corticosteroids_over_4_weeks,
    cycle_length,
    intrathecal_item,
)
from service.generation.blocks.diagnosis import diagnosed_on, diagnosis_block
from service.generation.blocks.hsct import TransplantPlan, hsct_block, indicated, transplant_items
from service.generation.blocks.radionuclide import (
    RadionuclidePlan,
    radionuclide_block,
    radionuclide_items,
)
from service.generation.blocks.radiotherapy import course_item
from service.generation.blocks.surgery import SurgeryPlan, surgery_block, surgery_items
from service.generation.blocks.timeline import (
    CYCLE_DAYS,
    induction_cycles,
    schedule_first_line,
    second_tumour_date,
    transplant_date,
)
from service.generation.blocks.treatment import TreatmentPlan, Treatments, treatment_block
from service.generation.identity import age_on
from service.records import (
    Diagnosis,
    Relapse,
    SecondTumour,
    StemCellTransplant,
)
from service.requests import BLOCKS, RequestError


def treat(
    agent: Agent,
    patient: Patient,
    diagnosis: Diagnosis,
    anchor: str,
    *,
    chemotherapy: bool,
    radiotherapy: bool,
    surgery: bool,
    hsct: bool,
    budget: float,
    required_surgery: bool = True,
    primary: bool = False,
) -> Treatments:
    """Chemotherapy, surgery, radiotherapy and a transplant, in that clinical order (the
    ``primary`` tumour's with the request's shunt, intrathecal, brachytherapy and metabolic
    therapy wishes)."""
    asked = agent.request
    plan = TreatmentPlan()
    transplant = None
    if hsct:  # first: a first-line transplant's indication decides the risk group
        with agent.timed("hsct"):
            transplant = hsct_block(agent, patient, diagnosis, relapse=bool(agent.request.relapse))
    first_line_transplant = (
        [f for f in (transplant.type_fact, transplant.conditioning) if f is not None]
        if transplant is not None
        and indicated(transplant.type_fact, diagnosis.icdo3_morphology, relapse=False)
        else None
    )
    if chemotherapy or radiotherapy:
        with agent.timed("treatment"):
            plan = treatment_block(
                agent,
                patient,
                diagnosis,
                anchor,
                chemotherapy=chemotherapy,
                radiotherapy=radiotherapy,
                anthracycline_budget=budget,
                triple_intrathecal=asked.triple_intrathecal if primary else None,
                risk_group=asked.risk_group if primary else None,
                transplant=first_line_transplant,
            )
        diagnosis = plan.with_risk(agent, diagnosis)
    sources = RadionuclidePlan()
    if primary and (radiotherapy or asked.brachytherapy or asked.metabolic_therapy):
        with agent.timed("radiotherapy"):
            sources = radionuclide_block(
                agent,
                patient,
                diagnosis,
                anchor,
                brachytherapy=asked.brachytherapy,
                metabolic=asked.metabolic_therapy,
                radiotherapy=radiotherapy,
            )
    surgical = SurgeryPlan(None)
    if surgery:
        with agent.timed("surgery"):
            shunt = asked.shunt if primary else False
            surgical = surgery_block(agent, patient, diagnosis, anchor, required_surgery, shunt)
    cycles = [r.cycles for r in plan.regimens]
    dates = schedule_first_line(
        agent.rng,
        patient.diagnosis_date,
        cycles=[cycle_length(r.regimen) for r in plan.regimens for _ in range(r.cycles)],
        induction_cycles=induction_cycles(cycles) if cycles else 0,
        surgery=surgical.timing,
        fractions=[c.fact.fractions for c in plan.courses] + sources.fractions,
    )
    done = Treatments(diagnosis=diagnosis, end=dates.end)
    done.chemotherapy = administrations(agent, plan.regimens, dates.cycles)
    done.first_line_items = len(done.chemotherapy)
    done.corticosteroids = corticosteroids_over_4_weeks(plan.regimens)
    if plan.intrathecal is not None and dates.cycles:
        done.intrathecal = intrathecal_item(
            agent, plan.intrathecal, plan.intrathecal_facts, dates.cycles[0]
        )
    if dates.radiotherapy is not None:
        done.radiotherapy = [course_item(agent, c, dates.radiotherapy) for c in plan.courses]
        done.radiotherapy += radionuclide_items(agent, sources, diagnosis, dates.radiotherapy)
    if dates.surgery is not None:
        done.surgery = surgery_items(agent, surgical, diagnosis, dates.surgery)
        done.diagnosis = surgical.with_prosthesis(agent, diagnosis)
    if transplant is not None:
        if not indicated(transplant.type_fact, diagnosis.icdo3_morphology, relapse=False):
            # Indicated only for relapsed disease: it consolidates the second line.
            done.deferred_transplant = transplant
            return done
        day = transplant_date(agent.rng, dates.end)
        last_cycle = max((c.cycle for c in done.chemotherapy), default=0)
        items = transplant_items(agent, transplant, day, first_cycle=last_cycle + 1)
        done.hsct = [items.transplant]
        done.chemotherapy += items.conditioning
        if items.tbi is not None:
            done.radiotherapy.append(items.tbi)
        done.end = day
    return done


def salvage_transplant(
    agent: Agent, plan: TransplantPlan, relapse: Relapse, after: date
) -> tuple[Relapse, StemCellTransplant]:
    """A transplant after the second line: its conditioning is second-line treatment."""
    with agent.timed("hsct"):
        day = transplant_date(agent.rng, after + timedelta(days=CYCLE_DAYS))
        last_cycle = max((c.cycle for c in relapse.second_line), default=0)
        items = transplant_items(agent, plan, day, first_cycle=last_cycle + 1)
    update = {
        "second_line": relapse.second_line + items.conditioning,
        "second_line_radiotherapy": relapse.second_line_radiotherapy
        + ([items.tbi] if items.tbi else []),
    }
    return relapse.model_copy(update=update), items.transplant


def second_tumour(
    agent: Agent, patient: Patient, wanted: Term, after: date, used: float
) -> SecondTumour:
    """The second tumour's diagnosis and the treatments asked for it (each required),
    else the first tumour's kinds of treatment where its evidence allows."""
    blocks, required = agent.request.second_tumour_treatment()
    day = second_tumour_date(agent.rng, after, patient.birth_date)
    if day is None:
        raise RequestError(
            f"a {patient.age}-year-old's course leaves no room for a second tumour before "
            "age 25; ask for a younger patient"
        )
    later = diagnosed_on(day, patient, age_on(patient.birth_date, day))
    with agent.timed("second_tumour"):
        diagnosis, anchor = diagnosis_block(
            agent,
            later,
            wanted=wanted,
            metastatic=None,
            event="second tumour diagnosis",
            blocks=[b for b in BLOCKS if b in blocks] if required else (),
            about=wanted.term,
        )
    try:
        treated = treat(
            agent,
            later,
            diagnosis,
            anchor,
            chemotherapy="chemotherapy" in blocks,
            radiotherapy="radiotherapy" in blocks,
            surgery="surgery" in blocks,
            hsct=False,  # a second tumour holds no transplant: the request refuses one
            budget=max(0.0, anthracycline_bound() - used),
            required_surgery=required,
        )
    except RequestError as exc:
        raise RequestError(f"the second tumour, {diagnosis.tumour}: {exc}") from exc
    return SecondTumour(
        diagnosis=treated.diagnosis,
        chemotherapy=treated.chemotherapy,
        radiotherapy=treated.radiotherapy,
        surgery=treated.surgery,
    )
