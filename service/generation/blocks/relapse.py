"""The relapse block: where the tumour came back and the second-line treatment, both from
the tumour's own guideline. The model chooses the site and the second-line option; code
dates them and gives the option's drugs at the doses the guideline states for them, for as
many cycles and as far apart as their passages state."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from knowledge.applicability import regimen_scope
from knowledge.care_facts import SecondLineFact, SiteFact, care_facts
from knowledge.chunks import RetrievedChunk
from knowledge.evidence import DrugDoseFact, build_evidence_sheet
from knowledge.facts.cycles import cycle_schedule
from knowledge.facts.mentions import tumour_terms
from knowledge.facts.text import mentions
from knowledge.vocabulary import groups_holding, tumour_records
from service.generation.blocks.base import Agent, GenerationError, Patient, as_object, unique_by
from service.generation.blocks.chemotherapy import administration, anthracycline_dose
from service.generation.blocks.timeline import (
    CYCLE_DAYS,
    INTERVAL_SLACK,
    SECOND_LINE_DAYS,
    SECOND_LINE_MAX_CYCLES,
    cycle_dates,
)
from service.generation.constraints import EvidenceLabels, choice, const, object_schema
from service.records import Diagnosis, Relapse
from service.requests import RequestError

RELAPSE_SITE_FIRST = "primary site"
_PLURAL_OMA = re.compile(r"(\w+oma)s\b", re.IGNORECASE)


@dataclass(frozen=True)
class RelapsePlan:
    site: SiteFact
    second_line: SecondLineFact | None
    option: list[str]  # the chosen drug group
    doses: list[DrugDoseFact]  # doses the guideline states for the group's drugs


def relapse_block(agent: Agent, patient: Patient, diagnosis: Diagnosis, anchor: str) -> RelapsePlan:
    where = agent.protocol(anchor)
    tumour = diagnosis.tumour
    code = diagnosis.icdo3_morphology
    # Its names in every language: a Portuguese chapter speaks of "tumores embrionários
    # recorrentes", which an English query alone may not reach.
    names = " / ".join(_names(code)[:5])
    queries = [
        f"{tumour} relapse: relapsed or refractory disease, second-line treatment",
        f"{tumour} metastatic sites and sites of relapse",
        f"{names}: recidiva, recaída, doença recorrente ou progressiva, resgate",
    ]

    def about_it(found: list[RetrievedChunk]) -> bool:
        return any(s.relapse and _about(s.quote, code) for s in care_facts(found).sites)

    chunks = agent.retrieve_until(queries, about_it, where)
    if not about_it(chunks):
        # Relapse often has its own chapter ("quimioterapia de resgate") that the
        # tumour's first-line documents do not name it in: the whole store, then.
        chunks += agent.retrieve_until(queries, about_it, None)
    facts = care_facts(chunks)
    found = [s for s in facts.sites if s.sex in (None, patient.sex) and _about(s.quote, code)]
    # The relapse cites its site's sentence, which must speak of relapse: sites a relapse
    # sentence names first, then a relapse read as local for want of a named site; a
    # sentence on metastases alone only where no sentence speaks of relapse.
    tiers = ([s for s in found if s.relapse and s.named], [s for s in found if s.relapse], found)
    sites = unique_by(next((tier for tier in tiers if tier), []), lambda s: s.site)
    if not sites:
        raise RequestError(
            f"a relapse was asked for, but no retrieved passage of the {tumour} guideline "
            "names a site of relapse or spread"
        )
    # A second line written for another tumour or age ("VDC/IE for Ewing sarcoma") is not
    # this patient's; the age is the one at relapse, a year or more after diagnosis at most.
    by_id = {c.chunk_id: c for c in chunks}
    options = [
        (f, group)
        for f in facts.second_line
        if regimen_scope(f.quote, by_id.get(f.chunk_id)).fits(code, patient.age)
        for group in f.options
    ]
    options = unique_by(options, lambda pair: tuple(pair[1]))
    sheet = build_evidence_sheet(chunks)
    labels = EvidenceLabels(sheet)
    sites = agent.shuffled(sites)
    options = agent.shuffled(options)
    properties = {
        "site": choice(
            [
                object_schema({"site": const(s.site), "source": const(labels(s.chunk_id))})
                for s in sites
            ]
        )
    }
    if options:
        properties["second_line"] = choice(
            [
                object_schema(
                    {"drugs": const(" + ".join(group)), "source": const(labels(f.chunk_id))}
                )
                for f, group in options
            ]
        )
    answer = agent.ask(
        "relapse",
        object_schema(properties),
        sites="\n".join(f"- {s.site} (source {labels(s.chunk_id)})" for s in sites),
        second_line="\n".join(
            f"- {' + '.join(group)} (source {labels(f.chunk_id)})" for f, group in options
        )
        or "- none",
        patient=f"{patient.describe()}; {tumour} of the {diagnosis.site}",
    )
    chosen_site = as_object(answer.get("site"))
    site = next((s for s in sites if s.site == chosen_site.get("site")), None)
    if site is None:
        raise GenerationError(f"relapse site not in the evidence: {answer.get('site')!r}")
    second: SecondLineFact | None = None
    group: list[str] = []
    if options:
        chosen = as_object(answer.get("second_line"))
        pair = next((p for p in options if " + ".join(p[1]) == chosen.get("drugs")), None)
        if pair is None:
            raise GenerationError(f"second-line treatment not in the evidence: {chosen!r}")
        second, group = pair
    doses = _doses(agent, tumour, group, where, code=code, age=patient.age)
    return RelapsePlan(site, second, group, doses)


def _names(code: str) -> list[str]:
    """A tumour's names in the vocabulary's languages, then its groups' (most specific first)."""
    tumour = next((t for t in tumour_records() if t.code == code), None)
    own = [*tumour.names_by_language.values()] if tumour is not None else []
    groups = sorted(groups_holding(code), key=lambda g: len(g.members))
    return list(dict.fromkeys([*own, *(n for g in groups for n in g.names[:2])]))


