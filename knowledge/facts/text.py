"""Where a statement ends: sentences of page text, and vocabulary mentions without overlap."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.vocabulary import Term, find_terms

# A sentence ends at ". X" (not "1.5"), at ";", "!" or "?", or at a blank line.
_SENTENCE_END = re.compile(r"[.!?](?=\s+[A-ZÀ-Ý(])|[;!?](?=\s)|\n\s*\n|\n(?=\s*[•·▪●\-–]\s)")


@dataclass(frozen=True)
class Mention:
    term: Term
    start: int
    end: int


def sentences(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` spans covering ``text``, one per sentence (lines wrap freely)."""
    spans, begin = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((begin, match.end()))
        begin = match.end()
    if begin < len(text):
        spans.append((begin, len(text)))
    return spans


def mentions(text: str, terms: tuple[Term, ...]) -> list[Mention]:
    """Each vocabulary mention once: the longest name wins where names overlap
    ("vincristine sulfate" over "vincristine")."""
    found = sorted(
        (Mention(term, m.start(), m.end()) for term, m in find_terms(text, terms)),
        key=lambda m: (m.start, -(m.end - m.start)),
    )
    kept: list[Mention] = []
    for mention in found:
        if kept and mention.start < kept[-1].end:
            continue
        kept.append(mention)
    return kept


def within(found: list[Mention], begin: int, stop: int) -> list[Mention]:
    """The mentions of a page that fall in ``[begin, stop)``, offsets made relative to it
    (the vocabulary is searched once per page, not once per sentence)."""
    return [
        Mention(m.term, m.start - begin, m.end - begin)
        for m in found
        if begin <= m.start and m.end <= stop
    ]
