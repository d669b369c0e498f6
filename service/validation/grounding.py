"""The grounding verifier: every citation resolves to a stored chunk that supports its item.

A citation must name a chunk the knowledge store holds, with that chunk's document and
page, and quote text found in it. The cited chunks must then support the item: a drug is
named in them and its dose lies within the doses they state for it (when they state any),
a radiotherapy dose lies within the Gy doses they state, a diagnosis's ICD-O-3 codes appear
in them. Facts are read with the same extractors generation uses (knowledge.evidence).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from knowledge.chunks import GuidelineChunk, RetrievedChunk
from knowledge.evidence import drug_doses_in, radiotherapy_in
from knowledge.text import normalize_whitespace
from knowledge.vocabulary import Term, TumourGroup, find_terms
from service.records import (
    ChemotherapyAdministration,
    Citation,
    Diagnosis,
    IntrathecalTherapy,
    PatientRecord,
    RadiotherapyCourse,
)
from service.validation.codes import Vocabulary
from service.validation.context import (
    CheckContext,
    Offending,
    check,
    chemotherapy_label,
    radiotherapy_label,
)

TOLERANCE = 0.005  # relative: rounding of a stated dose is not a grounding failure
# Units a dose can be compared in, with the factor to the base unit.
_BASE_UNIT = {
    "mg/m2": ("mg/m2", 1.0),
    "g/m2": ("mg/m2", 1000.0),
    "mg/kg": ("mg/kg", 1.0),
    "microgram/kg": ("mg/kg", 0.001),
    "IU/m2": ("IU/m2", 1.0),
    "mg": ("mg", 1.0),
}


class ChunkLookup(Protocol):
    """Stored chunks by id, in the order asked; unknown ids are left out.

    ``knowledge.store.KnowledgeStore`` implements it (superseded versions included, so a
    record stays verifiable after its guideline is replaced)."""

    def get(self, chunk_ids: Sequence[str]) -> list[GuidelineChunk]: ...


@dataclass
class GroundingReport:
    items: int = 0
    verified: int = 0
    problems: dict[str, list[Offending]] = field(default_factory=dict)

    def of(self, kind: str) -> list[Offending]:
        return self.problems.get(kind, [])


def cited_items(record: PatientRecord) -> Iterator[tuple[str, object, list[Citation]]]:
    """(label, item, citations) for every cited item, in ``clinical_items`` order."""
    for item in record.clinical_items():
        yield _label(item), item, item.citations
    if record.others and record.others.citations:
        yield "others", record.others, record.others.citations


def _label(item: object) -> str:
    if isinstance(item, Diagnosis):
        return f"diagnosis {item.tumour} ({item.icdo3_morphology})"
    if isinstance(item, ChemotherapyAdministration):
        return f"chemotherapy {chemotherapy_label(item)}"
    if isinstance(item, RadiotherapyCourse):
        return f"radiotherapy {radiotherapy_label(item)}"
    if isinstance(item, IntrathecalTherapy):
        return f"intrathecal {', '.join(item.drugs)}"
    day = getattr(item, "date", None)
    return f"{type(item).__name__.lower()} on {day}" if day else type(item).__name__.lower()


def grounding_of(ctx: CheckContext) -> GroundingReport:
    """The record's grounding, verified once and shared by the grounding checks."""
    if ctx.grounding is None:
        if ctx.chunks is None:
            raise RuntimeError("grounding checks need a chunk lookup")
        ctx.grounding = verify_grounding(ctx.record, ctx.chunks, ctx.vocabulary)
    return ctx.grounding


def verify_grounding(
    record: PatientRecord, lookup: ChunkLookup, vocabulary: Vocabulary
) -> GroundingReport:
    items = list(cited_items(record))
    wanted = list(dict.fromkeys(c.chunk_id for _, _, cites in items for c in cites))
    stored = {c.chunk_id: c for c in lookup.get(wanted)}
    report = GroundingReport(items=len(items))
    for label, item, citations in items:
        problems: list[tuple[str, Offending]] = []
        chunks: list[GuidelineChunk] = []
        for citation in citations:
            chunk = stored.get(citation.chunk_id)
            if chunk is None:
                problems.append(("citation_exists", {"chunk_id": citation.chunk_id}))
                continue
            chunks.append(chunk)
            problems += location_problems(citation, chunk)
        if chunks:
            problems += _supported(item, chunks, vocabulary)
        for kind, values in problems:
            report.problems.setdefault(kind, []).append({"item": label, **values})
        report.verified += not problems
    return report


