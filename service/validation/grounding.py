"""The grounding check: every citation resolves to a stored chunk and to the stored text of
the page it cites, and its quotes support the item, as the independent verifier
(``verifier.py``) reads them.

A citation must name a chunk the knowledge store holds, with that chunk's document and
page, and quote text of that page (the page, not the chunk: a chunk is ingestion's cut of
it). The quotes must then support the item: one names the drug and gives it the item's
dose and unit; one sentence or table row names the radiotherapy site and states its dose
in Gy; one names the surgery, the transplant type or the relapse; a diagnosis's ICD-O-3
codes stand on a cited page. Nothing here reads facts with the generator's extractors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from knowledge.chunks import GuidelineChunk
from knowledge.vocabulary import (
    find_terms,
    groups_holding,
    morphologies,
    topographies,
    tumour_by_name,
    tumour_records,
)
from service.records import (
    ChemotherapyAdministration,
    Citation,
    Diagnosis,
    IntrathecalTherapy,
    PatientRecord,
    RadiotherapyCourse,
    Relapse,
    StemCellTransplant,
    Surgery,
)
from service.validation import verifier, verifier_sources
from service.validation.codes import Vocabulary
from service.validation.context import (
    CheckContext,
    Offending,
    check,
    chemotherapy_label,
    radiotherapy_label,
)

HEADER_PAGES = 2  # a table's header may stand this many pages before a row of it


class ChunkLookup(Protocol):
    """Stored chunks by id, in the order asked (unknown ids left out), and the stored text
    of one page of a document version (None: not stored).

    ``knowledge.store.KnowledgeStore`` implements it (superseded versions included, so a
    record stays verifiable after its guideline is replaced)."""

    def get(self, chunk_ids: Sequence[str]) -> list[GuidelineChunk]: ...

    def page_text(self, document_id: str, page: int) -> str | None: ...


@dataclass
class GroundingReport:
    items: int = 0
    verified: int = 0
    problems: dict[str, list[Offending]] = field(default_factory=dict)
    passed: list[object] = field(default_factory=list, repr=False)  # the verified items

    def of(self, kind: str) -> list[Offending]:
        return self.problems.get(kind, [])

    def verifies(self, item: object) -> bool:
        """Whether this very item (of the record verified) passed every grounding check."""
        return any(i is item for i in self.passed)


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
    if isinstance(item, Surgery):
        return f"surgery {item.description} on {item.date}"
    if isinstance(item, StemCellTransplant):
        return f"{item.type} HSCT on {item.date}"
    if isinstance(item, Relapse):
        return f"relapse on {item.date} ({item.site})"
    return type(item).__name__.lower()


def grounding_of(ctx: CheckContext) -> GroundingReport:
    """The record's grounding, verified once and shared by the grounding checks."""
    if ctx.grounding is None:
        if ctx.chunks is None:
            raise RuntimeError("grounding checks need a chunk lookup")
        ctx.grounding = verify_grounding(ctx.record, ctx.chunks, ctx.vocabulary)
    return ctx.grounding


class PageTexts:
    """Page texts by (document version, page), each read once."""

    def __init__(self, lookup: ChunkLookup):
        self.lookup = lookup
        self.read: dict[tuple[str, int], str | None] = {}

    def text(self, document_id: str, page: int) -> str | None:
        key = (document_id, page)
        if key not in self.read:
            self.read[key] = self.lookup.page_text(document_id, page)
        return self.read[key]


def verify_grounding(
    record: PatientRecord, lookup: ChunkLookup, vocabulary: Vocabulary
) -> GroundingReport:
    """``vocabulary`` is the validator's; the verifier reads the bundled vocabularies."""
    items = list(cited_items(record))
    wanted = list(dict.fromkeys(c.chunk_id for _, _, cites in items for c in cites))
    stored = {c.chunk_id: c for c in lookup.get(wanted)}
    pages = PageTexts(lookup)
    report = GroundingReport(items=len(items))
    for label, item, citations in items:
        problems: list[tuple[str, Offending]] = []
        resolved: list[Citation] = []  # an unresolved citation's quote is no evidence
        texts: list[str] = []  # the cited pages' texts
        for citation in citations:
            chunk = stored.get(citation.chunk_id)
            if chunk is None:
                problems.append(("citation_exists", {"chunk_id": citation.chunk_id}))
                continue
            resolved.append(citation)
            problems += location_problems(citation, chunk)
            text = pages.text(chunk.document_id, citation.page)
            if text is not None:
                texts.append(text)
            if not quote_stands_on_page(citation, chunk, pages):
                problems.append(("quote_on_page", _quoted(citation, stored=text is not None)))
        if resolved:
            problems += _supported(item, resolved, texts)
        for kind, values in problems:
            report.problems.setdefault(kind, []).append({"item": label, **values})
        report.verified += not problems
        if not problems:
            report.passed.append(item)
    return report


