"""Text normalisation shared by ingestion and citation checks."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.;:!?])\s+(?=[A-Z0-9(\"'])")


def normalize_whitespace(text: str) -> str:
    """Collapse every whitespace run to one space: PDF line breaks are layout, not content."""
    return " ".join(text.split())


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` that contains ``text[start:end]`` (whole text if unsplittable)."""
    left = 0
    for match in _SENTENCE_END.finditer(text, 0, start):
        left = match.end()
    right_match = _SENTENCE_END.search(text, end)
    right = right_match.start() if right_match else len(text)
    return text[left:right].strip()