def _about(quote: str, code: str) -> bool:
    """Whether a sentence names no tumour, or this one (by any name, or a group holding it):
    "medulloblastomas relapse" says nothing of a meningioma's relapse."""
    singular = _PLURAL_OMA.sub(r"\1", quote)  # "meduloblastomas" names medulloblastoma
    named = {m.term.code for m in mentions(singular, tumour_terms())}
    return not named or code in named or bool(named & {g.code for g in groups_holding(code)})


def _doses(
    agent: Agent, tumour: str, group: list[str], where: dict[str, str], *, code: str, age: int
) -> list[DrugDoseFact]:
    """A dose the tumour's guideline states for each drug of the group, where it states one
    in a passage not written for another tumour or age."""
    if not group:
        return []
    chunks = agent.retrieve_until(
        [f"{tumour} {' '.join(group)} dose mg/m2"],
        lambda found: any(d.drug in group for d in build_evidence_sheet(found).doses_given()),
        where,
    )
    by_id = {c.chunk_id: c for c in chunks}
    given = [
        d
        for d in build_evidence_sheet(chunks).doses_given()
        if d.drug in group and regimen_scope(d.quote, by_id.get(d.chunk_id)).fits(code, age)
    ]
    return unique_by(sorted(given, key=lambda d: group.index(d.drug)), lambda d: d.drug)


def relapse_item(
    agent: Agent, plan: RelapsePlan, day: date, start: date, *, anthracycline_budget: float
) -> Relapse:
    """The relapse on ``day`` and second-line cycles from ``start``."""
    doses = [d for d in plan.doses if anthracycline_dose([d]) == 0]
    per_cycle = anthracycline_dose(plan.doses)
    (low, high), span = second_line_schedule(plan.doses)
    cycles = agent.rng.randint(low, high)
    if per_cycle and per_cycle * cycles <= anthracycline_budget:
        doses = plan.doses
    starts = cycle_dates(agent.rng, start, cycles, span) if doses else []
    second_line = [
        administration(agent, dose, starts[cycle], cycle + 1)
        for cycle in range(len(starts))
        for dose in doses
    ]
    cited = [plan.site] + ([plan.second_line] if plan.second_line else [])
    return Relapse(
        date=day,
        site=plan.site.site,
        second_line_regimen=" + ".join(plan.option) or None,
        second_line=second_line,
        citations=agent.cite_all(cited),
    )


def second_line_schedule(doses: list[DrugDoseFact]) -> tuple[tuple[int, int], tuple[int, int]]:
    """How many second-line cycles (least, most) and how many days between them (least,
    most): what every dose's passage states ("two cycles every 28 days"), else 2 to 4
    cycles three weeks apart; as many as fit the room the record keeps for them."""
    schedules = [cycle_schedule(quote) for quote in dict.fromkeys(d.quote for d in doses)]
    stated = [s.cycles for s in schedules if s.cycles]
    low = max((c[0] for c in stated), default=2)
    high = min((c[1] for c in stated), default=SECOND_LINE_MAX_CYCLES)
    interval = max((s.interval_days for s in schedules if s.interval_days), default=None)
    span = (CYCLE_DAYS, CYCLE_DAYS) if interval is None else (interval, interval + INTERVAL_SLACK)
    high = min(high, (SECOND_LINE_DAYS - CYCLE_DAYS) // span[1] + 1)
    return (min(low, high), high), span


__all__ = ["RELAPSE_SITE_FIRST", "RelapsePlan", "relapse_block", "relapse_item"]
