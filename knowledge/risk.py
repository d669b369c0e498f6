"""Risk groups a passage names: "high-risk neuroblastoma", "for stage I intermediate risk",
"en el riesgo estándar y alto", "doentes de alto risco", "Chemotherapy for low and
intermediate risk".

Four groups are kept, the ones paediatric protocols stratify by: low, standard (also
"average"), intermediate (also "medium") and high ("very high" is high). Read in English, Spanish,
Portuguese and French, listed groups included ("low and intermediate risk", "riesgo
estándar y alto"). A statement of its own section is scoped by its heading too
(``scope_of``): the COJEC table under "5. High-risk induction" is for high risk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.chunks import GuidelineChunk
from knowledge.sections import Heading, section_at
from knowledge.vocabulary import unaccented

RISK_GROUPS = ("low", "standard", "intermediate", "high")

_LEVEL = {
    "very high": "high",
    "high": "high",
    "low": "low",
    "standard": "standard",
    "average": "standard",
    "intermediate": "intermediate",
    "medium": "intermediate",  # AIEOP-BFM ALL's "medium risk"
    "medio": "intermediate",  # "riesgo medio", "risco médio" (accents folded)
    "muy alto": "high",
    "muito alto": "high",
    "alto": "high",
    "bajo": "low",
    "baixo": "low",
    "estandar": "standard",
    "padrao": "standard",
    "habitual": "standard",
    "intermedio": "intermediate",
    "intermediario": "intermediate",
    "eleve": "high",
    "faible": "low",
    "intermediaire": "intermediate",
}
_LEVELS = "|".join(sorted(map(re.escape, _LEVEL), key=len, reverse=True))
_JOIN = r"\s*(?:,|/|\band\b|\bor\b|\by\b|\bo\b|\be\b|\bou\b|\bet\b)\s*"
_LIST = rf"(?:{_LEVELS})(?:-?{_JOIN}(?:{_LEVELS}))*"
_NAMED = re.compile(
    # "high-risk", "low and intermediate risk", "low- and high-risk", "alto riesgo"
    rf"\b(?P<before>{_LIST})-?\s*(?:risk|riesgo|risco)\b"
    # "riesgo estándar y alto", "risco intermediário", "risque élevé", "risk: high"
    rf"|\b(?:risk|riesgo|risco|risque)(?:\s+group)?\s*:?\s*(?P<after>{_LIST})\b"
)


def risk_groups_in(text: str) -> frozenset[str]:
    """The risk groups ``text`` names, as ``RISK_GROUPS`` members."""
    folded = unaccented(text.lower())
    found: set[str] = set()
    for match in _NAMED.finditer(folded):
        listed = match.group("before") or match.group("after")
        found.update(_LEVEL[level] for level in re.findall(_LEVELS, listed))
    return frozenset(found)


@dataclass(frozen=True)
class RiskScope:
    """The risk groups a statement is for (none named: any), and the passage naming them:
    the statement itself or the heading it stands under."""

    groups: frozenset[str] = frozenset()
    heading: Heading | None = None
    # Groups a sentence of its section denies it ("Radiotherapy is not part of the
    # treatment of low-risk and most intermediate-risk neuroblastoma"), when it names none
    excluded: frozenset[str] = frozenset()

    def fits(self, risk_group: str | None) -> bool:
        if risk_group is None:
            return True
        if self.groups:
            return risk_group in self.groups
        return risk_group not in self.excluded


def scope_of(statement: str, headings: list[Heading], position: int) -> RiskScope:
    """Risk groups of a statement standing at ``position`` of a chunk with ``headings``: the
    ones it names, else those its innermost heading naming any names."""
    named = risk_groups_in(statement)
    if named:
        return RiskScope(named)
    for heading in reversed(section_at(headings, position)):
        named = risk_groups_in(heading.text)
        if named:
            return RiskScope(named, heading)
    return RiskScope()


def fact_risk(quote: str, chunk: GuidelineChunk) -> RiskScope:
    """The risk scope of a fact read from ``chunk``: its sentence's (a table's: its row's),
    else its section heading's; naming none, the groups another sentence of its section
    in the chunk denies."""
    statement = quote
    if chunk.kind == "table":
        statement = next((line for line in chunk.text.splitlines() if quote in line), quote)
    position = max(chunk.text.find(quote), 0)
    scope = scope_of(statement, chunk.headings, position)
    if scope.groups:
        return scope
    section = section_at(chunk.headings, position)
    denied: set[str] = set()
    for sentence in _SENTENCE.finditer(chunk.text):
        if section_at(chunk.headings, sentence.start()) == section:
            denied |= denied_groups(sentence.group())
    return RiskScope(excluded=frozenset(denied))


_SENTENCE = re.compile(r"[^.;]+(?:[.;]|$)")
# "is not part of the treatment of low-risk", "no está indicada en el riesgo bajo", "não é
# indicada no risco baixo": a negation before the group, in its sentence
_NEGATION = re.compile(r"\b(?:not|never|no|nunca|nao|sin|sem|ni|nem)\b")


def denied_groups(sentence: str) -> frozenset[str]:
    """The risk groups a sentence names after a negation: those it says a statement is not
    for."""
    folded = unaccented(sentence.lower())
    negation = _NEGATION.search(folded)
    return risk_groups_in(folded[negation.end() :]) if negation else frozenset()
