"""Brachytherapy and metabolic (radionuclide) therapy courses, as the tumour's own guideline
states them (``knowledge.radionuclides``): a brachytherapy with its source, applicator, dose
rate, site, Gy and fractions; a metabolic therapy with its radiopharmaceutical and
administered activity (one administration: the activity a passage states is one dose).

Only first-line statements for this tumour and age count (a sentence on refractory disease,
or one naming only other tumours, does not), and a brachytherapy only at a site its sentence
names (a bladder/prostate implant is not a limb tumour's). Asked for, one is in the record
or the request fails naming what the guideline lacks. Not asked for, where radiotherapy is
in the record and a statement fits (one restricted to high-risk disease only a metastatic
record), a record gets it with ``GIVEN_WHEN_STATED`` odds: guidelines give both to selected
patients in experienced centres, not to every child with the tumour.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import TypeVar

from knowledge.applicability import regimen_scope
from knowledge.chunks import RetrievedChunk
from knowledge.radionuclides import (
    BrachytherapyFact,
    MetabolicFact,
    brachytherapy_in,
    metabolic_in,
)
from knowledge.vocabulary import (
    find_terms,
    name_in,
    radiation_terms,
    radiotherapy_sites,
    topographies,
)
from service.generation.blocks.base import WIDEN, Agent, Patient
from service.generation.completeness import coverage_note
from service.records import Brachytherapy, Diagnosis, MetabolicTherapy, RadiotherapyCourse
from service.requests import RequestError

GIVEN_WHEN_STATED = 0.3
SYSTEMIC = "whole body (systemic)"  # radiotherapy_sites.csv: where a radiopharmaceutical goes
ADMINISTRATIONS = 1


def _named(kind: str) -> str:
    """The vocabulary's names of a kind, in English and Spanish: guidelines write
    "iridio-192" as often as "Ir-192", and the query should find either."""
    return " ".join(
        dict.fromkeys(
            n
            for t in radiation_terms(kind)
            for n in (t.term, name_in("es", "radiation", t.term, t.term))
        )
    )


@cache
def brachytherapy_query() -> str:
    return (
        "brachytherapy braquiterapia with a sealed source "
        f"{_named('brachytherapy_source')} applicator dose rate Gy fractions"
    )


@cache
def metabolic_query() -> str:
    return (
        f"metabolic radiotherapy terapia metabólica {_named('radiopharmaceutical')} "
        "administered activity mCi/kg MBq/kg"
    )


@dataclass(frozen=True)
class RadionuclidePlan:
    brachytherapy: BrachytherapyFact | None = None
    metabolic: MetabolicFact | None = None

    @property
    def fractions(self) -> list[int]:
        """Fractions (administrations) to schedule."""
        found = [f.course.fractions for f in (self.brachytherapy,) if f and f.course]
        return found + ([ADMINISTRATIONS] if self.metabolic else [])


def _fits(
    fact: BrachytherapyFact | MetabolicFact,
    chunk: RetrievedChunk,
    patient: Patient,
    diagnosis: Diagnosis,
) -> bool:
    return not fact.relapse and regimen_scope(fact.quote, chunk).fits(
        diagnosis.icdo3_morphology, patient.age
    )


def radionuclide_block(
    agent: Agent,
    patient: Patient,
    diagnosis: Diagnosis,
    anchor: str,
    *,
    brachytherapy: bool | None,
    metabolic: bool | None,
    radiotherapy: bool,
) -> RadionuclidePlan:
    """``brachytherapy`` and ``metabolic``: True asked for, False refused, None as the
    evidence has it (only where ``radiotherapy`` is in the record)."""
    where = agent.protocol(anchor, wide=True)
    tumour = diagnosis.tumour

    def brachy_options(chunks: list[RetrievedChunk]) -> list[BrachytherapyFact]:
        return [
            f
            for c in chunks
            for f in brachytherapy_in(c)
            if f.course is not None
            and f.fits_site(diagnosis.icdo3_topography)
            and _fits(f, c, patient, diagnosis)
        ]

    def metabolic_options(chunks: list[RetrievedChunk]) -> list[MetabolicFact]:
        return [f for c in chunks for f in metabolic_in(c) if _fits(f, c, patient, diagnosis)]

    chosen_brachy: BrachytherapyFact | None = None
    if brachytherapy or (brachytherapy is None and radiotherapy):
        query = f"{tumour} {brachytherapy_query()}"
        chunks = agent.retrieve_until([query], lambda f: bool(brachy_options(f)), where)
        options = brachy_options(chunks)
        if brachytherapy and not options:
            stated = [f for c in chunks for f in brachytherapy_in(c)]
            raise RequestError(
                f"brachytherapy was asked for, but no retrieved passage of the {tumour} "
                f"guideline gives a first-line brachytherapy (source, Gy and fractions) for "
                f"a tumour of the {diagnosis.site}"
                + (
                    f" (its brachytherapy passages are for: "
                    f"{'; '.join(dict.fromkeys(_sites(f) for f in stated))})"
                    if stated
                    else ""
                )
                + f"; {coverage_note(agent.store, diagnosis)}"
            )
        chosen_brachy = _pick(
            agent, options, asked=bool(brachytherapy), diagnosis=diagnosis, kind="brachytherapy"
        )
    chosen_metabolic: MetabolicFact | None = None
    if metabolic or (metabolic is None and radiotherapy):
        query = f"{tumour} {metabolic_query()}"
        chunks = agent.retrieve_until([query], lambda f: bool(metabolic_options(f)), where)
        offered = metabolic_options(chunks)
        if metabolic and not offered:
            raise RequestError(
                f"metabolic therapy was asked for, but no retrieved passage of the {tumour} "
                "guideline gives a radiopharmaceutical with its administered activity as "
                f"first-line treatment; {coverage_note(agent.store, diagnosis)}"
            )
        chosen_metabolic = _pick(
            agent, offered, asked=bool(metabolic), diagnosis=diagnosis, kind="metabolic"
        )
    return RadionuclidePlan(chosen_brachy, chosen_metabolic)


def _sites(fact: BrachytherapyFact) -> str:
    return fact.course.site if fact.course else ", ".join(fact.topographies) or "no site"


_Option = TypeVar("_Option", BrachytherapyFact, MetabolicFact)


def _pick(
    agent: Agent, options: list[_Option], *, asked: bool, diagnosis: Diagnosis, kind: str
) -> _Option | None:
    """One option, seeded: always when asked for, else now and then (a statement for
    high-risk disease only for a metastatic or high-risk record), drawn with a generator of
    its own so that a record without one keeps every other choice."""
    if asked:
        return agent.shuffled(options)[0] if options else None
    high = diagnosis.metastatic or diagnosis.risk_group == "high"
    options = [f for f in options if not f.high_risk or high]
    draw = random.Random(f"{agent.seed}:{kind}")
    if not options or draw.random() >= GIVEN_WHEN_STATED:
        return None
    return draw.choice(options)


def brachytherapy_sites(agent: Agent) -> frozenset[str]:
    """The ICD-O-3 topography categories ("C67") the store's brachytherapy passages with a
    course name: where a record asking for brachytherapy should have its tumour."""
    chunks = agent.retrieve(brachytherapy_query(), widen=WIDEN)
    return frozenset(
        code[:3] for c in chunks for f in brachytherapy_in(c) if f.course for code in f.topographies
    )


def _course_site(fact: BrachytherapyFact, diagnosis: Diagnosis) -> str:
    """The site its sentence names that is the tumour's own ("prostate" for a prostate
    tumour where the sentence speaks of "vejiga y próstata"), else the course's site."""
    topography = diagnosis.icdo3_topography
    for site, _ in find_terms(fact.quote, radiotherapy_sites()):
        named = {t.code[:3] for name in site.names for t, _ in find_terms(name, topographies())}
        if topography is not None and topography[:3] in named:
            return site.term
    return fact.course.site if fact.course else SYSTEMIC


def radionuclide_items(
    agent: Agent, plan: RadionuclidePlan, diagnosis: Diagnosis, start: date
) -> list[RadiotherapyCourse]:
    courses = []
    if (b := plan.brachytherapy) is not None and b.course is not None:
        courses.append(
            RadiotherapyCourse(
                start_date=start,
                site=_course_site(b, diagnosis),
                dose=b.course.dose,
                fractions=b.course.fractions,
                technique="brachytherapy",
                brachytherapy=Brachytherapy(
                    source=b.source, applicator=b.applicator, dose_rate=b.dose_rate
                ),
                citations=[agent.cite(b)],
            )
        )
    if (m := plan.metabolic) is not None:
        courses.append(
            RadiotherapyCourse(
                start_date=start,
                site=SYSTEMIC,
                dose=None,
                fractions=ADMINISTRATIONS,
                technique="metabolic",
                metabolic=MetabolicTherapy(
                    radiopharmaceutical=m.radiopharmaceutical,
                    activity=m.activity,
                    activity_unit=m.activity_unit,
                ),
                citations=[agent.cite(m)],
            )
        )
    return courses
