"""Whom a passage's statement is for: the tumours and the age band it names.

"Other early-stage NLPHL is treated with three cycles of low-dose CVP: cyclophosphamide
500 mg/m2 ..." gives CVP to nodular lymphocyte-predominant Hodgkin lymphoma only; "children
under 10 years receive ..." and "niños de 3 a 5 años" restrict a regimen to an age band.
Tumours are read with the vocabulary (any language it names them in), age bands with
number + unit patterns in English, Spanish, Portuguese and French; nothing depends on how
one corpus words its regimens.

The passage read is the regimen's sentence (its quote); a table row stands for the whole
row when its own cell names nothing, since its other cells ("Tumour: NLPHL; Regimen: ...")
say whom it is for. Neighbouring sentences of running text are not read: normalised chunks
keep no paragraph or heading bounds, and "NLPHL is managed by watch and wait. All other
patients receive OEPA: ..." would wrongly give OEPA to NLPHL only.

Risk groups are not judged: a record carries none to compare with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from knowledge.chunks import RetrievedChunk
from knowledge.facts.mentions import tumour_terms
from knowledge.facts.text import mentions
from knowledge.vocabulary import TumourGroup, tumour_groups, tumour_records, unaccented

ADULT_AGE = 18
_YEARS = r"(?:years?|yrs?|anos?|ans?|jahren?)(?:[- ]old)?"
_MONTHS = r"(?:months?|meses|mes|mois|monaten?)"
_WHO = (
    r"(?:patients?|children|child|infants?|adolescents?|pacientes?|doentes?|ninos?|ninas?"
    r"|criancas?|lactentes?|lactantes?|adolescentes?|enfants?|aged?|ages|edad(?:es)?"
    r"|idades?|between|entre|from|desde)"
)
_NUMBER = r"(\d{1,2})"
# "aged 3 to 5 years", "niños de 3 a 5 años", "children 3-5 anos", "aged 1 year to under 2 years"
_RANGE = re.compile(
    rf"\b{_WHO}\b[^\d.;]{{0,12}}?{_NUMBER}\s*(?:{_YEARS}\s*)?"
    rf"(?:-|–|to|a|ate|y|e|and|al|au|bis)\s*(under\s+|menos de\s+)?{_NUMBER}\s*{_YEARS}"
)
_BELOW = r"(?:under|below|younger than|less than|menores? de|menos de|abaixo de|moins de|<)"
_AT_MOST = r"(?:up to|hasta|ate|jusqu'a|<=|≤|=<)"
_ABOVE = (
    r"(?:over|above|older than|more than|at least|mayores? de|mas de|a partir de|maiores? de"
    r"|acima de|plus de|>=|≥|=>|>)"
)
# Comparisons that, with a unit of years or months, only ever state an age.
_AGE_ONLY = (
    r"(?:under|younger than|older than|menores? de|mayores? de|maiores? de|[<>]=?|[≤≥]|=[<>])"
)
_BOUND = re.compile(
    rf"(?P<who>\b{_WHO}(?:\s+(?:com|con|with|of|de))?\s+)?"
    rf"(?P<op>{_BELOW}|{_AT_MOST}|{_ABOVE})\s*(?P<n>\d{{1,2}})"
    rf"\s*(?P<unit>{_YEARS}|{_MONTHS})?"
    r"(?![\w/%]|[.,]\d|\s*(?:%|kg|g\b|mg|m2|cm|ml|mm|weeks?|semanas|days?|dias|jours))"
)
# "16 years or older", "10 años o más", "12 anos ou mais", "16+ years"
_OR_OLDER = re.compile(
    rf"{_NUMBER}\s*(?:\+\s*{_YEARS}|{_YEARS}\s+(?:or|and|o|y|ou|e|et)\s+"
    rf"(?:older|over|above|more|mas|mayores|mais|maiores|plus))"
)
_ADULT = re.compile(r"\badult(?:s|-type)?\b|\badult[oa]s?\b")
_NOT_ADULT_ONLY = re.compile(
    r"\b(?:child|children|paediatric|pediatric|adolescents?|young adults?|infants?|ninos?"
    r"|criancas?|pediatric[oa]s?|adolescentes?|adultos? jovenes|jovens adultos|enfants?)\b"
)
_NOS = re.compile(r",\s*(?:nos|sai|soe|nas|nsa)$", re.IGNORECASE)


@dataclass(frozen=True)
class Scope:
    """The tumours (morphology codes or group ids) and the age band a passage names."""

    tumours: frozenset[str] = frozenset()
    min_age: int | None = None
    max_age: int | None = None

    @property
    def says_nothing(self) -> bool:
        return not self.tumours and self.min_age is None and self.max_age is None

    def fits(self, morphology: str, age: int) -> bool:
        """Whether a patient with this tumour and age (years) is among those it names."""
        if self.tumours and not any(covers(named, morphology) for named in self.tumours):
            return False
        return (self.min_age is None or age >= self.min_age) and (
            self.max_age is None or age <= self.max_age
        )


def passage_scope(text: str) -> Scope:
    """The tumours and the age band ``text`` restricts its statement to."""
    low, high = age_band(text)
    return Scope(
        tumours=frozenset(m.term.code for m in mentions(text, tumour_terms())),
        min_age=low,
        max_age=high,
    )


def regimen_scope(quote: str, chunk: RetrievedChunk | None = None) -> Scope:
    """A regimen's scope: its sentence's, else (a table) its row's."""
    scope = passage_scope(quote)
    if scope.says_nothing and chunk is not None and chunk.kind == "table":
        row = next((line for line in chunk.text.splitlines() if quote in line), "")
        scope = passage_scope(row)
    return scope


