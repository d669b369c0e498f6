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

import re
from collections import Counter
from collections.abc import Iterable
from functools import cache
from typing import Literal

from pydantic import BaseModel, Field

from knowledge.chunks import RetrievedChunk

# Dose facts and regimens live in knowledge.dose_facts; the names other modules import
# from here stay importable from here.
from knowledge.dose_facts import PHASE_RANK as PHASE_RANK
from knowledge.dose_facts import DoseUnit as DoseUnit
from knowledge.dose_facts import (
    DrugDoseFact,
    Fact,
    Regimen,
    decimal_comma,
    drug_doses_in,
    sentence_bounds,
    sentence_of,
    vocabulary_rows,
)
from knowledge.facts.mentions import tumour_terms
from knowledge.facts.radiotherapy import radiotherapy_facts
from knowledge.facts.text import mentions
from knowledge.regimens import regimens_of
from knowledge.text import sentence_around
from knowledge.vocabulary import (
    Term,
    drugs,
    find_terms,
    morphologies,
    radiotherapy_sites,
    topographies,
    tumour_groups,
)

Technique = Literal["proton", "brachytherapy", "metabolic"]
_MORPHOLOGY_CODE = re.compile(r"(?<![\w/.])\d{4}/\d(?![\w/])")
_TOPOGRAPHY_CODE = re.compile(r"\bC\d{2}\.\d\b")
# Words that make a sentence naming an organ a statement of where tumours arise.
_SITE_WORDS = re.compile(
    r"\b(?:primary|prim[aá]ri[oa]s?|sites?|s[ií]tios?|locali[sz]a\w*|located|arises?|arising"
    r"|origin|origem|origen|sede)\b",
    re.IGNORECASE,
)
# "glioma of the optic pathway", "tumor en el cerebelo": a site word right after one of these.
_LOCATIVE = re.compile(
    r"\b(?:in|of|at|em|no|na|nos|nas|do|da|dos|das|de|del|en)\s+"
    r"(?:the\s+|el\s+|la\s+|los\s+|las\s+|o\s+|a\s+|os\s+|as\s+)?$",
    re.IGNORECASE,
)
_METASTASIS = re.compile(r"met[aá]st|secund|late effect|efeitos? tardi|efectos? tard", re.I)
_PRIMARY = re.compile(r"\bprim[aá]r", re.IGNORECASE)
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
def intrathecal_drugs() -> frozenset[str]:
    """Drugs given intrathecally (``drugs.csv``, column ``intrathecal``)."""
    return frozenset(r["name"] for r in vocabulary_rows("drugs.csv") if r["intrathecal"] == "yes")