def location_problems(citation: Citation, chunk: GuidelineChunk) -> list[tuple[str, Offending]]:
    """The chunk on another page or document than the cited one."""
    if (citation.document, citation.page) == (chunk.document, chunk.page):
        return []
    return [
        (
            "citation_location",
            {
                "chunk_id": chunk.chunk_id,
                "cited": _where(citation),
                "stored": f"{chunk.document} p. {chunk.page}",
            },
        )
    ]


def quote_stands_on_page(citation: Citation, chunk: GuidelineChunk, pages: PageTexts) -> bool:
    """The quote is on the cited page of the chunk's document version (a table chunk's
    quote cell by cell, its headers on that page or the pages before it)."""
    text = pages.text(chunk.document_id, citation.page)
    if text is None:
        return False
    if verifier.quote_on_page(citation.quote, text):
        return True
    if chunk.kind != "table":
        return False
    earlier = range(max(1, citation.page - HEADER_PAGES), citation.page)
    headers = [t for p in earlier if (t := pages.text(chunk.document_id, p)) is not None]
    return verifier.table_quote_on_page(citation.quote, text, headers)


def _quoted(citation: Citation, *, stored: bool) -> Offending:
    quote = citation.quote if len(citation.quote) <= 80 else citation.quote[:77] + "..."
    where = _where(citation) + ("" if stored else " (page text not stored)")
    return {"quote": quote, "cited": where}


def _where(citation: Citation) -> str:
    return f"{citation.document} p. {citation.page}"


def _cited(citations: list[Citation]) -> str:
    return ", ".join(dict.fromkeys(map(_where, citations)))


def _supported(
    item: object, citations: list[Citation], pages: list[str]
) -> list[tuple[str, Offending]]:
    quotes = [c.quote for c in citations]
    cited = _cited(citations)
    if isinstance(item, ChemotherapyAdministration):
        return _dose_supported(item, quotes, cited)
    if isinstance(item, IntrathecalTherapy):
        return [
            ("drug_in_quote", {"drug": drug, "citations": cited})
            for drug in item.drugs
            if not any(verifier.names_drug(q, drug) for q in quotes)
        ]
    if isinstance(item, RadiotherapyCourse):
        return _course_supported(item, quotes, cited)
    if isinstance(item, Surgery | StemCellTransplant | Relapse):
        named, what = _named(item, quotes)
        return [] if named else [("item_named", {"named": what, "citations": cited})]
    if isinstance(item, Diagnosis):
        codes = [item.icdo3_morphology] + ([item.icdo3_topography] if item.icdo3_topography else [])
        return [
            ("code_supported", {"code": code, "citations": cited})
            for code in codes
            if not any(code in page for page in pages) and not _code_named(code, pages)
        ] + [
            ("syndrome_in_quote", {"syndrome": name, "citations": cited})
            for name in item.genetic_conditions
            if not any(
                verifier_sources.names_syndrome(q, name) and _names_tumour(q, item.icdo3_morphology)
                for q in quotes
            )
        ]
    return []


def _course_supported(
    item: RadiotherapyCourse, quotes: list[str], cited: str
) -> list[tuple[str, Offending]]:
    """Site and Gy in one sentence (a metabolic therapy dosed by its activity has none); a
    metabolic therapy's radiopharmaceutical with its activity; a brachytherapy's source,
    applicator and dose rate."""
    problems: list[tuple[str, Offending]] = []
    if item.dose is not None and not any(
        verifier.site_with_dose(q, item.site, item.dose) for q in quotes
    ):
        problems.append(
            ("radiotherapy_site_dose", {"site": item.site, "dose": item.dose, "citations": cited})
        )
    if (m := item.metabolic) is not None and not any(
        verifier_sources.states_activity(q, m.radiopharmaceutical, m.activity, m.activity_unit)
        for q in quotes
    ):
        given = f"{m.radiopharmaceutical} {m.activity:g} {m.activity_unit}"
        problems.append(("activity_in_quote", {"given": given, "citations": cited}))
    if (b := item.brachytherapy) is not None:
        unnamed = [
            verifier_sources.brachytherapy_unnamed(q, b.source, b.applicator, b.dose_rate)
            for q in quotes
        ]
        if all(unnamed):
            fewest = min(unnamed, key=len)
            problems.append(
                ("brachytherapy_in_quote", {"unnamed": ", ".join(fewest), "citations": cited})
            )
    return problems


