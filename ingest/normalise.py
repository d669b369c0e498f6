"""Page text normalisation that remembers where every character came from.

Retrieval and extraction want clean text (``mg/m²`` read as ``mg/m2``, ``1, 5 mg`` as
``1.5 mg``, words split at line ends joined, running headers gone); a citation wants the
page's own words. ``normalise_page`` gives both: the clean text and a ``SourceMap`` from
any span of it back to the span of the exact page text it was made from, so a quote taken
from a chunk is shown verbatim as it stands on its page.

The clean text keeps line breaks (as single ``\\n``, a whitespace run that held one) so
headings can still be told from passages; replacing them by spaces changes no offset.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.text import SourceMap

# Units a dose or radiotherapy figure is followed by: "1, 5 mg/m2" is a decimal broken by
# the PDF's text layer (LaTeX kerning), "dias 1, 8 e 15" is a list and stays.
_UNIT = r"(?:mg|mcg|µg|μg|g|kg|ml|mL|l|L|Gy|cGy|UI|IU|U|mmol|mEq|%|m2|m²)(?![^\W\d_])"
_TOKEN = re.compile(
    r"(?P<soft>\u00ad[ \t]*(?:\r?\n[ \t]*)?)"  # soft hyphen, with the line break it hides
    r"|(?P<split>(?<=[a-zà-öø-ÿ])-[ \t]*\r?\n\s*(?=[a-zà-öø-ÿ]))"  # "so-\nbrevida"
    rf"|(?P<artefact>(?<=\d), (?=\d{{1,2}}\s?{_UNIT}))"  # "1, 5 mg/m2" -> "1.5 mg/m2"
    r"|(?P<comma>(?<=\d),(?=\d{1,2}(?!\d)|\d{4,}))"  # decimal comma; "1,500" is left alone
    r"|(?P<space>\s+)"
    r"|(?P<char>.[\u0300-\u036f]*)",  # a character with its combining marks, for NFKC
    re.DOTALL,
)
# A line that is only a page number: "12", "Page 2", "Página 3 de 40", "- 7 -", "p. 4/9".
_PAGE_NUMBER = re.compile(
    r"^[-–—\s]*(?:(?:page|página|pagina|pág\.?|seite|p\.)\s*)?\d{1,4}"
    r"(?:\s*(?:of|de|di|von|/|sur|iš)\s*\d{1,4})?[-–—\s]*$",
    re.IGNORECASE,
)
_EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be running heads


@dataclass(frozen=True)
class NormalisedPage:
    text: str  # clean text, line breaks kept as single "\n"
    source: SourceMap

    @property
    def flat(self) -> str:
        """The clean text on one line: what chunks and their offsets are taken from."""
        return self.text.replace("\n", " ")


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.segments: list[tuple[int, int, int, bool]] = []

    def add(self, text: str, src_start: int, src_end: int, *, exact: bool) -> None:
        last = self.segments[-1] if self.segments else None
        continues = (
            exact
            and last is not None
            and last[3]
            and last[1] + (self.length - last[0]) == src_start
        )
        if not continues:
            self.segments.append((self.length, src_start, src_end, exact))
        self.parts.append(text)
        self.length += len(text)

    def build(self) -> NormalisedPage:
        return NormalisedPage("".join(self.parts), SourceMap(tuple(self.segments), self.length))


def normalise_page(text: str, drop: Sequence[tuple[int, int]] = ()) -> NormalisedPage:
    """Clean ``text`` (one page, as extracted), leaving out the ``drop`` spans (running
    headers and footers, see ``running_lines``), with a map back to ``text``.

    Whitespace runs become one space, or one line break if they held one; a dropped span
    counts as a line break. Leading and trailing whitespace goes."""
    builder = _Builder()
    space: tuple[str, int, int] | None = None  # pending separator: (text, src_start, src_end)

    def separate(kind: str, s: int, e: int) -> None:
        nonlocal space
        if space is None:
            space = (kind, s, e)
        else:
            space = ("\n" if "\n" in (kind, space[0]) else " ", space[1], e)

    position = 0
    for start, end in [*sorted(drop), (len(text), len(text))]:
        for match in _TOKEN.finditer(text, position, max(start, position)):
            kind = match.lastgroup
            s, e = match.span()
            if kind == "space":
                separate("\n" if "\n" in match.group() else " ", s, e)
                continue
            if kind in ("soft", "split"):
                continue  # the word is joined: these characters map to nothing
            if space is not None and builder.length:
                separator, a, b = space
                builder.add(separator, a, b, exact=text[a:b] == separator)
            space = None
            if kind in ("artefact", "comma"):
                builder.add(".", s, e, exact=False)
            else:
                source = match.group()
                clean = unicodedata.normalize("NFKC", source)
                builder.add(clean, s, e, exact=clean == source and len(source) == 1)
        if start < end:
            separate("\n", max(start, position), end)
        position = max(position, end)
    return builder.build()


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line of ``text``."""
    spans = []
    for match in re.finditer(r"[^\n]+", text):
        if match.group().strip():
            spans.append(match.span())
    return spans


def _line_key(line: str) -> str:
    """A line's identity across pages: a page number at either end varies ("Manual 3",
    "4 Author"), the rest does not ("Intervalo de 21 dias." is not "... 14 dias.")."""
    return re.sub(r"^\d+\b|\b\d+$", "#", " ".join(line.split()).casefold())


def running_lines(pages: Sequence[str]) -> list[list[tuple[int, int]]]:
    """Per page, the spans of its running headers and footers: lines near the top or bottom
    of a page that recur near the edge of other pages (numbers aside), and lone page
    numbers there. A line must recur on at least two pages and on a third of them."""
    edges: list[list[tuple[int, int]]] = []
    voters: list[bool] = []  # pages whose edge lines are counted
    for text in pages:
        lines = _lines(text)
        edges.append(lines[:_EDGE_LINES] + lines[max(_EDGE_LINES, len(lines) - _EDGE_LINES) :])
        # A page of one or two lines may be all content: it does not vote, so a text
        # repeated on pages of one line each stays; it may still lose a running head.
        voters.append(len(lines) > _EDGE_LINES)
    counts: Counter[str] = Counter()
    for text, edge, votes in zip(pages, edges, voters, strict=True):
        if votes:
            counts.update({_line_key(text[s:e]) for s, e in edge})
    needed = max(2, -(-len(pages) // 3))
    dropped = []
    for text, edge in zip(pages, edges, strict=True):
        dropped.append(
            [
                (s, e)
                for s, e in edge
                if counts[_line_key(text[s:e])] >= needed or _PAGE_NUMBER.match(text[s:e])
            ]
        )
    return dropped
