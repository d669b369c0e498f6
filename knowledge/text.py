"""Text normalisation shared by ingestion and citation checks."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

# A sentence ends at punctuation before a capital, a digit or an opening mark, except after
# an abbreviation that a number follows: "vincristina 1,5 mg/m2 (máx. 2 mg)", "approx. 5".
_SENTENCE_END = re.compile(
    r"(?<=[.;:!?])(?<!\bm[aá]x\.)(?<!\bm[ií]n\.)(?<!\bapprox\.)(?<!\baprox\.)(?<!\bca\.)"
    r"\s+(?=[A-Z0-9(\"'])"
)


def normalize_whitespace(text: str) -> str:
    """Collapse every whitespace run to one space: PDF line breaks are layout, not content."""
    return " ".join(text.split())


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` of each sentence of ``text[start:end]``, split as
    ``sentence_around`` splits (the last may run on past ``end``: it is cut there)."""
    spans, left = [], start
    for match in _SENTENCE_END.finditer(text, start, end):
        spans.append((left, match.start()))
        left = match.end()
    if text[left:end].strip():
        spans.append((left, end))
    return spans


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` that contains ``text[start:end]`` (whole text if unsplittable)."""
    left = 0
    for match in _SENTENCE_END.finditer(text, 0, start):
        left = match.end()
    right_match = _SENTENCE_END.search(text, end)
    right = right_match.start() if right_match else len(text)
    return text[left:right].strip()


@dataclass(frozen=True)
class SourceMap:
    """Where each run of normalised text came from in the exact page text.

    ``segments`` are ``(norm_start, src_start, src_end, exact)`` sorted by ``norm_start``;
    a segment runs to the next one's ``norm_start``. An exact segment maps character by
    character; another (a replacement such as ``², `` or a collapsed whitespace run) maps
    as a whole."""

    segments: tuple[tuple[int, int, int, bool], ...]
    length: int  # of the normalised text

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the exact page text that normalised ``[start, end)`` came from."""
        if not 0 <= start < end <= self.length:
            raise ValueError(f"span {start}:{end} outside 0:{self.length}")
        return self._source(start, first=True), self._source(end - 1, first=False)

    def _source(self, position: int, *, first: bool) -> int:
        index = bisect_right(self._starts, position) - 1
        norm_start, src_start, src_end, exact = self.segments[index]
        if exact:
            return src_start + (position - norm_start) + (0 if first else 1)
        return src_start if first else src_end

    @cached_property
    def _starts(self) -> list[int]:
        return [segment[0] for segment in self.segments]

    def as_json(self) -> list[list[int]]:
        return [[n, s, e, int(x)] for n, s, e, x in self.segments]

    @classmethod
    def from_json(cls, data: Sequence[Sequence[int]], length: int) -> SourceMap:
        return cls(tuple((n, s, e, bool(x)) for n, s, e, x in data), length)
