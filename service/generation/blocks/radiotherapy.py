"""Radiotherapy courses from chosen evidence: the dose and fractions a passage states, the
technique (external beam unless a passage offers another, total body irradiation for
transplant conditioning), a boost and a shielding block only where a passage states them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from knowledge.evidence import RadiotherapyFact, TechniqueFact
from service.generation.blocks.base import Agent
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
