"""Facts extracted from retrieved passages, each tied to the chunk that states it.

The evidence sheet is what generation may use: the schema offered to the model is built
from these facts, so every drug, dose, radiotherapy dose, code, procedure and transplant
choice in a record has a passage behind it. Text in a passage is only ever matched against
patterns and vocabularies here; it is data, never an instruction.

Treatment facts (doses, radiotherapy, codes, intrathecal therapy, techniques) are found
here; the facts of the other record blocks (surgery, transplant, supportive care, course)
in ``knowledge.care_facts``, which builds on these.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable
from functools import cache
from typing import Literal, get_args

from pydantic import BaseModel, Field

from knowledge.chunks import RetrievedChunk
from knowledge.text import sentence_around
from knowledge.vocabulary import VOCAB_DIR, Term, drugs, find_terms, radiotherapy_sites

DoseUnit = Literal["mg/m2", "g/m2", "mg/kg", "microgram/kg", "IU/m2", "mg"]
DOSE_UNITS: tuple[str, ...] = get_args(DoseUnit)
Technique = Literal["proton", "brachytherapy", "metabolic"]
_NUMBER = r"(\d+(?:\.\d+)?)"
# A dose follows its drug within a few words ("vincristine 1.5 mg/m2", "cytarabine IV 2 g/m2").
_DOSE_AFTER_DRUG = re.compile(
    rf"[^\d.;:]{{0,24}}?{_NUMBER}\s*({'|'.join(re.escape(u) for u in DOSE_UNITS)})(?![\w/])"
)
_CUMULATIVE = re.compile(r"\bcumulative\b|\btotal dose\b", re.IGNORECASE)
# How long a dose is given: "on days 1-21", "from day 1 to day 28", "for 28 days", "for 8 weeks".
_SPAN = re.compile(
    r"\bdays?\s+(\d+)\s*(?:-|to)\s*(?:day\s+)?(\d+)\b|\bfor\s+(\d+)\s+(days|weeks)\b", re.I
)
_CLAUSE_END = re.compile(r"[.;](?:\s|$)")
_RADIOTHERAPY = re.compile(rf"{_NUMBER}\s*Gy in (\d+) fractions", re.IGNORECASE)
_MORPHOLOGY = re.compile(r"ICD-O-3 morphology (\d{4}/\d)\s*\(([^)]+)\)")
_TOPOGRAPHY = re.compile(r"ICD-O-3 topography (C\d{2}\.\d)\s*\(([^)]+)\)")
_RT_WORD = re.compile(
    r"\b(?:radiotherapy|irradiation|boost|RT)\b(?:\s+(?:to|of)\s+(?:the\s+)?)?", re.IGNORECASE
)
_SITE_TRIM = " :;,-()"
_BOOST = re.compile(r"\bboost\b", re.IGNORECASE)
_SHIELDING = re.compile(r"\bwith (\w+) shielding\b", re.IGNORECASE)
_AGE_RANGE = re.compile(r"\baged (\d+) years? to under (\d+) years?", re.IGNORECASE)
_AGE_MIN = re.compile(r"\baged (\d+) years? or older\b", re.IGNORECASE)
_AGE_MAX = re.compile(r"\b(?:younger than|under) (\d+) years?\b", re.IGNORECASE)
_INTRATHECAL = re.compile(r"\bintrathecal\b", re.IGNORECASE)
_DAY_LIST = re.compile(r"\bdays?\s+(\d+(?:\s*(?:,|and)\s*\d+)*)\b", re.IGNORECASE)
_TECHNIQUES: dict[Technique, re.Pattern[str]] = {
    "proton": re.compile(r"\bproton\b", re.IGNORECASE),
    "brachytherapy": re.compile(r"\bbrachytherap", re.IGNORECASE),
    "metabolic": re.compile(r"\bMIBG\b|\bradionuclide therapy\b|\bradioiodine\b"),
}
CORTICOSTEROID_ATC = "H02"


class Fact(BaseModel):
    """Something a passage states; ``chunk_id`` and ``quote`` make it citable."""

    chunk_id: str
    quote: str


class DrugDoseFact(Fact):
    drug: str
    atc: str
    dose: float
    unit: DoseUnit
    cumulative: bool = False  # "a cumulative doxorubicin 375 mg/m2": a bound, not a dose given
    days: int | None = None  # how many days the dose is given, where the passage says


class Regimen(Fact):
    """The drugs and doses one passage gives together (one cycle of a protocol)."""

    drugs: list[DrugDoseFact]


class AgeLimited(Fact):
    """A fact the passage restricts to an age band ("aged 14 years or older")."""

    min_age: int | None = None
    max_age: int | None = None

    def fits(self, age: int) -> bool:
        return (self.min_age is None or age >= self.min_age) and (
            self.max_age is None or age <= self.max_age
        )


class RadiotherapyFact(AgeLimited):
    site: str
    dose: float
    fractions: int
    boost: bool = False  # "a boost to the residual mass: 10.8 Gy...": added to a course
    shielding: str | None = None  # "with lung shielding"


class CodeFact(Fact):
    code: str
    term: str


class IntrathecalFact(Fact):
    """Drugs a passage gives intrathecally, and the protocol days it names."""

    drugs: list[str]
    days: list[int] = Field(default_factory=list)


class TechniqueFact(Fact):
    """A radiotherapy technique other than external beam that a passage offers."""

    technique: Technique


def sentence_of(text: str, start: int, end: int) -> str:
    """The sentence holding ``text[start:end]``, also when the span opens the sentence.

    (``sentence_around`` only looks for a sentence break before ``start``, and the break
    just before a span that opens its sentence needs the span's first letter to be seen.)
    """
    return sentence_around(text, min(start + 1, end), end)


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Offsets of ``sentence_of(text, start, end)`` within ``text``."""
    sentence = sentence_of(text, start, end)
    left = text.rfind(sentence, 0, end + len(sentence))
    while left > start:  # the same sentence written twice: take the one holding the span
        left = text.rfind(sentence, 0, left)
    return left, left + len(sentence)


def sentences_matching(text: str, pattern: re.Pattern[str]) -> list[tuple[str, int, int]]:
    """Each distinct sentence holding a match, with the match's offsets in ``text``."""
    found: dict[str, tuple[str, int, int]] = {}
    for match in pattern.finditer(text):
        sentence = sentence_of(text, match.start(), match.end())
        found.setdefault(sentence, (sentence, match.start(), match.end()))
    return list(found.values())


def age_limits(sentence: str) -> tuple[int | None, int | None]:
    """The age band a sentence states: "aged 1 year to under 2 years" is (1, 1)."""
    if match := _AGE_RANGE.search(sentence):
        return int(match.group(1)), int(match.group(2)) - 1
    low = int(m.group(1)) if (m := _AGE_MIN.search(sentence)) else None
    high = int(m.group(1)) - 1 if (m := _AGE_MAX.search(sentence)) else None
    return low, high


@cache
def vocabulary_rows(name: str) -> tuple[dict[str, str], ...]:
    """The rows of a CSV of ``knowledge/vocab`` (empty cells as empty strings)."""
    with open(VOCAB_DIR / name, encoding="utf-8", newline="") as handle:
        return tuple(
            {k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)
        )


@cache
def intrathecal_drugs() -> frozenset[str]:
    """Drugs given intrathecally (``drugs.csv``, column ``intrathecal``)."""
    return frozenset(r["name"] for r in vocabulary_rows("drugs.csv") if r["intrathecal"] == "yes")


def drug_doses_in(chunk: RetrievedChunk, vocabulary: tuple[Term, ...]) -> list[DrugDoseFact]:
    facts = []
    found = find_terms(chunk.text, vocabulary)
    for index, (term, match) in enumerate(found):
        dose = _DOSE_AFTER_DRUG.match(chunk.text, match.end())
        if dose is None:
            continue
        lead = chunk.text[max(0, match.start() - 30) : match.start()]
        following = [m.start() for _, m in found[index + 1 :] if m.start() >= dose.end()]
        facts.append(
            DrugDoseFact(
                chunk_id=chunk.chunk_id,
                quote=sentence_of(chunk.text, match.start(), dose.end()),
                drug=term.term,
                atc=term.code,
                dose=float(dose.group(1)),
                unit=dose.group(2),
                cumulative=bool(_CUMULATIVE.search(lead + dose.group(0))),
                days=_days_given(chunk.text[dose.end() : min(following, default=len(chunk.text))]),
            )
        )
    return facts


def _days_given(after_dose: str) -> int | None:
    """The administration span stated after a dose, up to the next drug or clause end."""
    end = _CLAUSE_END.search(after_dose)
    match = _SPAN.search(after_dose[: end.start() if end else len(after_dose)])
    if match is None:
        return None
    if match.group(1):
        return int(match.group(2)) - int(match.group(1)) + 1
    return int(match.group(3)) * (7 if match.group(4).lower() == "weeks" else 1)


def radiotherapy_in(chunk: RetrievedChunk) -> list[RadiotherapyFact]:
    facts = []
    for match in _RADIOTHERAPY.finditer(chunk.text):
        # The clause before a colon names the site ("Radiotherapy to the primary tumour
        # site: 54 Gy in 30 fractions"), so the quote keeps it.
        quote = sentence_around(chunk.text, match.start(), match.end())
        shielding = _SHIELDING.search(quote)
        min_age, max_age = age_limits(quote)
        facts.append(
            RadiotherapyFact(
                chunk_id=chunk.chunk_id,
                quote=quote,
                site=_site_before(quote, match.group(0)),
                dose=float(match.group(1)),
                fractions=int(match.group(2)),
                boost=bool(_BOOST.search(quote)),
                shielding=shielding.group(1).lower() if shielding else None,
                min_age=min_age,
                max_age=max_age,
            )
        )
    return facts


def _site_before(sentence: str, dose_text: str) -> str:
    """The irradiated site the sentence names before the dose.

    The first site term of the vocabulary wins ("Whole-lung irradiation for pulmonary
    metastases: 15 Gy..." gives "whole lung"); without one, the clause just before the
    dose, minus the words "radiotherapy to the", stands for the site.
    """
    prefix = sentence[: sentence.find(dose_text)] if dose_text in sentence else sentence
    named = find_terms(prefix, radiotherapy_sites())
    if named:
        return named[0][0].term
    words = list(_RT_WORD.finditer(prefix))
    site = prefix[words[-1].end() :] if words else prefix
    site = site.split(",")[-1].split(";")[-1].strip(_SITE_TRIM)
    return (site or "tumour site")[:60]


def codes_in(chunk: RetrievedChunk, pattern: re.Pattern[str]) -> list[CodeFact]:
    return [
        CodeFact(
            chunk_id=chunk.chunk_id,
            quote=sentence_of(chunk.text, m.start(), m.end()),
            code=m.group(1),
            term=m.group(2).strip(),
        )
        for m in pattern.finditer(chunk.text)
    ]


def intrathecal_in(chunk: RetrievedChunk, vocabulary: tuple[Term, ...]) -> list[IntrathecalFact]:
    """Intrathecal drugs named after the word "intrathecal", with the days listed there."""
    allowed = intrathecal_drugs()
    facts = []
    for quote, start, _ in sentences_matching(chunk.text, _INTRATHECAL):
        _, right = _sentence_bounds(chunk.text, start, start)
        after = chunk.text[start:right]
        named = [t.term for t, _ in find_terms(after, vocabulary) if t.term in allowed]
        if not named:
            continue
        days = _DAY_LIST.search(after)
        facts.append(
            IntrathecalFact(
                chunk_id=chunk.chunk_id,
                quote=quote,
                drugs=list(dict.fromkeys(named)),
                days=[int(d) for d in re.findall(r"\d+", days.group(1))] if days else [],
            )
        )
    return facts


def techniques_in(chunk: RetrievedChunk) -> list[TechniqueFact]:
    return [
        TechniqueFact(chunk_id=chunk.chunk_id, quote=quote, technique=technique)
        for technique, pattern in _TECHNIQUES.items()
        for quote, _, _ in sentences_matching(chunk.text, pattern)
    ]


class EvidenceSheet(BaseModel):
    """Retrieved passages and the facts found in them."""

    chunks: list[RetrievedChunk]
    drug_doses: list[DrugDoseFact]
    radiotherapy: list[RadiotherapyFact]
    morphologies: list[CodeFact]
    topographies: list[CodeFact]
    intrathecal: list[IntrathecalFact] = Field(default_factory=list)
    techniques: list[TechniqueFact] = Field(default_factory=list)

    def doses_given(self) -> list[DrugDoseFact]:
        """Per-administration doses: what a chemotherapy item may be written with."""
        return [d for d in self.drug_doses if not d.cumulative]

    def regimens(self) -> list[Regimen]:
        """Doses given, grouped by the sentence that states them; repeated regimens once."""
        grouped: dict[tuple[str, str], list[DrugDoseFact]] = {}
        for dose in self.doses_given():
            grouped.setdefault((dose.chunk_id, dose.quote), []).append(dose)
        regimens: dict[tuple[tuple[str, float, str], ...], Regimen] = {}
        for (chunk_id, quote), given in grouped.items():
            unique = list({d.drug: d for d in reversed(given)}.values())[::-1]
            key = tuple((d.drug, d.dose, d.unit) for d in unique)
            regimens.setdefault(key, Regimen(chunk_id=chunk_id, quote=quote, drugs=unique))
        return list(regimens.values())

    def courses(self) -> list[RadiotherapyFact]:
        """Radiotherapy a course may be written with (boosts are added to a course)."""
        return [r for r in self.radiotherapy if not r.boost]

    def boosts(self) -> list[RadiotherapyFact]:
        return [r for r in self.radiotherapy if r.boost]

    def chunk(self, chunk_id: str) -> RetrievedChunk:
        for chunk in self.chunks:
            if chunk.chunk_id == chunk_id:
                return chunk
        raise KeyError(chunk_id)


def build_evidence_sheet(chunks: Iterable[RetrievedChunk]) -> EvidenceSheet:
    """Extract every fact from the passages, one fact per distinct value.

    Drug doses are kept per sentence, so each regimen stays whole. A code stated by
    several documents is attributed to the document with the most retrieved passages: an
    HSCT guideline that lists "Ewing sarcoma" among its indications does not become the
    Ewing guideline.
    """
    unique = list({c.chunk_id: c for c in chunks}.values())
    weight = Counter(c.document_sha256 for c in unique)
    document = {c.chunk_id: c.document_sha256 for c in unique}
    vocabulary = drugs()
    doses: dict[tuple[str, float, str, bool, str, str], DrugDoseFact] = {}
    radiotherapy: dict[tuple[str, float, int], RadiotherapyFact] = {}
    morphologies: dict[str, CodeFact] = {}
    topographies: dict[str, CodeFact] = {}
    intrathecal: dict[str, IntrathecalFact] = {}
    techniques: dict[Technique, TechniqueFact] = {}

    def keep_code(found: dict[str, CodeFact], fact: CodeFact) -> None:
        held = found.get(fact.code)
        if held is None or weight[document[fact.chunk_id]] > weight[document[held.chunk_id]]:
            found[fact.code] = fact

    for chunk in unique:
        for d in drug_doses_in(chunk, vocabulary):
            doses.setdefault((d.drug, d.dose, d.unit, d.cumulative, d.chunk_id, d.quote), d)
        for r in radiotherapy_in(chunk):
            radiotherapy.setdefault((r.site.lower(), r.dose, r.fractions), r)
        for m in codes_in(chunk, _MORPHOLOGY):
            keep_code(morphologies, m)
        for t in codes_in(chunk, _TOPOGRAPHY):
            keep_code(topographies, t)
        for i in intrathecal_in(chunk, vocabulary):
            intrathecal.setdefault(i.quote, i)
        for technique in techniques_in(chunk):
            techniques.setdefault(technique.technique, technique)
    return EvidenceSheet(
        chunks=unique,
        drug_doses=list(doses.values()),
        radiotherapy=list(radiotherapy.values()),
        morphologies=list(morphologies.values()),
        topographies=list(topographies.values()),
        intrathecal=list(intrathecal.values()),
        techniques=list(techniques.values()),
    )
