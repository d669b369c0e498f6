"""Chemotherapy items from chosen regimens: dated administrations, intrathecal therapy and
the corticosteroid flag, all decided in code from the evidence of the chosen regimens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from knowledge.applicability import regimen_scope
from knowledge.chunks import RetrievedChunk
from knowledge.evidence import (
    CORTICOSTEROID_ATC,
    PHASE_RANK,
    DrugDoseFact,
    Fact,
    IntrathecalFact,
    Regimen,
)
from knowledge.vocabulary import drugs, tumour_records
from service.generation.blocks.base import Agent, GenerationError
from service.generation.blocks.timeline import CYCLE_DAYS, INTERVAL_SLACK
from service.generation.constraints import EvidenceLabels, regimen_label
from service.records import ChemotherapyAdministration, Diagnosis, IntrathecalTherapy
from service.requests.common import INTRATHECAL_CORTICOSTEROIDS, TRIPLE_INTRATHECAL
from service.validation.bounds import Bounds

FOUR_WEEKS = 28


@dataclass(frozen=True)
class ChosenRegimen:
    regimen: Regimen
    cycles: int


@cache
def _anthracyclines() -> tuple[float, dict[str, float]]:
    """The cumulative bound and doxorubicin equivalence the validator applies."""
    bound = Bounds.load().anthracyclines
    return bound.max_cumulative_mg_m2, dict(bound.doxorubicin_equivalence)


def anthracycline_bound() -> float:
    return _anthracyclines()[0]


def anthracycline_dose(doses: list[DrugDoseFact] | list[ChemotherapyAdministration]) -> float:
    """Doxorubicin-equivalent mg/m2 of these doses (other units cannot be converted)."""
    equivalence = _anthracyclines()[1]
    total = 0.0
    for d in doses:
        factor = {"mg/m2": 1.0, "g/m2": 1000.0}.get(d.unit)
        if factor is not None and d.drug in equivalence:
            total += d.dose * factor * equivalence[d.drug]
    return total


def cited_quotes(regimen: Regimen) -> list[str]:
    """The quotes a regimen's items cite: its own, and the sentence stating its cycles
    (what a rule reading the items' citations reads; ``administration``)."""
    return [regimen.quote, *([regimen.lead_in.quote] if regimen.lead_in else [])]


def fits_patient(regimen: Regimen, chunk: RetrievedChunk, diagnosis: Diagnosis, age: int) -> bool:
    """Whether every quote the regimen's items cite is written for this tumour and age
    (``knowledge.applicability``: not a regimen whose passage names only another tumour)."""
    return all(
        regimen_scope(q, chunk).fits(diagnosis.icdo3_morphology, age) for q in cited_quotes(regimen)
    )


def first_line(regimens: list[Regimen]) -> list[Regimen]:
    """Regimens a first line may give: not those of a passage on relapsed disease (they are
    second-line treatment, after a relapse)."""
    return [r for r in regimens if r.phase != "relapse"]


# A regimen whose passage names no phase goes after induction (whose passage says it comes
# first) and before consolidation (nothing says it is a later phase).
_UNPHASED_RANK = (PHASE_RANK["induction"] + PHASE_RANK["consolidation"]) / 2


def phase_rank(regimen: Regimen) -> float:
    return PHASE_RANK.get(regimen.phase or "", _UNPHASED_RANK)


def in_protocol_order(
    chosen: list[ChosenRegimen], opener: Regimen | None = None
) -> list[ChosenRegimen]:
    """Induction first, then regimens of no named phase, then consolidation (and the
    phases ranked with it), maintenance last; the model's order within each rank. The
    regimen chosen to open the line (``opener``) stays first: maintenance opening a CNS
    tumour's line comes before a consolidation chosen with it."""
    return sorted(chosen, key=lambda c: (c.regimen is not opener, phase_rank(c.regimen)))


# ICCC-3 main groups whose first line may open with maintenance where their guideline gives
# nothing else to open it: CNS tumours, whose protocols give maintenance after radiotherapy
# with no chemotherapy before it (the validator's regimens.toml says the same).
MAINTENANCE_OPENS_IN = frozenset({"III"})


def maintenance_may_open(morphology: str) -> bool:
    """Whether a first line of this tumour may open with maintenance (a CNS tumour)."""
    return any(
        t.code == morphology and MAINTENANCE_OPENS_IN & set(t.iccc_groups) for t in tumour_records()
    )


def opening_regimens(regimens: list[Regimen], *, maintenance_opens: bool = False) -> list[Regimen]:
    """The regimens a first line may start with: the induction regimens on offer, else
    those whose passage names no later phase; where neither is on offer, the maintenance
    regimens of a tumour whose protocols open with it (``maintenance_may_open``). A line
    never opens with consolidation, nor with maintenance where anything else opens it."""
    induction = [r for r in regimens if r.phase == "induction"]
    earlier = [r for r in regimens if phase_rank(r) < PHASE_RANK["consolidation"]]
    if induction or earlier or not maintenance_opens:
        return induction or earlier
    return [r for r in regimens if r.phase == "maintenance"]


def within_days(chosen: list[ChosenRegimen], days: int) -> list[ChosenRegimen]:
    """Cycles cut so the whole first line's cycles, each as long as its interval (with its
    slack for delays), fit in ``days``: the later regimens lose cycles first, the first
    keeps at least one."""
    kept: list[ChosenRegimen] = []
    for item in chosen:
        length = cycle_length(item.regimen)[1]
        fit = days // length
        cycles = min(item.cycles, fit if kept else max(1, fit))
        if cycles > 0:
            kept.append(ChosenRegimen(item.regimen, cycles))
            days -= cycles * length
    return kept


def cycle_length(regimen: Regimen) -> tuple[int, int]:
    """The least and most days from one of the regimen's cycles to the next: its stated
    interval and a few days' delay, else the usual three weeks."""
    if regimen.interval_days is None:
        return CYCLE_DAYS, CYCLE_DAYS
    return regimen.interval_days, regimen.interval_days + INTERVAL_SLACK


def within_budget(chosen: list[ChosenRegimen], budget: float) -> list[ChosenRegimen]:
    """Cycles cut so the cumulative anthracycline dose stays within ``budget``."""
    kept = []
    for item in chosen:
        per_cycle = anthracycline_dose(item.regimen.drugs)
        cycles = item.cycles if per_cycle == 0 else min(item.cycles, int(budget // per_cycle))
        if cycles > 0:
            kept.append(ChosenRegimen(item.regimen, cycles))
            budget -= per_cycle * cycles
    return kept


def administrations(
    agent: Agent,
    chosen: list[ChosenRegimen],
    starts: list[date],
    *,
    first_cycle: int = 1,
) -> list[ChemotherapyAdministration]:
    """Each regimen's drugs on each of its cycles' start dates, one regimen after another."""
    items: list[ChemotherapyAdministration] = []
    cycle = 0
    for item in chosen:
        for _ in range(item.cycles):
            items.extend(
                administration(agent, d, starts[cycle], first_cycle + cycle, item.regimen.lead_in)
                for d in item.regimen.drugs
            )
            cycle += 1
    return items


def administration(
    agent: Agent, dose: DrugDoseFact, day: date, cycle: int, lead_in: Fact | None = None
) -> ChemotherapyAdministration:
    """A dose given on ``day``, citing its sentence and, where its regimen's cycles are
    stated in a sentence before it, that sentence too."""
    return ChemotherapyAdministration(
        date=day,
        cycle=cycle,
        drug=dose.drug,
        atc=dose.atc,
        dose=dose.dose,
        unit=dose.unit,
        citations=agent.cite_all([dose, *([lead_in] if lead_in else [])]),
    )


def corticosteroids_over_4_weeks(chosen: list[ChosenRegimen]) -> bool | None:
    """True when a chosen regimen gives a corticosteroid for 4 weeks or more, as its passage
    states ("prednisone 60 mg/m2 per day from day 1 to day 28"); None without chemotherapy."""
    if not chosen:
        return None
    return any(
        d.atc.startswith(CORTICOSTEROID_ATC) and (d.days or 0) >= FOUR_WEEKS
        for item in chosen
        for d in item.regimen.drugs
    )


def intrathecal_item(
    agent: Agent, chosen: IntrathecalFact, facts: list[IntrathecalFact], start: date
) -> IntrathecalTherapy:
    """The chosen combination, with one injection per protocol day the passages name for
    it or for a part of it (at least one), citing each passage used."""
    within = [f for f in facts if set(f.drugs) <= set(chosen.drugs)]
    days = {day for f in within for day in f.days}
    used = [chosen] + [f for f in within if f.days and f is not chosen]
    return IntrathecalTherapy(
        start_date=start,
        injections=max(1, len(days)),
        drugs=list(chosen.drugs),
        citations=agent.cite_all(used),
    )


def atc_of(drug: str) -> str | None:
    return next((t.code for t in drugs() if t.term == drug), None)


def intrathecal_options(facts: list[IntrathecalFact], triple: bool | None) -> list[IntrathecalFact]:
    """The combinations a record may give: all (``triple`` None), the triple ones (True) or
    none of them (False). A passage naming methotrexate, cytarabine and two corticosteroids
    ("hydrocortisone instead of prednisolone") offers one triple combination per
    corticosteroid, not four drugs at once."""
    if triple is None:
        return facts
    triples: dict[tuple[str, ...], IntrathecalFact] = {}
    for fact in facts:
        if not set(fact.drugs) >= TRIPLE_INTRATHECAL:
            continue
        for steroid in [d for d in fact.drugs if d in INTRATHECAL_CORTICOSTEROIDS]:
            drugs = [d for d in fact.drugs if d in TRIPLE_INTRATHECAL or d == steroid]
            triples.setdefault(tuple(drugs), fact.model_copy(update={"drugs": drugs}))
    if triple:
        return list(triples.values())
    return [f for f in facts if not _holds_triple(f.drugs)]


def _holds_triple(drugs: list[str]) -> bool:
    named = set(drugs)
    return named >= TRIPLE_INTRATHECAL and bool(named & INTRATHECAL_CORTICOSTEROIDS)


def regimen_listing(regimens: list[Regimen], labels: EvidenceLabels) -> str:
    return (
        "\n".join(
            f"- {regimen_label(i)}: "
            + ", ".join(f"{d.drug} {d.dose:g} {d.unit}" for d in r.drugs)
            + _schedule(r)
            + f" (source {labels(r.chunk_id)})"
            for i, r in enumerate(regimens, start=1)
        )
        or "- none"
    )


def _schedule(regimen: Regimen) -> str:
    """What the passage states of the regimen's phase and cycles, for the prompt."""
    said = [regimen.phase] if regimen.phase else []
    if regimen.cycles:
        low, high = regimen.cycles
        said.append(f"{low} cycles" if low == high else f"{low} to {high} cycles")
    if regimen.interval_days:
        said.append(f"every {regimen.interval_days} days")
    return f"; {', '.join(said)}" if said else ""


def chosen_intrathecal(options: list[IntrathecalFact], answer: Any) -> IntrathecalFact:
    """The combination the model chose; with one on offer, that one."""
    if len(options) == 1:
        return options[0]
    drugs = answer.get("drugs") if isinstance(answer, dict) else None
    for option in options:
        if ", ".join(option.drugs) == drugs:
            return option
    raise GenerationError(f"intrathecal therapy not in the evidence: {answer!r}")
