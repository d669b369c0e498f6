"""Page-aware chunking that keeps each heading with the passage it introduces.

A chunk never crosses a page, so every citation has one page. Chunk text and its offsets
are in the page's normalised text (``ingest.normalise``); each text chunk also carries the
span of the exact page text it was made from. Table rows become chunks of their own,
each row one line, whose cells say where they stand verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.normalise import NormalisedPage, normalise_page
from ingest.pdf import PageText, PdfDocument
from ingest.reading import PageContent
from ingest.tables import TableRow
from knowledge.chunks import GuidelineChunk
from knowledge.sections import Heading, heading_depth, nest
from knowledge.text import normalize_whitespace

_SENTENCE_END = (".", "!", "?", ":", ";")
MIN_CHUNK = 40  # characters: shorter pieces are merged into a neighbour
_HEADING = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s+)?[A-Z(][^.;:!?]{0,60}$")
# "4. Chemotherapy", "5.1 Induction": a heading also after a line that ends no sentence
# (the last line of a table, a caption)
_NUMBERED = re.compile(r"^(?:\d+\.|\d+(?:\.\d+)+\.?)\s+[A-Z]")


def make_splitter(chunk_size: int, chunk_overlap: int) -> RecursiveCharacterTextSplitter:
    if chunk_overlap >= chunk_size:
        raise ValueError(f"chunk overlap {chunk_overlap} must be below chunk size {chunk_size}")
    return RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        # Blocks (a heading and its passage) first, then sentences, then words.
        separators=["\n\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
        strip_whitespace=True,
    )


def _lines(page_text: str) -> list[tuple[int, str]]:
    """(offset, stripped text) of each non-blank line of a page's clean text."""
    return [
        (m.start() + len(m.group()) - len(m.group().lstrip()), m.group().strip())
        for m in re.finditer(r"[^\n]+", page_text)
        if m.group().strip()
    ]


def heading_lines(page_text: str) -> list[tuple[int, str]]:
    """(offset, text) of each heading of a page's clean text.

    A heading is a short line without sentence punctuation that follows the end of a
    sentence (or is numbered) and is followed by a line that starts a sentence ("4.
    Chemotherapy" then "Induction in...").
    """
    lines = _lines(page_text)
    found: list[tuple[int, str]] = []
    previous_ended = True
    for index, (offset, line) in enumerate(lines):
        following = lines[index + 1][1] if index + 1 < len(lines) else ""
        heading = (
            (previous_ended or bool(_NUMBERED.match(line)))
            and bool(_HEADING.match(line))
            and (following[:1].isupper() or following[:1].isdigit())
        )
        if heading:
            found.append((offset, line))
        previous_ended = not heading and line.endswith(_SENTENCE_END)
    return found


def heading_blocks(page_text: str) -> str:
    """Join a page's lines into blocks that each start at a heading (``heading_lines``), so
    the splitter cuts before it and never leaves it at the end of a chunk apart from its
    passage."""
    starts = {offset for offset, _ in heading_lines(page_text)}
    blocks: list[list[str]] = [[]]
    for offset, line in _lines(page_text):
        if offset in starts and blocks[-1]:
            blocks.append([])
        blocks[-1].append(line)
    return "\n\n".join(" ".join(block) for block in blocks if block)


def chunk_id(sha256: str, page: int, index: int) -> str:
    """Content-derived id: the same document bytes always give the same ids."""
    return f"{sha256[:16]}-p{page:04d}-c{index:03d}"


