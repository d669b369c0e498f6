"""The headings a cited quote stands under on its page, read by the validator for itself.

A guideline puts a dose's purpose in the heading of its section as often as in its own
sentence: "Intravenous busulfan is dosed by body weight ... followed by melphalan 140 mg/m2"
says nothing of a transplant, its heading "7. High-dose chemotherapy with autologous stem
cell rescue" does. The rules that ask what a passage is for (risk_groups.py, regimens.py)
read those headings here, from the stored text of the cited page. Nothing here calls the
generator's heading records (``knowledge.sections``): a mistake there is not repeated here.

A heading is a short line of its own, capitalised, without sentence punctuation or a dose.
A quote's section is the run of headings above it on its page, nearest first, up to the
first numbered one ("7. ..."): the unnumbered ones between are subheadings or a table's
header row. A page without a numbered heading above the quote gives the headings it has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from knowledge.chunks import GuidelineChunk
from service.records import Citation
from service.validation.grounding import ChunkLookup, PageTexts
from service.validation.verifier import fold

NUMBERED = re.compile(r"^\d+(?:\.\d+)*\.?\s+")
_DOSE = re.compile(r"\d\s*(?:mg|g|gy|mci|mbq|iu|%)", re.IGNORECASE)
_HEADING_WORDS = 10


def is_heading(line: str) -> bool:
    """A short line of its own, capitalised, without sentence punctuation or a dose."""
    text = line.strip()
    if not text or len(text) > 80 or "|" in text or text[-1] in ".,;:!?":
        return False
    body = NUMBERED.sub("", text)
    return (
        bool(body)
        and body[0].isupper()
        and len(body.split()) <= _HEADING_WORDS
        and not _DOSE.search(body)
    )


def headings_above(page_text: str, position: int) -> list[str]:
    """The headings a statement at ``position`` of the page stands under: nearest first,
    up to and including the first numbered one (its section's)."""
    found: list[str] = []
    lines = page_text[:position].split("\n")[:-1]  # the statement's own line is no heading
    for line in reversed(lines):
        if not is_heading(line):
            continue
        found.append(line.strip())
        if NUMBERED.match(found[-1]):
            break
    return found


@lru_cache(maxsize=64)
def _folded_chars(text: str) -> tuple[str, tuple[int, ...]]:
    """``text``'s letters and digits, folded, with the position of each in ``text``."""
    kept: list[str] = []
    where: list[int] = []
    for i, char in enumerate(text):
        for c in fold(char):
            if c.isalnum():
                kept.append(c)
                where.append(i)
    return "".join(kept), tuple(where)


def locate(quote: str, page_text: str) -> tuple[int, int] | None:
    """Where the quote stands on the page (spacing, case, accents and punctuation aside); a
    table quote ("header: cell; header: cell") by its first cell."""
    page, where = _folded_chars(page_text)
    for candidate in (quote, _first_cell(quote)):
        wanted = _folded_chars(candidate)[0] if candidate else ""
        at = page.find(wanted) if wanted else -1
        if at >= 0:
            return where[at], where[at + len(wanted) - 1] + 1
    return None


def _first_cell(quote: str) -> str:
    first = re.split(r"[;\n]", quote)[0]
    return first.partition(":")[2].strip() if ":" in first else ""


class CitedPages:
    """The stored text of the pages some citations cite, each page read once. Without a
    knowledge store (or where a chunk or page is not stored) a citation has no page: its
    quote is read alone."""

    def __init__(self, lookup: ChunkLookup | None, citations: Iterable[Citation]):
        self.pages = PageTexts(lookup) if lookup is not None else None
        self.chunks: dict[str, GuidelineChunk] = {}
        wanted = list(dict.fromkeys(c.chunk_id for c in citations))
        if lookup is not None and wanted:
            self.chunks = {c.chunk_id: c for c in lookup.get(wanted)}

    def text(self, citation: Citation) -> str | None:
        chunk = self.chunks.get(citation.chunk_id)
        if chunk is None or self.pages is None:
            return None
        return self.pages.text(chunk.document_id, citation.page)

    def headings(self, citation: Citation) -> list[str]:
        """The headings the citation's quote stands under on its page (``headings_above``);
        none where the page is not stored or the quote is not on it."""
        page = self.text(citation)
        span = locate(citation.quote, page) if page is not None else None
        return headings_above(page, span[0]) if page is not None and span else []
