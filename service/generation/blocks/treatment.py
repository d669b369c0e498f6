"""Block 2: chemotherapy regimens and radiotherapy courses from the tumour's own guideline.

The model chooses among whole regimens (with a cycle count: the one their passage states,
where it states one; an induction regimen first where the guideline gives one), radiotherapy
courses, and,
where the passages offer them, a technique, a boost and an intrathecal combination. Code
drops what does not fit the patient (a regimen whose passage names only another tumour or
subtype, or another age band: ``knowledge.applicability``; age bands of radiotherapy; the
cumulative anthracycline bound) before the model sees the options.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from knowledge.chunks import RetrievedChunk
from knowledge.evidence import (
    EvidenceSheet,
    Fact,
    IntrathecalFact,
    RadiotherapyFact,
    Regimen,
    TechniqueFact,
    build_evidence_sheet,
)
from knowledge.radionuclides import states_radionuclide_course
from knowledge.vocabulary import groups_holding
from service.generation.blocks.base import Agent, GenerationError, Patient, unique_by
from service.generation.blocks.chemotherapy import (
    ChosenRegimen,
    anthracycline_dose,
    chosen_intrathecal,
    first_line,
    fits_patient,
    in_protocol_order,
    intrathecal_options,
    maintenance_may_open,
    opening_regimens,
    regimen_listing,
    within_budget,
    within_days,
)
from service.generation.blocks.hsct import TransplantPlan
from service.generation.blocks.radiotherapy import (
    EXTERNAL_BEAM,
    ChosenCourse,
    chosen_courses,
    course_listing,
    is_total_body,
    offered_techniques,
    treats_metastases,
)
from service.generation.blocks.risk import RiskChoice, choose_risk, with_risk
from service.generation.blocks.timeline import FIRST_LINE_CHEMOTHERAPY_DAYS
from service.generation.constraints import (
    EvidenceLabels,
    cycle_options,
    regimen_label,
    treatment_schema,
)
from service.records import (
    ChemotherapyAdministration,
    Diagnosis,
    IntrathecalTherapy,
    RadiotherapyCourse,
    StemCellTransplant,
    Surgery,
)
from service.requests import RequestError


@dataclass
class Treatments:
    """One diagnosis's treatments, dated, and when the last of them ends."""

    diagnosis: Diagnosis
    chemotherapy: list[ChemotherapyAdministration] = field(default_factory=list)
    intrathecal: IntrathecalTherapy | None = None
    corticosteroids: bool | None = None
    radiotherapy: list[RadiotherapyCourse] = field(default_factory=list)
    surgery: list[Surgery] = field(default_factory=list)
    hsct: list[StemCellTransplant] = field(default_factory=list)
    end: date | None = None
    first_line_items: int = 0  # chemotherapy items before the transplant's conditioning
    deferred_transplant: TransplantPlan | None = None  # given after the relapse


@dataclass
class TreatmentPlan:
    regimens: list[ChosenRegimen] = field(default_factory=list)
    courses: list[ChosenCourse] = field(default_factory=list)
    intrathecal: IntrathecalFact | None = None
    intrathecal_facts: list[IntrathecalFact] = field(default_factory=list)
    risk: RiskChoice = field(default_factory=RiskChoice)
    risk_options: list[Fact] = field(default_factory=list)  # what the risk group was read from

    def with_risk(self, agent: Agent, diagnosis: Diagnosis) -> Diagnosis:
        """The diagnosis with the risk group the options chosen are for, cited."""
        chosen = [r.regimen for r in self.regimens] + [c.fact for c in self.courses]
        return with_risk(agent, diagnosis, self.risk, chosen, self.risk_options)


