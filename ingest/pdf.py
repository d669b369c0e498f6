"""Open a guideline PDF and read it page by page, with one clear error per bad file."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from ingest.options import PdfLimits


class IngestError(Exception):
    """A file that cannot be ingested; the message names the file and the reason."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class PdfDocument:
    path: Path
    sha256: str
    title: str
    page_count: int
    size_bytes: int


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def open_pdf(path: Path, limits: PdfLimits | None = None) -> tuple[PdfDocument, PdfReader]:
    """Open and sanity-check a PDF; raise ``IngestError`` naming what is wrong."""
    limits = limits or PdfLimits()
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise IngestError(path, f"file is {size} bytes; the limit is {limits.max_bytes}")
    with open(path, "rb") as handle:
        if handle.read(5) != b"%PDF-":
            raise IngestError(path, "not a PDF file (no %PDF- header)")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise IngestError(path, "encrypted PDF; decrypt it before ingesting")
        page_count = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise IngestError(path, f"corrupt or truncated PDF ({exc})") from exc
    if page_count == 0:
        raise IngestError(path, "the PDF has no pages")
    if page_count > limits.max_pages:
        raise IngestError(path, f"{page_count} pages; the limit is {limits.max_pages}")
    try:
        title = str(reader.metadata.title or "") if reader.metadata else ""
    except PyPdfError:
        title = ""
    return PdfDocument(path, file_sha256(path), title or path.stem, page_count, size), reader


class PageText(NamedTuple):
    number: int  # 1-based
    text: str  # extracted, with its line breaks
    ruled: bool = True  # the page draws lines or rectangles: it may hold a ruled table


_RULES = (b"re", b"l")  # path operators: rectangle, line


def iter_pages(path: Path, reader: PdfReader) -> Iterator[PageText]:
    """Yield each page's text, one page at a time, noting whether it draws any rules (the
    same pass over its content stream: a page without them skips table detection)."""
    for index, page in enumerate(reader.pages):
        rules: set[bytes] = set()

        def visit(operator: bytes, *_: object, seen: set[bytes] = rules) -> None:
            if operator in _RULES:
                seen.add(operator)

        try:
            text = page.extract_text(visitor_operand_before=visit) or ""
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            raise IngestError(path, f"page {index + 1} cannot be read ({exc})") from exc
        yield PageText(index + 1, text, bool(rules))
