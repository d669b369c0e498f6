"""A PDF's pages as exact text, table rows, OCR where there is no text layer, languages.

Each page's text is kept exactly as read (the text layer by pypdf, or OCR's lines): it is
what citations quote and the registry stores. Running headers and footers are found
across the whole document, so a document's pages are read before any is chunked (their
text only: a few KB a page).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ingest.language import detect_language
from ingest.normalise import NormalisedPage, normalise_page, running_lines
from ingest.ocr import OcrEngine, render_page
from ingest.pdf import PageText
from ingest.tables import TableReader, TableRow

# A page whose text layer holds fewer visible characters than this is read by OCR.
MIN_TEXT_LAYER = 20


@dataclass
class Timings:
    """Seconds spent per stage, added up over every document of a run (bench/ingest.py)."""

    reading: float = 0.0  # text layer
    tables: float = 0.0
    ocr: float = 0.0
    normalising: float = 0.0  # headers, normalisation, language detection
    chunking: float = 0.0
    embedding: float = 0.0
    writing: float = 0.0  # Chroma upserts, registry, original PDFs
    ocr_pages: int = 0


@dataclass(frozen=True)
class PageContent:
    number: int  # 1-based
    text: str  # exact, as read
    source: Literal["text", "ocr", "empty"]
    normalised: NormalisedPage
    language: str | None
    ocr_confidence: float | None = None
    rows: tuple[TableRow, ...] = field(default=())


def read_document(
    path: Path,
    texts: Iterable[PageText | tuple[int, str]],
    *,
    ocr: Callable[[], OcrEngine] | None,
    tables: bool = True,
    timings: Timings | None = None,
    on_page: Callable[[], None] | None = None,
) -> list[PageContent]:
    """Every page of ``path``: ``texts`` gives each page's text layer (in page order);
    pages without one are OCRed by the engine ``ocr`` gives (asked for only when a page
    needs it), else left empty. ``on_page`` is called as each page is read (progress:
    OCR takes seconds a page)."""
    timings = timings or Timings()
    raw: list[tuple[int, str, Literal["text", "ocr", "empty"], float | None]] = []
    rows: dict[int, tuple[TableRow, ...]] = {}
    with TableReader(path) if tables else _NoTables() as reader:
        started = time.perf_counter()
        for page in texts:
            number, text = page[0], page[1]
            timings.reading += time.perf_counter() - started
            if sum(not ch.isspace() for ch in text) >= MIN_TEXT_LAYER:
                started = time.perf_counter()
                if getattr(page, "ruled", True):
                    rows[number] = tuple(reader.rows(number, text))
                else:
                    reader.skip()  # no rules drawn: no ruled table, none continues
                timings.tables += time.perf_counter() - started
                raw.append((number, text, "text", None))
            elif ocr is not None:
                started = time.perf_counter()
                read = ocr().read(render_page(path, number - 1))
                timings.ocr += time.perf_counter() - started
                timings.ocr_pages += 1
                raw.append(
                    (number, read.text, "ocr" if read.text.strip() else "empty", read.confidence)
                )
            else:
                raw.append((number, text, "empty", None))
            if on_page is not None:
                on_page()
            started = time.perf_counter()
    started = time.perf_counter()
    dropped = running_lines([text for _, text, _, _ in raw])
    pages = []
    for (number, text, source, confidence), drop in zip(raw, dropped, strict=True):
        normalised = normalise_page(text, drop)
        pages.append(
            PageContent(
                number=number,
                text=text,
                source=source,
                normalised=normalised,
                language=detect_language(normalised.flat),
                ocr_confidence=confidence,
                rows=rows.get(number, ()),
            )
        )
    timings.normalising += time.perf_counter() - started
    return pages


class _NoTables:
    def __enter__(self) -> _NoTables:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def rows(self, number: int, page_text: str) -> list[TableRow]:
        return []

    def skip(self) -> None:
        pass