def treatment_block(
    agent: Agent,
    patient: Patient,
    diagnosis: Diagnosis,
    anchor: str,
    *,
    chemotherapy: bool,
    radiotherapy: bool,
    anthracycline_budget: float,
    triple_intrathecal: bool | None = None,
    risk_group: str | None = None,
    transplant: Sequence[Fact] | None = None,
) -> TreatmentPlan:
    maintenance_opens = maintenance_may_open(diagnosis.icdo3_morphology)

    def covered(offer: _Offer) -> tuple[bool, bool, bool]:
        """A regimen to open the first line, a course, any regimen (where asked for)."""
        openers = opening_regimens(first_line(offer.regimens), maintenance_opens=maintenance_opens)
        return (
            bool(openers) or not chemotherapy,
            bool(offer.courses) or not radiotherapy,
            bool(offer.regimens) or not chemotherapy,
        )

    def lacking(offer: _Offer) -> bool:
        return not all(covered(offer)[:2])

    scopes = [agent.protocol(anchor)]
    offer = _offer(agent, patient, diagnosis, scopes, chemotherapy, radiotherapy)
    if lacking(offer):  # the induction passage may rank below the later phases'
        offer = _offer(agent, patient, diagnosis, scopes, chemotherapy, radiotherapy, wide=True)
    if lacking(offer):
        # Regimens kept elsewhere (appendices, tables), or only later phases found: the
        # pages the fact index finds naming the tumour with doses, the tumour itself, then
        # ever wider groups ("ALL" pages give T-ALL's regimens), else every document naming
        # it; each added to those read before, until every block asked for is covered.
        levels = [
            agent.fact_scopes(c, TREATMENT_FACTS, FACT_PAGES) for c in tumour_codes(diagnosis)
        ]
        tried = list(scopes)
        for wider in [*(w for w in levels if w), [agent.protocol(anchor, wide=True)]]:
            tried += wider
            found = _offer(agent, patient, diagnosis, tried, chemotherapy, radiotherapy)
            if sum(covered(found)) > sum(covered(offer)):
                offer, scopes = found, list(tried)
            if not lacking(offer):
                break
    # One risk group's arm: the options for the group asked for or drawn. Where the
    # passages hold no one group's whole arm (the low-risk regimens ranked above the
    # high-risk table), the same queries again with a wider net.
    risk = _risk(
        agent, diagnosis, offer, (chemotherapy, radiotherapy), risk_group, transplant, False
    )
    if not risk.settled:
        offer = _offer(agent, patient, diagnosis, scopes, chemotherapy, radiotherapy, wide=True)
        risk = _risk(
            agent, diagnosis, offer, (chemotherapy, radiotherapy), risk_group, transplant, True
        )
    labels, rt_sheet, boosts, techniques, intrathecal = (
        offer.labels,
        offer.rt_sheet,
        offer.boosts,
        offer.techniques,
        intrathecal_options(offer.intrathecal, triple_intrathecal),
    )
    if chemotherapy and triple_intrathecal and not intrathecal:
        raise RequestError(
            f"triple intrathecal therapy was asked for, but no retrieved passage of the "
            f"{diagnosis.tumour} guideline gives methotrexate, cytarabine and a corticosteroid "
            "intrathecally (they offer "
            + ("; ".join(" + ".join(f.drugs) for f in offer.intrathecal) or "none")
            + ")"
        )
    regimens = agent.shuffled(
        [
            r
            for r in first_line(offer.regimens)
            if anthracycline_dose(r.drugs) <= anthracycline_budget and risk.fits(r)
        ]
    )
    courses = agent.shuffled([c for c in offer.courses if risk.fits(c)])
    boosts = [b for b in boosts if risk.fits(b)]
    openers = opening_regimens(regimens, maintenance_opens=maintenance_opens)
    if not openers:  # only phases that follow another: no first line protocols give
        regimens = []
    schema = treatment_schema(
        regimens,
        courses,
        labels,
        want_chemotherapy=chemotherapy,
        want_radiotherapy=radiotherapy,
        techniques=[EXTERNAL_BEAM, *(t.technique for t in techniques)],
        boosts=boosts,
        intrathecal=intrathecal,
        openers=openers,
    )
    if not schema["properties"]:
        return TreatmentPlan(risk=risk)
    answer = agent.ask(
        "treatment",
        schema,
        regimens=regimen_listing(regimens, labels),
        radiotherapy=course_listing(courses, boosts, rt_sheet, labels),
        intrathecal=", ".join(f"{' + '.join(f.drugs)} ({labels(f.chunk_id)})" for f in intrathecal)
        or "none",
        chemotherapy_rule="mandatory" if "chemotherapy" in schema["properties"] else "none",
        radiotherapy_rule="mandatory" if "radiotherapy" in schema["properties"] else "none",
        patient=f"{patient.describe()}; {diagnosis.tumour} of the {diagnosis.site}"
        + (f"; {risk.group} risk" if risk.group else ""),
    )
    # Only the blocks the schema offered are read, whatever else a backend returns.
    items = answer.get("chemotherapy", []) if chemotherapy else []
    if "first_regimen" in schema["properties"]:
        items = [_first_regimen(answer.get("first_regimen"), openers, regimens), *items]
    chosen = _regimens(regimens, items)
    # Induction first, maintenance last, whatever order the model listed them in; the
    # anthracycline budget and the time the record has then cut the later phases' cycles.
    opener = chosen[0].regimen if chosen and "first_regimen" in schema["properties"] else None
    chosen = within_budget(in_protocol_order(chosen, opener), anthracycline_budget)
    chosen = within_days(chosen, FIRST_LINE_CHEMOTHERAPY_DAYS)
    plan = TreatmentPlan(
        regimens=chosen,
        courses=chosen_courses(courses, boosts, rt_sheet, answer.get("radiotherapy", []))
        if "radiotherapy" in schema["properties"]
        else [],
        risk=risk,
        risk_options=[
            *(f for fs in _block_options(offer, chemotherapy, radiotherapy).values() for f in fs),
            *(transplant or ()),
        ],
    )
    if chosen and intrathecal:
        plan.intrathecal = chosen_intrathecal(intrathecal, answer.get("intrathecal"))
        plan.intrathecal_facts = offer.intrathecal  # single drugs' days count injections
    return plan


