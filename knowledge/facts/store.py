"""The fact index as stored with the document registry: write a version's facts, read
them by document, kind and tumour, and the coverage of the corpus per tumour."""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from knowledge.facts.mentions import tumour_terms
from knowledge.facts.model import Fact
from knowledge.registry import DocumentRow, FactRow
from knowledge.vocabulary import Term, find_terms

BLOCKS = {  # record block -> the fact kinds that can support it
    "chemotherapy": ("drug_dose", "regimen"),
    "radiotherapy": ("radiotherapy",),
    "surgery": ("surgery",),
    "hsct": ("transplant",),
    "others": ("supportive",),
}


def fold(text: str) -> str:
    """Case and accents aside: "Glioma de baixo grau" == "glioma de baixo grau"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def resolve_tumour(name: str) -> list[Term]:
    """The tumours a name or code means, in any language the vocabulary knows."""
    wanted = fold(name.strip())
    exact = [
        t
        for t in tumour_terms()
        if t.code.lower() == wanted or any(fold(n) == wanted for n in t.names)
    ]
    if exact:
        return exact
    return list(dict.fromkeys(term for term, _ in find_terms(name, tumour_terms())))


def page_subjects(facts: Sequence[Fact]) -> dict[tuple[str, int], set[str]]:
    """Per (document, page), the tumour codes the page is about: those it mentions, or, on a
    page naming none (a regimen form, a dosing table), those of the last page before it in
    the same document that named any: a manual names the tumour once, then gives its
    regimens over the following pages."""
    mentioned: dict[tuple[str, int], set[str]] = defaultdict(set)
    pages: set[tuple[str, int]] = set()
    for fact in facts:
        pages.add((fact.document_id, fact.page))
        if fact.kind == "tumour_mention":
            mentioned[(fact.document_id, fact.page)].add(str(fact.fields.get("code")))
    subjects: dict[tuple[str, int], set[str]] = {}
    current: tuple[str, set[str]] = ("", set())
    for key in sorted(pages):
        if key in mentioned:
            current = (key[0], mentioned[key])
        elif current[0] != key[0]:
            continue  # the document's first pages, before any tumour is named
        subjects[key] = set(current[1])
    return subjects


class FactIndex:
    def __init__(self, engine: Engine):
        self.engine = engine

    def put(self, document_id: str, facts: Sequence[Fact]) -> dict[str, int]:
        """Replace a version's facts; returns how many of each kind."""
        rows = {}
        for fact in facts:
            row = FactRow(
                fact_id=fact.key(),
                document_id=document_id,
                kind=fact.kind,
                page=fact.page,
                start=fact.start,
                end=fact.end,
                quote=fact.quote,
                fields=fact.fields,
            )
            rows[row.fact_id] = row
        counts = dict(Counter(row.kind for row in rows.values()))
        with Session(self.engine) as session, session.begin():
            session.execute(delete(FactRow).where(FactRow.document_id == document_id))
            session.add_all(rows.values())
        return counts

    def counts(self, document_id: str) -> dict[str, int]:
        query = (
            select(FactRow.kind, func.count())
            .where(FactRow.document_id == document_id)
            .group_by(FactRow.kind)
        )
        with Session(self.engine) as session:
            return {kind: count for kind, count in session.execute(query).all()}

    def facts(
        self,
        *,
        document_id: str | None = None,
        kinds: Sequence[str] = (),
        tumour: str | None = None,
    ) -> list[Fact]:
        """Facts of active documents (or of ``document_id``, whatever its status); with
        ``tumour``, its mentions and the facts on the pages about it (``page_subjects``)."""
        query = select(FactRow).order_by(FactRow.document_id, FactRow.page, FactRow.start)
        if document_id is not None:
            query = query.where(FactRow.document_id == document_id)
        else:
            active = select(DocumentRow.document_id).where(DocumentRow.status == "active")
            query = query.where(FactRow.document_id.in_(active))
        with Session(self.engine) as session:
            facts = [_fact(row) for row in session.scalars(query)]
        if tumour is not None:
            codes = {t.code for t in resolve_tumour(tumour)}
            subjects = page_subjects(facts)
            pages = {key for key, found in subjects.items() if found & codes}
            facts = [
                f
                for f in facts
                if (f.document_id, f.page) in pages
                and (f.kind != "tumour_mention" or f.fields.get("code") in codes)
            ]
        if kinds:
            facts = [f for f in facts if f.kind in kinds]
        return facts

    def pages_about(self, codes: set[str], kinds: Sequence[str]) -> list[tuple[str, int]]:
        """(document id, page) of the active documents' pages that name a tumour of
        ``codes`` (morphology codes or group names) and state facts of ``kinds``, those with
        the most such facts first."""
        counted = Counter(
            {
                page: sum(f.kind in kinds for f in facts)
                for page, facts in _by_page(self.facts()).items()
                if any(f.kind == "tumour_mention" and f.fields.get("code") in codes for f in facts)
            }
        )
        return [page for page, count in counted.most_common() if count]

    def coverage(self) -> list[dict[str, Any]]:
        """Per tumour mentioned in the active documents: for each record block, the facts on
        pages about it (``page_subjects``), counted per document."""
        facts = self.facts()
        by_page = _by_page(facts)
        tumours: dict[str, dict[str, Any]] = {}
        for fact in facts:
            if fact.kind != "tumour_mention":
                continue
            code = str(fact.fields.get("code"))
            entry = tumours.setdefault(
                code,
                {"code": code, "term": fact.fields.get("term"), "pages": set(), "names": set()},
            )
            entry["names"].add(fact.quote)
        for key, codes in page_subjects(facts).items():
            for code in codes:
                tumours[code]["pages"].add(key)
        report = []
        for code, entry in sorted(tumours.items(), key=lambda item: str(item[1]["term"])):
            blocks: dict[str, dict[str, int]] = {block: {} for block in BLOCKS}
            for key in sorted(entry["pages"]):
                for fact in by_page[key]:
                    for block, kinds in BLOCKS.items():
                        if fact.kind in kinds:
                            counts = blocks[block]
                            counts[fact.document_id] = counts.get(fact.document_id, 0) + 1
            report.append(
                {
                    "code": code,
                    "term": entry["term"],
                    "names": sorted(entry["names"]),
                    "documents": sorted({d for d, _ in entry["pages"]}),
                    "blocks": {
                        block: {"facts": sum(docs.values()), "documents": docs}
                        for block, docs in blocks.items()
                    },
                    "supported": [block for block, docs in blocks.items() if docs],
                }
            )
        return report


def _by_page(facts: Sequence[Fact]) -> dict[tuple[str, int], list[Fact]]:
    """Facts grouped by (document id, page)."""
    pages: dict[tuple[str, int], list[Fact]] = defaultdict(list)
    for fact in facts:
        pages[(fact.document_id, fact.page)].append(fact)
    return pages


def _fact(row: FactRow) -> Fact:
    return Fact(
        kind=row.kind,  # type: ignore[arg-type]
        page=row.page,
        start=row.start,
        end=row.end,
        quote=row.quote,
        fields=dict(row.fields or {}),
        document_id=row.document_id,
    )
