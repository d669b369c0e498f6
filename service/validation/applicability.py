"""Whom a cited regimen is for: the tumour and the age band its passage names.

"Other early-stage NLPHL is treated with three cycles of low-dose CVP: cyclophosphamide
500 mg/m2 ..." is a regimen for nodular lymphocyte-predominant Hodgkin lymphoma; cited for
a classic Hodgkin lymphoma it is the wrong regimen, however right its doses. The tumours a
quote names are found with the vocabulary (``ctx.vocabulary``: morphologies and tumour
groups, any language); an age band with the words below (English, Spanish, Portuguese).
A quote naming no tumour and no age band is for anyone.

Written apart from the generator's reading of the same passages
(``knowledge.applicability``): nothing here calls it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from knowledge.vocabulary import Term, find_terms
from service.records import ChemotherapyAdministration, Diagnosis
from service.validation.codes import Vocabulary
from service.validation.context import CheckContext, Offending, check, chemotherapy_label
from service.validation.regimens import is_conditioning
from service.validation.verifier import fold

_UNIT = r"(?:years?|yrs?|anos?|ans)\b"
# A comparison and the bound it sets on age in full years from the number it is given.
_BELOW = r"under|younger than|menores de|menor de|menos de|abaixo de|<"
_AT_MOST = r"up to|hasta|ate|<=|≤"
_ABOVE = r"older than|over|above|at least|mayores de|mayor de|maiores de|a partir de|>=|≥|>"
_PEOPLE = r"patients?|children|infants?|adolescents?|pacientes|ninos|ninas|criancas|doentes"
# What else a number after "under" may count: a weight, a dose, a month or day count.
_NOT_AGE = r"%|kg|g\b|mg|m2|cm|ml|mm|months?|mes|meses|weeks?|semanas|days?|dias"
_COMPARED = re.compile(
    rf"(?P<people>(?:{_PEOPLE})\s+(?:(?:with|con|com)\s+)?)?"
    rf"(?<!\w)(?P<op>{_BELOW}|{_AT_MOST}|{_ABOVE})\s*(?P<n>\d{{1,2}})\s*(?P<unit>{_UNIT})?"
    rf"(?![\d%]|[.,]\d|\s*(?:{_NOT_AGE}))"
)
_SPAN = re.compile(
    rf"(?:aged?|ages|edad|edades|idade|{_PEOPLE})\s+(?:(?:de|of|from|entre)\s+)?"
    rf"(?P<low>\d{{1,2}})\s*(?:{_UNIT}\s*)?(?:-|to|a|e|y|and)\s*(?P<under>under\s+)?"
    rf"(?P<high>\d{{1,2}})\s*{_UNIT}"
)
_OR_OLDER = re.compile(
    rf"(\d{{1,2}})\s*{_UNIT}\s+(?:or|and|o|y|ou|e)\s+(?:older|over|more|mas|mayores|mais|maiores)"
)
_ADULTS = re.compile(r"\badult(?:s|-type| type)?\b|\badultos\b")
_YOUNG = re.compile(r"child|paediatric|pediatric|adolescen|young adult|nin[oa]s|crian|infant")


def named_tumours(quote: str, vocabulary: Vocabulary) -> list[Term]:
    """Tumours (morphologies, groups) a quote names; the longest name where names overlap
    ("nodular lymphocyte predominant Hodgkin lymphoma", not "Hodgkin lymphoma" inside it)."""
    hits = find_terms(quote, (*vocabulary.morphologies, *vocabulary.groups))
    hits.sort(key=lambda hit: (hit[1].start(), -hit[1].end()))
    kept: list[Term] = []
    end = -1
    for term, match in hits:
        if match.start() >= end:
            kept.append(term)
            end = match.end()
    return kept


def _stem(term: str) -> str | None:
    """ "classic Hodgkin lymphoma" of "classic Hodgkin lymphoma, NOS"; None if not NOS."""
    head, sep, tail = term.rpartition(",")
    return head.strip().lower() if sep and tail.strip().lower() in {"nos", "sai", "soe"} else None


def takes_in(named: Term, diagnosis: Diagnosis, vocabulary: Vocabulary) -> bool:
    """The named tumour is the patient's, a group holding it, or its NOS parent or subtype."""
    code = diagnosis.icdo3_morphology
    if named.code == code or code in getattr(named, "members", ()):
        return True
    own = vocabulary.morphology(code)
    if own is None:
        return False
    named_stem, own_stem = _stem(named.term), _stem(own.term)
    return bool(
        (named_stem and own.term.lower().startswith(named_stem))
        or (own_stem and named.term.lower().startswith(own_stem))
    )


