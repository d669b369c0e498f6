"""Read a guideline PDF page by page into normalised text, with clear errors."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from knowledge.text import normalize_whitespace


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


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def open_pdf(path: Path) -> tuple[PdfDocument, PdfReader]:
    """Open and sanity-check a PDF; raise ``IngestError`` naming what is wrong."""
    with open(path, "rb") as handle:
        if handle.read(5) != b"%PDF-":
            raise IngestError(path, "not a PDF file (no %PDF- header)")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise IngestError(path, "encrypted PDF; decrypt it before ingesting")
        page_count = len(reader.pages)
    except PdfReadError as exc:
        raise IngestError(path, f"corrupt or truncated PDF ({exc})") from exc
    if page_count == 0:
        raise IngestError(path, "the PDF has no pages")
    try:
        title = str(reader.metadata.title or "") if reader.metadata else ""
    except PdfReadError:
        title = ""
    document = PdfDocument(path, file_sha256(path), title or path.stem, page_count)
    return document, reader


def iter_pages(path: Path, reader: PdfReader) -> Iterator[tuple[int, str]]:
    """Yield (1-based page number, normalised text), one page in memory at a time."""
    for index, page in enumerate(reader.pages):
        try:
            text = page.extract_text() or ""
        except (PdfReadError, ValueError, KeyError) as exc:
            raise IngestError(path, f"page {index + 1} cannot be read ({exc})") from exc
        yield index + 1, normalize_whitespace(text)
