"""Page-aware chunking that keeps each heading with the passage it introduces.

A chunk never crosses a page, so every citation has one page. Offsets and chunk text are
in the page's whitespace-normalised text, the form a citation check compares against.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.pdf import PdfDocument
from knowledge.chunks import GuidelineChunk
from knowledge.text import normalize_whitespace

_SENTENCE_END = (".", "!", "?", ":", ";")
_HEADING = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s+)?[A-Z(][^.;:!?]{0,60}$")


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


def heading_blocks(page_text: str) -> str:
    """Join a page's lines into blocks that each start at a heading.

    A heading is a short line without sentence punctuation that follows the end of a
    sentence and is followed by a line that starts a sentence ("4. Chemotherapy" then
    "Induction in..."); it opens a block, so the splitter cuts before it and never leaves
    it at the end of a chunk apart from its passage.
    """
    lines = [line.strip() for line in page_text.splitlines() if line.strip()]
    blocks: list[list[str]] = [[]]
    previous_ended = True
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        heading = (
            previous_ended
            and bool(_HEADING.match(line))
            and (following[:1].isupper() or following[:1].isdigit())
        )
        if heading and blocks[-1]:
            blocks.append([])
        blocks[-1].append(line)
        previous_ended = not heading and line.endswith(_SENTENCE_END)
    return "\n\n".join(" ".join(block) for block in blocks if block)


def chunk_id(sha256: str, page: int, index: int) -> str:
    """Content-derived id: the same document bytes always give the same ids."""
    return f"{sha256[:16]}-p{page:04d}-c{index:03d}"


def chunk_pages(
    document: PdfDocument,
    pages: Iterable[tuple[int, str]],
    splitter: RecursiveCharacterTextSplitter,
) -> Iterator[GuidelineChunk]:
    """Split each page into chunks carrying document, page and character offsets."""
    for page_number, raw_text in pages:
        page_text = normalize_whitespace(raw_text)
        cursor = 0
        for index, piece in enumerate(splitter.split_text(heading_blocks(raw_text))):
            text = normalize_whitespace(piece)
            start = page_text.find(text, cursor)
            if start < 0:  # cannot happen for whitespace-bounded pieces; keep it honest
                raise ValueError(f"chunk not found in page {page_number} of {document.path}")
            cursor = start + 1
            yield GuidelineChunk(
                chunk_id=chunk_id(document.sha256, page_number, index),
                document=document.path.name,
                document_sha256=document.sha256,
                title=document.title,
                page=page_number,
                start=start,
                end=start + len(text),
                text=text,
            )