def chunk_pages(
    document: PdfDocument,
    pages: Iterable[PageContent | PageText | tuple[int, str]],
    splitter: RecursiveCharacterTextSplitter,
) -> Iterator[GuidelineChunk]:
    """Split each page into chunks carrying document, page and offsets, then its table
    rows into chunks of whole rows. ``pages`` are read pages, or (page number, text layer)
    pairs normalised here without header removal."""
    carried: list[Heading] = []  # the headings in effect where the page starts
    for page in pages:
        rows: tuple[TableRow, ...]
        if isinstance(page, tuple):
            number, normalised, rows = page[0], normalise_page(page[1]), ()
        else:
            number, normalised, rows = page.number, page.normalised, page.rows
        spans = list(_text_spans(normalised, splitter, document, number))
        placed = _placed_headings(normalised, spans, document.sha256, number, carried)
        index = 0
        for start, end in spans:
            source_start, source_end = normalised.source.source_span(start, end)
            inside = [h.model_copy(update={"at": o - start}) for o, _, h in placed if start <= o]
            yield GuidelineChunk(
                chunk_id=chunk_id(document.sha256, number, index),
                document=document.path.name,
                document_sha256=document.sha256,
                title=document.title,
                page=number,
                start=start,
                end=end,
                text=normalised.flat[start:end],
                source_start=source_start,
                source_end=source_end,
                headings=_chain(carried, [h for o, _, h in placed if o < start])
                + [h for h in inside if h.at < end - start],
            )
            index += 1
        lines = [(row, normalise_page(row.line()).flat) for row in rows]
        for group in _row_groups(lines, splitter._chunk_size):
            cell = group[0][0].cells[0] if group[0][0].cells else None
            yield GuidelineChunk(
                chunk_id=chunk_id(document.sha256, number, index),
                document=document.path.name,
                document_sha256=document.sha256,
                title=document.title,
                page=number,
                start=0,
                end=0,
                text="\n".join(line for _, line in group),
                kind="table",
                cells=[cell for row, _ in group for cell in row.cells],
                # The table stands under the last heading above its first cell.
                headings=_chain(
                    carried,
                    [
                        h
                        for _, source, h in placed
                        if cell is not None and cell.page == number and source <= cell.start
                    ],
                ),
            )
            index += 1
        carried = _chain(carried, [h for _, _, h in placed])


def _placed_headings(
    page: NormalisedPage,
    spans: list[tuple[int, int]],
    sha256: str,
    number: int,
    carried: list[Heading],
) -> list[tuple[int, int, Heading]]:
    """(offset in the page's clean text, offset in its exact text, heading) of each heading
    a chunk of the page holds whole (a heading no chunk holds cannot be cited)."""
    placed: list[tuple[int, int, Heading]] = []
    chain = list(carried)
    for offset, text in heading_lines(page.text):
        holder = next(
            (i for i, (s, e) in enumerate(spans) if s <= offset and offset + len(text) <= e),
            None,
        )
        if holder is None:
            continue
        heading = Heading(
            text=text,
            chunk_id=chunk_id(sha256, number, holder),
            page=number,
            depth=heading_depth(text, chain),
        )
        chain = nest(chain, heading)
        placed.append((offset, page.source.source_span(offset, offset + len(text))[0], heading))
    return placed


def _chain(carried: list[Heading], headings: list[Heading]) -> list[Heading]:
    """The headings in effect after ``headings``, starting from ``carried``; each marked as
    standing before the chunk that records them."""
    chain = list(carried)
    for heading in headings:
        chain = nest(chain, heading)
    return [h.model_copy(update={"at": -1}) for h in chain]


def _text_spans(
    page: NormalisedPage,
    splitter: RecursiveCharacterTextSplitter,
    document: PdfDocument,
    number: int,
) -> Iterator[tuple[int, int]]:
    """(start, end) of each chunk in the page's flat normalised text. A piece shorter than
    ``MIN_CHUNK`` (a page number, a lone caption) is merged into its neighbour, the one
    before if there is one, so it never becomes a chunk of its own."""
    flat = page.flat
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in splitter.split_text(heading_blocks(page.text)):
        text = normalize_whitespace(piece)
        start = flat.find(text, cursor)
        if start < 0:  # cannot happen for whitespace-bounded pieces; keep it honest
            raise ValueError(f"chunk not found in page {number} of {document.path}")
        cursor = start + 1
        spans.append((start, start + len(text)))
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and (end - start < MIN_CHUNK or merged[-1][1] - merged[-1][0] < MIN_CHUNK):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    yield from ((s, e) for s, e in merged if e - s >= MIN_CHUNK)


def _row_groups(
    rows: Iterable[tuple[TableRow, str]], size: int
) -> Iterator[list[tuple[TableRow, str]]]:
    """Consecutive (row, normalised line) pairs of a page, as many as fit ``size``
    characters (at least one). A
    last group under ``MIN_CHUNK`` joins the one before; a page's only rows, that short,
    make no chunk (their words are in the page's text chunks anyway)."""
    groups: list[list[tuple[TableRow, str]]] = []
    length = 0
    for row, line in rows:
        if not groups or length + len(line) + 1 > size:
            groups.append([])
            length = 0
        groups[-1].append((row, line))
        length += len(line) + 1
    if groups and sum(len(line) + 1 for _, line in groups[-1]) - 1 < MIN_CHUNK:
        last = groups.pop()
        if groups:
            groups[-1].extend(last)
    yield from groups