MIN_REGIMENS = 2  # fewer found: the same query again with a wider net
FACT_PAGES = 6  # pages of the fact index read when the tumour's own chapter offers nothing
TREATMENT_FACTS = ("drug_dose", "radiotherapy")


def tumour_codes(diagnosis: Diagnosis) -> list[set[str]]:
    """How the fact index may name the diagnosis, narrowest first: its morphology code,
    then each tumour group holding it, smallest first ("low-grade glioma" before "CNS
    tumours")."""
    code = diagnosis.icdo3_morphology
    groups = groups_holding(code)
    return [{code}, *({g.code} for g in groups)]


@dataclass
class _Offer:
    """What the passages of one scope offer a record's first-line treatment."""

    labels: EvidenceLabels
    rt_sheet: EvidenceSheet
    regimens: list[Regimen]
    courses: list[RadiotherapyFact]
    boosts: list[RadiotherapyFact]
    techniques: list[TechniqueFact]
    intrathecal: list[IntrathecalFact]


def _block_options(offer: _Offer, chemotherapy: bool, radiotherapy: bool) -> dict[str, list[Fact]]:
    """The first-line options of each block asked for, which a risk group must cover."""
    return {
        "chemotherapy": list(first_line(offer.regimens)) if chemotherapy else [],
        "radiotherapy": list(offer.courses) if radiotherapy else [],
    }


def _risk(
    agent: Agent,
    diagnosis: Diagnosis,
    offer: _Offer,
    blocks: tuple[bool, bool],
    asked: str | None,
    transplant: Sequence[Fact] | None,
    strict: bool,
) -> RiskChoice:
    """The risk group for the blocks (chemotherapy, radiotherapy) asked for, and a
    first-line transplant's passages."""
    chemotherapy, radiotherapy = blocks
    return choose_risk(
        agent,
        diagnosis,
        _block_options(offer, chemotherapy, radiotherapy),
        agent.retrieved.__getitem__,
        asked,
        also=offer.boosts,
        strict=strict,
        transplant=transplant,
    )


