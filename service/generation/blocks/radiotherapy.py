"""Radiotherapy courses from chosen evidence: the dose and fractions a passage states, the
technique (external beam unless a passage offers another, total body irradiation for
transplant conditioning), a boost and a shielding block only where a passage states them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from knowledge.evidence import EvidenceSheet, RadiotherapyFact, TechniqueFact
from service.generation.blocks.base import Agent, GenerationError
from service.generation.constraints import NO_BOOST, EvidenceLabels
from service.records import RadiotherapyBoost, RadiotherapyCourse, RadiotherapyTechnique
from service.validation.bounds import Bounds

EXTERNAL_BEAM: RadiotherapyTechnique = "external_beam"
TOTAL_BODY = "total body"


@dataclass(frozen=True)
class ChosenCourse:
    fact: RadiotherapyFact
    technique: RadiotherapyTechnique = EXTERNAL_BEAM
    technique_fact: TechniqueFact | None = None
    boost: RadiotherapyFact | None = None


@cache
def _boost_bounds() -> tuple[float, float, float]:
    bounds = Bounds.load().radiotherapy
    return bounds.boost_gy.low, bounds.boost_gy.high, bounds.max_total_with_boost_gy


def boost_fits(course: RadiotherapyFact, boost: RadiotherapyFact) -> bool:
    """A boost the validator's plausibility bounds accept on this course."""
    low, high, total = _boost_bounds()
    return low <= boost.dose <= high and course.dose + boost.dose <= total


def course_item(agent: Agent, chosen: ChosenCourse, start: date) -> RadiotherapyCourse:
    fact = chosen.fact
    cited = [fact, *(f for f in (chosen.technique_fact, chosen.boost) if f is not None)]
    return RadiotherapyCourse(
        start_date=start,
        site=fact.site,
        dose=fact.dose,
        fractions=fact.fractions,
        technique=chosen.technique,
        boost=(
            RadiotherapyBoost(site=chosen.boost.site, dose=chosen.boost.dose)
            if chosen.boost
            else None
        ),
        shielding_block_site=fact.shielding,
        citations=agent.cite_all(cited),
    )


def total_body_irradiation(agent: Agent, fact: RadiotherapyFact, start: date) -> RadiotherapyCourse:
    """Conditioning TBI as the passage states it (with its shielding, if stated)."""
    return course_item(agent, ChosenCourse(fact, technique="tbi"), start)


def is_total_body(fact: RadiotherapyFact) -> bool:
    return fact.site == TOTAL_BODY


# "bone metastases", "for lung metastases", "metástasis pulmonares": metastases as the target
# (not "for high-risk or metastatic medulloblastoma", which names the patients)
_TO_METASTASES = re.compile(
    r"\bmet[aá]st(?:ases|asis)\b|\bmetastatic (?:sites?|lesions?|deposits?)\b",
    re.IGNORECASE,
)


def treats_metastases(fact: RadiotherapyFact) -> bool:
    """Whether a course is given to metastases: only a metastatic record has them."""
    return bool(_TO_METASTASES.search(fact.site) or _TO_METASTASES.search(fact.quote))


def course_listing(
    courses: list[RadiotherapyFact],
    boosts: list[RadiotherapyFact],
    sheet: EvidenceSheet,
    labels: EvidenceLabels,
) -> str:
    lines = [
        f"- {r.site}: {r.dose:g} Gy in {r.fractions} fractions (source {labels(r.chunk_id)})"
        for r in courses
    ]
    lines += [f"- boost to {b.site}: {b.dose:g} Gy (source {labels(b.chunk_id)})" for b in boosts]
    lines += [
        f"- technique: {t.technique} (source {labels(t.chunk_id)})"
        for t in offered_techniques(sheet)
    ]
    return "\n".join(lines) or "- none"


def chosen_courses(
    courses: list[RadiotherapyFact],
    boosts: list[RadiotherapyFact],
    sheet: EvidenceSheet,
    items: list[Any],
) -> list[ChosenCourse]:
    by_value = {(r.site, r.dose, r.fractions): r for r in courses}
    techniques: dict[str, TechniqueFact] = {t.technique: t for t in offered_techniques(sheet)}
    chosen: dict[str, ChosenCourse] = {}
    for item in items:
        fact = by_value.get((item.get("site"), item.get("dose"), item.get("fractions")))
        wanted = item.get("technique", EXTERNAL_BEAM)
        if fact is None or (wanted != EXTERNAL_BEAM and wanted not in techniques):
            raise GenerationError(f"radiotherapy item not in the evidence: {item!r}")
        technique_fact = techniques.get(wanted)
        boost = item.get("boost", NO_BOOST)
        boost_fact = None
        if isinstance(boost, dict):
            boost_fact = next(
                (b for b in boosts if (b.site, b.dose) == (boost.get("site"), boost.get("dose"))),
                None,
            )
            if boost_fact is None:
                raise GenerationError(f"radiotherapy boost not in the evidence: {boost!r}")
        chosen.setdefault(
            fact.site,
            ChosenCourse(
                fact,
                technique=technique_fact.technique if technique_fact else EXTERNAL_BEAM,
                technique_fact=technique_fact,
                boost=boost_fact if boost_fact and boost_fits(fact, boost_fact) else None,
            ),
        )
    return list(chosen.values())


def offered_techniques(sheet: EvidenceSheet) -> list[TechniqueFact]:
    """Proton therapy where a passage offers it; brachytherapy and metabolic therapy need
    a source, applicator or activity that no passage of the corpus states, so never."""
    return [t for t in sheet.techniques if t.technique == "proton"]
