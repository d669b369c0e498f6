"""Facts extracted from retrieved passages, each tied to the chunk that states it.

The evidence sheet is what generation may use: the schema offered to the model is built
from these facts, so every drug, dose, radiotherapy dose and code in a record has a
passage behind it. Text in a passage is only ever matched against patterns here; it is
data, never an instruction.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Literal, get_args

from pydantic import BaseModel

from knowledge.chunks import RetrievedChunk
from knowledge.text import sentence_around
from knowledge.vocabulary import Term, drugs, find_terms, radiotherapy_sites

DoseUnit = Literal["mg/m2", "g/m2", "mg/kg", "microgram/kg", "IU/m2", "mg"]
DOSE_UNITS: tuple[str, ...] = get_args(DoseUnit)
_NUMBER = r"(\d+(?:\.\d+)?)"
# A dose follows its drug within a few words ("vincristine 1.5 mg/m2", "cytarabine IV 2 g/m2").
_DOSE_AFTER_DRUG = re.compile(
    rf"[^\d.;:]{{0,24}}?{_NUMBER}\s*({'|'.join(re.escape(u) for u in DOSE_UNITS)})(?![\w/])"
)
_CUMULATIVE = re.compile(r"\bcumulative\b|\btotal dose\b", re.IGNORECASE)
_RADIOTHERAPY = re.compile(rf"{_NUMBER}\s*Gy in (\d+) fractions", re.IGNORECASE)
_MORPHOLOGY = re.compile(r"ICD-O-3 morphology (\d{4}/\d)\s*\(([^)]+)\)")
_TOPOGRAPHY = re.compile(r"ICD-O-3 topography (C\d{2}\.\d)\s*\(([^)]+)\)")
_RT_WORD = re.compile(
    r"\b(?:radiotherapy|irradiation|boost|RT)\b(?:\s+(?:to|of)\s+(?:the\s+)?)?", re.IGNORECASE
)
_SITE_TRIM = " :;,-()"


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


class Regimen(Fact):
    """The drugs and doses one passage gives together (one cycle of a protocol)."""

    drugs: list[DrugDoseFact]


class RadiotherapyFact(Fact):
    site: str
    dose: float
    fractions: int


class CodeFact(Fact):
    code: str
    term: str


class EvidenceSheet(BaseModel):
    """Retrieved passages and the facts found in them."""

    chunks: list[RetrievedChunk]
    drug_doses: list[DrugDoseFact]
    radiotherapy: list[RadiotherapyFact]
    morphologies: list[CodeFact]
    topographies: list[CodeFact]

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

    def chunk(self, chunk_id: str) -> RetrievedChunk:
        for chunk in self.chunks:
            if chunk.chunk_id == chunk_id:
                return chunk
        raise KeyError(chunk_id)


def drug_doses_in(chunk: RetrievedChunk, vocabulary: tuple[Term, ...]) -> list[DrugDoseFact]:
    facts = []
    for term, match in find_terms(chunk.text, vocabulary):
        dose = _DOSE_AFTER_DRUG.match(chunk.text, match.end())
        if dose is None:
            continue
        lead = chunk.text[max(0, match.start() - 30) : match.start()]
        facts.append(
            DrugDoseFact(
                chunk_id=chunk.chunk_id,
                quote=sentence_around(chunk.text, match.start(), dose.end()),
                drug=term.term,
                atc=term.code,
                dose=float(dose.group(1)),
                unit=dose.group(2),
                cumulative=bool(_CUMULATIVE.search(lead + dose.group(0))),
            )
        )
    return facts


def radiotherapy_in(chunk: RetrievedChunk) -> list[RadiotherapyFact]:
    facts = []
    for match in _RADIOTHERAPY.finditer(chunk.text):
        quote = sentence_around(chunk.text, match.start(), match.end())
        facts.append(
            RadiotherapyFact(
                chunk_id=chunk.chunk_id,
                quote=quote,
                site=_site_before(quote, match.group(0)),
                dose=float(match.group(1)),
                fractions=int(match.group(2)),
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
            quote=sentence_around(chunk.text, m.start(), m.end()),
            code=m.group(1),
            term=m.group(2).strip(),
        )
        for m in pattern.finditer(chunk.text)
    ]


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
    return EvidenceSheet(
        chunks=unique,
        drug_doses=list(doses.values()),
        radiotherapy=list(radiotherapy.values()),
        morphologies=list(morphologies.values()),
        topographies=list(topographies.values()),
    )
