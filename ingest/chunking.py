"""Page-aware chunking: a chunk never crosses a page, so every citation has one page."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.pdf import PdfDocument
from knowledge.chunks import GuidelineChunk


def make_splitter(chunk_size: int, chunk_overlap: int) -> RecursiveCharacterTextSplitter:
    if chunk_overlap >= chunk_size:
        raise ValueError(f"chunk overlap {chunk_overlap} must be below chunk size {chunk_size}")
    return RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        # Page text is whitespace-normalised: split at sentences first, then words.
        separators=[". ", "; ", ", ", " ", ""],
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )


def chunk_id(sha256: str, page: int, index: int) -> str:
    """Content-derived id: the same document bytes always give the same ids."""
    return f"{sha256[:16]}-p{page:04d}-c{index:03d}"


def chunk_pages(
    document: PdfDocument,
    pages: Iterable[tuple[int, str]],
    splitter: RecursiveCharacterTextSplitter,
) -> Iterator[GuidelineChunk]:
    """Split each page's text into chunks carrying document, page and character offsets."""
    for page_number, text in pages:
        if not text:
            continue
        for index, piece in enumerate(splitter.create_documents([text])):
            start = int(piece.metadata["start_index"])
            yield GuidelineChunk(
                chunk_id=chunk_id(document.sha256, page_number, index),
                document=document.path.name,
                document_sha256=document.sha256,
                title=document.title,
                page=page_number,
                start=start,
                end=start + len(piece.page_content),
                text=piece.page_content,
            )