def _offer(
    agent: Agent,
    patient: Patient,
    diagnosis: Diagnosis,
    scopes: list[dict[str, Any]],
    chemotherapy: bool,
    radiotherapy: bool,
    *,
    wide: bool = False,
) -> _Offer:
    """What the passages retrieved in ``scopes`` offer; ``wide``: the wider net at once."""
    names = diagnosis.tumour

    def passages(
        query: str, wanted: bool, found: Callable[[list[RetrievedChunk]], bool]
    ) -> list[RetrievedChunk]:
        if not wanted:
            return []
        # A protocol's regimen tables may rank below its prose: look wider when needed.
        enough = (lambda _: False) if wide else found
        return [c for where in scopes for c in agent.retrieve_until([query], enough, where)]

    chemo_chunks = passages(
        f"{names} chemotherapy regimen drugs and doses mg/m2",
        chemotherapy,
        lambda chunks: len(build_evidence_sheet(chunks).regimens()) >= MIN_REGIMENS,
    )
    rt_chunks = passages(
        f"{names} radiotherapy dose in Gy and fractions",
        radiotherapy,
        lambda chunks: bool(build_evidence_sheet(chunks).courses()),
    )
    it_chunks = passages(
        f"{names} intrathecal methotrexate, triple intrathecal therapy", chemotherapy, bool
    )
    technique_chunks = passages(
        f"{names} radiotherapy technique: proton therapy, boost", radiotherapy, bool
    )
    chemo_sheet = build_evidence_sheet(chemo_chunks)
    rt_sheet = build_evidence_sheet(rt_chunks + technique_chunks)
    return _Offer(
        labels=EvidenceLabels(
            build_evidence_sheet(chemo_chunks + rt_chunks + it_chunks + technique_chunks)
        ),
        rt_sheet=rt_sheet,
        regimens=[
            r
            for r in chemo_sheet.regimens()
            if fits_patient(r, chemo_sheet.chunk(r.chunk_id), diagnosis, patient.age)
        ],
        courses=[
            r
            for r in build_evidence_sheet(rt_chunks).courses()
            if r.fits(patient.age)
            and not is_total_body(r)  # TBI is transplant conditioning
            and (diagnosis.metastatic or not treats_metastases(r))
            and not states_radionuclide_course(r.quote)  # brachytherapy's Gy are its own
        ],
        boosts=[b for b in rt_sheet.boosts() if b.fits(patient.age)],
        techniques=offered_techniques(rt_sheet),
        intrathecal=unique_by(
            build_evidence_sheet(chemo_chunks + it_chunks).intrathecal, lambda f: tuple(f.drugs)
        ),
    )


def _first_regimen(answer: Any, openers: list[Regimen], regimens: list[Regimen]) -> Any:
    """The answer's first regimen, which must be one the first line may open with."""
    allowed = {regimen_label(regimens.index(r) + 1) for r in openers}
    if not isinstance(answer, dict) or answer.get("regimen") not in allowed:
        raise GenerationError(
            f"first-line chemotherapy must start with one of {', '.join(sorted(allowed))} "
            f"(an induction regimen where the guideline gives one), not {answer!r}"
        )
    return answer


def _regimens(regimens: list[Regimen], items: list[Any]) -> list[ChosenRegimen]:
    by_label = {regimen_label(i): r for i, r in enumerate(regimens, start=1)}
    chosen: dict[str, ChosenRegimen] = {}
    for item in items:
        label = item.get("regimen") if isinstance(item, dict) else None
        regimen = by_label.get(str(label))
        if regimen is None:
            raise GenerationError(f"chemotherapy regimen not in the evidence: {item!r}")
        cycles = item.get("cycles", 1)
        if cycles not in cycle_options(regimen):
            raise GenerationError(
                f"{label}: {cycles!r} cycles, but its passage gives {cycle_options(regimen)}"
            )
        # The schema cannot forbid repeats; keep the first.
        chosen.setdefault(str(label), ChosenRegimen(regimen, int(cycles)))
    return list(chosen.values())