def age_band(text: str) -> tuple[int | None, int | None]:
    """Ages in full years a text restricts to; (None, None) when it names no band or names
    contradictory ones ("under 3 years ... and over 10 years" speaks of two groups)."""
    folded = unaccented(text.lower())
    lows: list[int] = []
    highs: list[int] = []
    for m in _RANGE.finditer(folded):
        lows.append(int(m.group(1)))
        highs.append(int(m.group(3)) - (1 if m.group(2) else 0))
    for m in _BOUND.finditer(folded):
        number, op = int(m.group("n")), m.group("op")
        # "patients under 10" is an age; "over 2 years" alone is as often a duration, and
        # "under 10" alone a count or a score.
        if not m.group("who") and not (m.group("unit") and re.fullmatch(_AGE_ONLY, op)):
            continue
        months = bool(m.group("unit") and re.fullmatch(_MONTHS, m.group("unit")))
        if re.fullmatch(_ABOVE, op):
            lows.append(number // 12 if months else number)
        elif re.fullmatch(_AT_MOST, op):
            highs.append(number // 12 if months else number)
        else:
            highs.append((number - 1) // 12 if months else number - 1)
    lows += [int(m.group(1)) for m in _OR_OLDER.finditer(folded)]
    if _ADULT.search(folded) and not _NOT_ADULT_ONLY.search(folded):
        lows.append(ADULT_AGE)
    low = max(lows) if lows else None
    high = min(highs) if highs else None
    if low is not None and high is not None and low > high:
        return None, None
    return low, high


@cache
def _terms() -> dict[str, str]:
    return {t.code: t.term for t in tumour_records()}


@cache
def _groups() -> dict[str, TumourGroup]:
    return {g.code: g for g in tumour_groups()}


def covers(named: str, morphology: str) -> bool:
    """Whether a tumour a passage names takes in the patient's: the same code, a group
    holding it, or a "NOS" code and one of its subtypes, either way ("classic Hodgkin
    lymphoma, NOS" takes in nodular sclerosis; a patient coded NOS is not known to be of
    another subtype)."""
    if named == morphology:
        return True
    group = _groups().get(named)
    if group is not None:
        return morphology in group.members
    terms = _terms()
    return _subtype_of(terms.get(morphology, ""), terms.get(named, "")) or _subtype_of(
        terms.get(named, ""), terms.get(morphology, "")
    )


def _subtype_of(term: str, unspecified: str) -> bool:
    stem = _NOS.sub("", unspecified)
    return bool(term) and stem != unspecified and term.lower().startswith(stem.lower())
