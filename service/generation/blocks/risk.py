"""The record's protocol risk group, from the risk groups its guideline's regimens and
radiotherapy are written for.

A regimen or course is for the risk groups its sentence (a table's row) names, else those
of the heading it stands under ("5. High-risk induction": the COJEC table, the TVD
sentence), else any (``knowledge.risk``). Where the tumour's options name risk groups, the
record gets one: the one asked for, else drawn (a metastatic record, or one with a
transplant, high risk where the guideline has one), each group only where the options for
it cover every block asked for.
Only the options for that group are offered, so a record never mixes the low-risk and the
high-risk arm. The diagnosis cites the sentence or heading naming the group.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from knowledge.chunks import GuidelineChunk
from knowledge.evidence import Fact
from knowledge.risk import RISK_GROUPS, RiskScope, fact_risk
from service.generation.blocks.base import Agent
from service.records import Diagnosis
from service.requests import RequestError

OUTSIDE_SHARE = 0.5  # records outside the only group a guideline names


@dataclass
class RiskChoice:
    """The group chosen (None: the options name none, or none covers the blocks) and the
    scope of each option, by (chunk id, quote)."""

    group: str | None = None
    scopes: dict[tuple[str, str], RiskScope] = field(default_factory=dict)
    settled: bool = True  # False: the options name groups, but none covers every block
    # Outside the one group the guideline names (its other patients): only the options
    # naming no group, and no group on the record
    outside: bool = False

    def fits(self, fact: Fact) -> bool:
        scope = self.scopes.get((fact.chunk_id, fact.quote))
        if scope is None:
            return True
        return not scope.groups if self.outside else scope.fits(self.group)

    def naming(self, facts: Sequence[Fact]) -> Fact | None:
        """The first of ``facts`` whose scope names the group."""
        for fact in facts:
            scope = self.scopes.get((fact.chunk_id, fact.quote))
            if scope is not None and self.group in scope.groups:
                return fact
        return None


def choose_risk(
    agent: Agent,
    diagnosis: Diagnosis,
    options: Mapping[str, Sequence[Fact]],
    chunk: Callable[[str], GuidelineChunk],
    asked: str | None,
    also: Sequence[Fact] = (),
    *,
    strict: bool = True,
    transplant: Sequence[Fact] | None = None,
) -> RiskChoice:
    """The risk group for a record whose blocks (names of ``options``: "chemotherapy",
    "radiotherapy") are each to be given from their options; ``also`` are options the
    group then filters (boosts) without deciding it; ``transplant`` the first-line
    transplant's passages (its indication, its conditioning), whose groups come first
    (none named: high risk first, as for metastatic disease). Where no group fits (the one
    asked for is not named, or none covers every block), a ``strict`` choice refuses an
    asked group and leaves a drawn one unset; otherwise the choice is not ``settled``, so
    the caller may look wider first."""
    deciding = [f for facts in options.values() for f in facts]
    scopes = {(f.chunk_id, f.quote): fact_risk(f.quote, chunk(f.chunk_id)) for f in deciding}
    named = {g for s in scopes.values() for g in s.groups}
    scopes |= {
        (f.chunk_id, f.quote): fact_risk(f.quote, chunk(f.chunk_id))
        for f in [*also, *(transplant or ())]
    }
    transplanted = {g for f in transplant or () for g in scopes[(f.chunk_id, f.quote)].groups}
    named |= transplanted
    if asked is not None and asked not in named:
        if not strict:
            return RiskChoice(None, scopes, settled=False)
        raise RequestError(
            f"a {asked}-risk {diagnosis.tumour} was asked for, but the retrieved regimens and "
            f"radiotherapy of its guideline are written for "
            + (", ".join(f"{g} risk" for g in RISK_GROUPS if g in named) or "no risk group")
        )
    order = [g for g in RISK_GROUPS if g in named]
    random.Random(f"{agent.seed}:risk").shuffle(order)
    # The transplant's groups first; else metastatic disease, and a first-line transplant
    # (high-dose chemotherapy), the high-risk arm's where the guideline has one.
    first = transplanted or ({"high"} if diagnosis.metastatic or transplant is not None else set())
    order = [g for g in order if g in first] + [g for g in order if g not in first]
    candidates = [RiskChoice(g, scopes) for g in ([asked] if asked is not None else order)]
    if asked is None and len(named) == 1:
        # A guideline naming one group only ("high-risk patients received brentuximab")
        # has other patients too: as likely, one of them.
        outside = RiskChoice(None, scopes, outside=True)
        draw = random.Random(f"{agent.seed}:risk-outside").random() < OUTSIDE_SHARE
        candidates.insert(0 if draw and not first else len(candidates), outside)
    for choice in candidates:
        if all(any(choice.fits(f) for f in facts) for facts in options.values() if facts):
            return choice
    if not strict and named:
        return RiskChoice(None, scopes, settled=False)
    if asked is not None:
        raise RequestError(
            f"a {asked}-risk {diagnosis.tumour} was asked for, but its guideline's "
            f"{asked}-risk passages do not give every treatment asked for ("
            + ", ".join(sorted(options))
            + ")"
        )
    return RiskChoice(None, scopes)


def with_risk(
    agent: Agent,
    diagnosis: Diagnosis,
    choice: RiskChoice,
    chosen: Sequence[Fact],
    offered: Sequence[Fact],
) -> Diagnosis:
    """The diagnosis with the group chosen, citing the sentence or heading that names it:
    one of the options chosen where one does, else one offered."""
    fact = choice.naming(chosen) or choice.naming(offered)
    if choice.group is None or fact is None:
        return diagnosis
    heading = choice.scopes[(fact.chunk_id, fact.quote)].heading
    citation = agent.cite(fact) if heading is None else agent.cite_heading(heading)
    return diagnosis.model_copy(
        update={"risk_group": choice.group, "citations": [*diagnosis.citations, citation]}
    )