def radiotherapy_in(chunk: RetrievedChunk) -> list[RadiotherapyFact]:
    """Courses with a total dose and a number of fractions (stated, or the total over the
    dose per fraction), read by ``knowledge.facts``; the site is the vocabulary's, else
    the clause before the dose."""
    facts = []
    text = chunk.text
    for found in radiotherapy_facts(chunk.page, text, decimal_comma=decimal_comma(text)):
        total, fractions = found.fields.get("total_gy"), found.fields.get("fractions")
        if total is None or not fractions:
            continue
        # The clause before a colon names the site ("Radiotherapy to the primary tumour
        # site: 54 Gy in 30 fractions"), so the quote keeps it.
        quote = sentence_around(text, found.start, found.end)
        shielding = _SHIELDING.search(quote)
        min_age, max_age = age_limits(quote)
        facts.append(
            RadiotherapyFact(
                chunk_id=chunk.chunk_id,
                quote=quote,
                site=found.fields.get("site") or _site_before(quote, found.quote),
                dose=float(total),
                fractions=int(fractions),
                boost=bool(found.fields.get("boost")),
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


def tumours_in(chunk: RetrievedChunk) -> list[CodeFact]:
    """The tumours a passage names, under any vocabulary name in any language, or by an
    ICD-O-3 code it prints: the code and preferred term are the vocabulary's, the quote the
    passage's sentence. A tumour group ("glioma de baixo grau") is a fact whose code is the
    group's name."""
    named = [
        CodeFact(
            chunk_id=chunk.chunk_id,
            quote=sentence_of(chunk.text, m.start, m.end),
            code=m.term.code,
            term=m.term.term,
        )
        for m in mentions(chunk.text, tumour_terms())
    ]
    return named + printed_codes(chunk, _MORPHOLOGY_CODE, morphologies())


def printed_codes(
    chunk: RetrievedChunk, pattern: re.Pattern[str], terms: tuple[Term, ...]
) -> list[CodeFact]:
    """Codes of the vocabulary a passage prints ("9364/3", "C71.9"), however it words them."""
    by_code = {t.code: t for t in terms}
    return [
        CodeFact(
            chunk_id=chunk.chunk_id,
            quote=sentence_of(chunk.text, m.start(), m.end()),
            code=m.group(),
            term=by_code[m.group()].term,
        )
        for m in pattern.finditer(chunk.text)
        if m.group() in by_code
    ]


def sites_in(chunk: RetrievedChunk) -> list[CodeFact]:
    """The ICD-O-3 topographies a passage names as where a tumour is (vocabulary names, any
    language): in a sentence that names a tumour or speaks of sites ("primary sites",
    "localização"), not "lung" in a sentence on metastases or late effects."""
    found = []
    for m in mentions(chunk.text, topographies()):
        quote = sentence_of(chunk.text, m.start, m.end)
        if _METASTASIS.search(quote) and not _PRIMARY.search(quote):
            continue
        located = _LOCATIVE.search(chunk.text[max(0, m.start - 12) : m.start])
        if _SITE_WORDS.search(quote) or (located and mentions(quote, tumour_terms())):
            found.append(
                CodeFact(chunk_id=chunk.chunk_id, quote=quote, code=m.term.code, term=m.term.term)
            )
    return found + printed_codes(chunk, _TOPOGRAPHY_CODE, topographies())


def intrathecal_in(chunk: RetrievedChunk, vocabulary: tuple[Term, ...]) -> list[IntrathecalFact]:
    """Intrathecal drugs named after the word "intrathecal", with the days listed there."""
    allowed = intrathecal_drugs()
    facts = []
    for quote, start, _ in sentences_matching(chunk.text, _INTRATHECAL):
        _, right = sentence_bounds(chunk.text, start, start)
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
    groups: list[CodeFact] = Field(default_factory=list)  # tumour groups named (by name)
    topographies: list[CodeFact]
    intrathecal: list[IntrathecalFact] = Field(default_factory=list)
    techniques: list[TechniqueFact] = Field(default_factory=list)

    def doses_given(self) -> list[DrugDoseFact]:
        """Per-administration systemic doses: what a chemotherapy item (a cycle's, a
        conditioning or second-line dose) may be written with; intrathecal doses are
        intrathecal therapy's."""
        return [d for d in self.drug_doses if not d.cumulative and not d.intrathecal]

    def regimens(self) -> list[Regimen]:
        """Doses given, grouped as one cycle gives them (``knowledge.regimens``): a
        sentence's, a table's rows apart from the prose around them; repeated regimens once.
        Only a cycle's doses (``knowledge.dose_facts.cycle_dose``)."""
        return regimens_of(self.chunks)

    def courses(self) -> list[RadiotherapyFact]:
        """Radiotherapy a course may be written with (boosts are added to a course)."""
        return [r for r in self.radiotherapy if not r.boost]

    def boosts(self) -> list[RadiotherapyFact]:
        return [r for r in self.radiotherapy if r.boost]

    def group_members(self) -> list[CodeFact]:
        """Each morphology of each tumour group named, cited to the group's sentence."""
        by_code = {t.code: t for t in morphologies()}
        held = {g.code: g for g in tumour_groups()}
        return [
            CodeFact(chunk_id=g.chunk_id, quote=g.quote, code=code, term=by_code[code].term)
            for g in self.groups
            for code in held[g.code].members
            if code in by_code
        ]

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
    groups: dict[str, CodeFact] = {}
    group_names = {g.code for g in tumour_groups()}
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
        for m in tumours_in(chunk):
            keep_code(groups if m.code in group_names else morphologies, m)
        for t in sites_in(chunk):  # each document's own sites: one per code and document
            topographies.setdefault(f"{chunk.document_sha256}:{t.code}", t)
        for i in intrathecal_in(chunk, vocabulary):
            intrathecal.setdefault(i.quote, i)
        for technique in techniques_in(chunk):
            techniques.setdefault(technique.technique, technique)
    return EvidenceSheet(
        chunks=unique,
        drug_doses=list(doses.values()),
        radiotherapy=list(radiotherapy.values()),
        morphologies=list(morphologies.values()),
        groups=list(groups.values()),
        topographies=list(topographies.values()),
        intrathecal=list(intrathecal.values()),
        techniques=list(techniques.values()),
    )