def age_limits(quote: str) -> tuple[int | None, int | None]:
    """The band of ages (full years) a quote gives its statement to; (None, None) if none
    or if it states two that exclude each other."""
    text = fold(quote)
    lows, highs = [], []
    for m in _SPAN.finditer(text):
        lows.append(int(m["low"]))
        highs.append(int(m["high"]) - (1 if m["under"] else 0))
    for m in _COMPARED.finditer(text):
        if not (m["people"] or m["unit"]):
            continue  # "under 10" alone: a count or a score as often as an age
        if m["op"] in {"over", "above", "at least", "up to", "hasta", "ate"} and not m["people"]:
            continue  # "over 2 years", "up to 2 years": a duration as often as an age
        n = int(m["n"])
        if re.fullmatch(_ABOVE, m["op"]):
            lows.append(n)
        elif re.fullmatch(_AT_MOST, m["op"]):
            highs.append(n)
        else:
            highs.append(n - 1)
    lows += [int(m.group(1)) for m in _OR_OLDER.finditer(text)]
    if _ADULTS.search(text) and not _YOUNG.search(text):
        lows.append(18)
    low, high = (max(lows) if lows else None), (min(highs) if highs else None)
    return (None, None) if low is not None and high is not None and low > high else (low, high)


def _band(low: int | None, high: int | None) -> str:
    if high is None:
        return f"{low} years and over"
    return f"{low or 0} to {high} years"


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _lines(ctx: CheckContext) -> Iterator[tuple[str, ChemotherapyAdministration, Diagnosis, int]]:
    """Each chemotherapy item with the diagnosis it treats and the patient's age then: at
    diagnosis for first-line and second-tumour treatment, at the relapse for second line."""
    record = ctx.record
    birth = record.demographics.birth_date
    for i, c in enumerate(record.chemotherapy):
        yield f"chemotherapy[{i}]", c, record.diagnosis, record.diagnosis.age_at_diagnosis
    if record.relapse:
        age = _age_on(birth, record.relapse.date)
        for i, c in enumerate(record.relapse.second_line):
            yield f"relapse.second_line[{i}]", c, record.diagnosis, age
    if record.second_tumour:
        second = record.second_tumour.diagnosis
        for i, c in enumerate(record.second_tumour.chemotherapy):
            yield f"second_tumour.chemotherapy[{i}]", c, second, second.age_at_diagnosis


@check()
def regimen_fits_patient(ctx: CheckContext) -> Iterator[Offending]:
    """No cited quote gives the item's regimen only to another tumour or another age band.

    Conditioning doses are not judged: a transplant passage lists the tumours transplanted
    ("Autologous HSCT in high-risk neuroblastoma and Ewing sarcoma uses the BuMel regimen"),
    whether to transplant is the transplant rules' question."""
    for path, item, diagnosis, age in _lines(ctx):
        if is_conditioning(item):
            continue
        for citation in item.citations:
            named = named_tumours(citation.quote, ctx.vocabulary)
            low, high = age_limits(citation.quote)
            if named and not any(takes_in(t, diagnosis, ctx.vocabulary) for t in named):
                why = f"names only {', '.join(dict.fromkeys(t.term for t in named))}"
            elif (low is not None and age < low) or (high is not None and age > high):
                why = f"is for ages {_band(low, high)}"
            else:
                continue
            yield {
                "path": path,
                "item": chemotherapy_label(item),
                "tumour": f"{diagnosis.tumour} ({diagnosis.icdo3_morphology})",
                "age": age,
                "why": why,
                "quote": citation.quote,
            }
            break