def location_problems(citation: Citation, chunk: GuidelineChunk) -> list[tuple[str, Offending]]:
    """What is wrong with where a citation points: the chunk on another page or document than
    the cited one, or the quote not in the chunk's text verbatim (whitespace aside)."""
    problems: list[tuple[str, Offending]] = []
    if (citation.document, citation.page) != (chunk.document, chunk.page):
        problems.append(
            (
                "citation_location",
                {
                    "chunk_id": chunk.chunk_id,
                    "cited": f"{citation.document} p. {citation.page}",
                    "stored": f"{chunk.document} p. {chunk.page}",
                },
            )
        )
    if normalize_whitespace(citation.quote) not in normalize_whitespace(chunk.text):
        shown = citation.quote if len(citation.quote) <= 80 else citation.quote[:77] + "..."
        problems.append(("quote_in_chunk", {"chunk_id": chunk.chunk_id, "quote": shown}))
    return problems


def _supported(
    item: object, chunks: list[GuidelineChunk], vocabulary: Vocabulary
) -> list[tuple[str, Offending]]:
    ids = ", ".join(c.chunk_id for c in chunks)
    if isinstance(item, ChemotherapyAdministration):
        return _drug_supported(item, chunks, vocabulary, ids)
    if isinstance(item, IntrathecalTherapy):
        return [
            ("drug_named", {"drug": drug, "chunk_ids": ids})
            for drug in item.drugs
            if not _naming(_drug_term(drug, vocabulary), chunks)
        ]
    if isinstance(item, RadiotherapyCourse):
        stated = [f.dose for c in chunks for f in radiotherapy_in(_retrieved(c))]
        if stated and not _within(item.dose, stated):
            return [("radiotherapy_dose_supported", {"dose": item.dose, "stated": _span(stated)})]
        return []
    if isinstance(item, Diagnosis):
        codes = [item.icdo3_morphology] + ([item.icdo3_topography] if item.icdo3_topography else [])
        return [
            ("code_supported", {"code": code, "chunk_ids": ids})
            for code in codes
            if not any(code in c.text for c in chunks) and not _named(code, chunks, vocabulary)
        ]
    return []


def _named(code: str, chunks: list[GuidelineChunk], vocabulary: Vocabulary) -> bool:
    """Whether a cited passage names what ``code`` stands for, under any of the
    vocabulary's names for it, or for a tumour group holding it ("low-grade glioma")."""
    terms = [
        t
        for t in (*vocabulary.morphologies, *vocabulary.topographies, *vocabulary.groups)
        if t.code == code or (isinstance(t, TumourGroup) and code in t.members)
    ]
    return any(find_terms(c.text, tuple(terms)) for c in chunks) if terms else False


def _drug_supported(
    item: ChemotherapyAdministration,
    chunks: list[GuidelineChunk],
    vocabulary: Vocabulary,
    ids: str,
) -> list[tuple[str, Offending]]:
    term = _drug_term(item.drug, vocabulary)
    naming = _naming(term, chunks)
    if not naming:
        return [("drug_named", {"drug": item.drug, "chunk_ids": ids})]
    base, factor = _BASE_UNIT[item.unit]
    stated = [
        fact.dose * _BASE_UNIT[fact.unit][1]
        for chunk in naming
        for fact in drug_doses_in(_retrieved(chunk), (term,))
        if not fact.cumulative and _BASE_UNIT[fact.unit][0] == base
    ]
    if stated and not _within(item.dose * factor, stated):
        return [
            (
                "dose_supported",
                {
                    "drug": item.drug,
                    "dose": f"{item.dose:g} {item.unit}",
                    "stated": f"{_span(stated)} {base}",
                },
            )
        ]
    return []


def _drug_term(name: str, vocabulary: Vocabulary) -> Term:
    """The vocabulary entry (so aliases count as naming it), or the name itself."""
    return vocabulary.drug(name) or Term(code="", term=name.strip().lower(), aliases=())


def _naming(term: Term, chunks: list[GuidelineChunk]) -> list[GuidelineChunk]:
    return [c for c in chunks if find_terms(c.text, (term,))]


def _retrieved(chunk: GuidelineChunk) -> RetrievedChunk:
    return RetrievedChunk(**chunk.model_dump(), score=1.0)


def _within(value: float, stated: list[float]) -> bool:
    return min(stated) * (1 - TOLERANCE) <= value <= max(stated) * (1 + TOLERANCE)


def _span(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"


# -- the grounding rules (rules.toml, group "grounding") --------------------------------


@check(needs_chunks=True)
def citation_exists(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("citation_exists")


@check(needs_chunks=True)
def citation_location(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("citation_location")


@check(needs_chunks=True)
def quote_in_chunk(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("quote_in_chunk")


@check(needs_chunks=True)
def drug_named(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("drug_named")


@check(needs_chunks=True)
def dose_supported(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("dose_supported")


@check(needs_chunks=True)
def radiotherapy_dose_supported(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("radiotherapy_dose_supported")


@check(needs_chunks=True)
def code_supported(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("code_supported")