_PLURAL_OMA = re.compile(r"(\w+oma)s\b", re.IGNORECASE)


def _names_tumour(quote: str, code: str) -> bool:
    """The quote names the tumour coded ``code`` (any vocabulary name, a plural "-omas", a
    tumour group holding it, or the "NOS" code of its group)."""
    terms = tuple(t for t in morphologies() if t.code == code) + groups_holding(code)
    record = tumour_by_name(code)
    if record is not None and record.iccc:
        terms += tuple(
            t
            for t in tumour_records()
            if t.code != code and t.iccc[:1] == record.iccc[:1] and t.term.endswith(", NOS")
        )
    text = _PLURAL_OMA.sub(r"\1", " ".join(quote.split()))
    return bool(terms) and bool(find_terms(text, terms))


def _code_named(code: str, pages: list[str]) -> bool:
    """Whether a cited page names what ``code`` stands for, under any of the vocabulary's
    names for it (any language), or for a tumour group holding it ("low-grade glioma"):
    guidelines rarely print ICD-O-3 codes; the record's codes are the vocabulary's."""
    named = tuple(t for t in (*morphologies(), *topographies()) if t.code == code)
    terms = named + groups_holding(code)
    # A page's lines break where the chunk's text has spaces ("brain\ntumor").
    return bool(terms) and any(find_terms(" ".join(page.split()), terms) for page in pages)


def _named(item: Surgery | StemCellTransplant | Relapse, quotes: list[str]) -> tuple[bool, str]:
    if isinstance(item, Surgery):
        named = any(verifier.names_procedure(q, item.description) for q in quotes)
        return named, f"the procedure '{item.description}'"
    if isinstance(item, StemCellTransplant):
        return any(verifier.names_transplant(q, item.type) for q in quotes), f"{item.type} HSCT"
    return any(verifier.names_relapse(q) for q in quotes), "a relapse"


def _dose_supported(
    item: ChemotherapyAdministration, quotes: list[str], cited: str
) -> list[tuple[str, Offending]]:
    naming = [q for q in quotes if verifier.names_drug(q, item.drug)]
    if not naming:
        return [("drug_in_quote", {"drug": item.drug, "citations": cited})]
    if any(verifier.states_dose(q, item.drug, item.dose, item.unit) for q in naming):
        return []
    stated = [d.text for q in naming for d in verifier.doses_of(q, item.drug)]
    return [
        (
            "dose_in_quote",
            {
                "drug": item.drug,
                "dose": f"{item.dose:g} {item.unit}",
                "stated": ", ".join(dict.fromkeys(stated)) or "no dose",
                "citations": cited,
            },
        )
    ]


# -- the grounding rules (rules.toml, group "grounding") --------------------------------


@check(needs_chunks=True)
def citation_exists(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("citation_exists")


@check(needs_chunks=True)
def citation_location(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("citation_location")


@check(needs_chunks=True)
def quote_on_page(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("quote_on_page")


@check(needs_chunks=True)
def drug_in_quote(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("drug_in_quote")


@check(needs_chunks=True)
def dose_in_quote(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("dose_in_quote")


@check(needs_chunks=True)
def radiotherapy_site_dose(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("radiotherapy_site_dose")


@check(needs_chunks=True)
def item_named(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("item_named")


@check(needs_chunks=True)
def code_supported(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("code_supported")


@check(needs_chunks=True)
def syndrome_in_quote(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("syndrome_in_quote")


@check(needs_chunks=True)
def activity_in_quote(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("activity_in_quote")


@check(needs_chunks=True)
def brachytherapy_in_quote(ctx: CheckContext) -> list[Offending]:
    return grounding_of(ctx).of("brachytherapy_in_quote")
