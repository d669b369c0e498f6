"""The fact extractor: patterns and vocabularies over a page's exact text and its table
rows. Nothing here knows how any particular guideline is written."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from knowledge.chunks import TableCell
from knowledge.facts.doses import DOSE, dose_fields, is_formulation, is_maximum, text_doses
from knowledge.facts.mentions import item_mentions, regimens, tumour_mentions
from knowledge.facts.model import Fact
from knowledge.facts.radiotherapy import radiotherapy_facts
from knowledge.facts.text import mentions
from knowledge.vocabulary import drugs

MAX_ROW_QUOTE = 400  # a drug and its dose further apart on the page are not one statement


def extract_page(
    page: int,
    text: str,
    *,
    language: str | None = None,
    rows: Sequence[Sequence[TableCell]] = (),
) -> list[Fact]:
    """Every fact of one page; ``rows`` are its table rows (cells located on the page).
    Each fact's ``source`` field says who found it: ``patterns`` here, ``model`` for the
    model pass (``knowledge.facts.proposals``)."""
    decimal_comma = language != "en"
    facts = [
        *tumour_mentions(page, text),
        *regimens(page, text),
        *text_doses(page, text, decimal_comma=decimal_comma),
        *radiotherapy_facts(page, text, decimal_comma=decimal_comma),
        *item_mentions(page, text),
    ]
    for row in rows:
        facts.extend(row_doses(page, text, row, decimal_comma=decimal_comma))
    return [replace(f, fields={**f.fields, "source": "patterns"}) for f in _unique(facts)]


def row_doses(
    page: int, text: str, cells: Sequence[TableCell], *, decimal_comma: bool = True
) -> list[Fact]:
    """Doses in one table row whose drug stands in another cell before them (or, in a row
    naming a single drug, anywhere in the row)."""
    located = [c for c in cells if c.page == page and text[c.start : c.end] == c.text]
    by_cell = [mentions(cell.text, drugs()) for cell in located]
    named = [(cell, m) for cell, found in zip(located, by_cell, strict=True) for m in found]
    facts = []
    for position, cell in enumerate(located):
        if by_cell[position]:
            continue  # drug and dose in one cell: the page text pass reads it
        for match in DOSE.finditer(cell.text):
            if is_formulation(cell.text, match):
                continue  # "Injection: 10 mg/10 mL", "Capsule: 20 mg": strengths
            if is_maximum(cell.text, match):
                continue  # "1.5 mg/m2 (max 2 mg)": the cap of the dose before it
            earlier = [(c, m) for c, m in named if located.index(c) < position]
            if earlier:
                drug_cell, mention = earlier[-1]
            elif len({m.term for _, m in named}) == 1:
                drug_cell, mention = named[0]
            else:
                continue
            row_text = " ".join(c.text for c in located)
            fields = dose_fields(
                mention.term, match, row_text, row_text, decimal_comma=decimal_comma
            )
            if fields is None:
                continue
            start = min(drug_cell.start + mention.start, cell.start + match.start())
            end = max(drug_cell.start + mention.end, cell.start + match.end())
            if end - start <= MAX_ROW_QUOTE:
                facts.append(Fact("drug_dose", page, start, end, text[start:end], fields))
    return facts


def _same(a: Fact, b: Fact) -> bool:
    if a.kind != b.kind or a.page != b.page or a.start >= b.end or b.start >= a.end:
        return False
    if a.kind == "drug_dose":
        keys = ("drug", "dose", "unit")
        return all(a.fields.get(k) == b.fields.get(k) for k in keys)
    return a.fields == b.fields


def _unique(facts: Iterable[Fact]) -> list[Fact]:
    """One fact per statement: a table row's dose read again from the page text is kept once."""
    kept: list[Fact] = []
    for fact in facts:
        if not any(_same(fact, other) for other in kept):
            kept.append(fact)
    return sorted(kept, key=lambda f: (f.page, f.start, f.kind))


def for_document(document_id: str, facts: Iterable[Fact]) -> list[Fact]:
    return [replace(f, document_id=document_id) for f in facts]
