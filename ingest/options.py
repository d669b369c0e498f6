"""What a caller sets for an ingest: chunking, per-file limits, tags.

Plain values with their defaults, kept apart from the readers so that the service's settings
take their defaults from here without importing a PDF library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ingest.ocr import OcrChoice

Extraction = Literal["patterns", "model"]


@dataclass(frozen=True)
class PdfLimits:
    """What a hospital allows in one file (``CLINSYNTH_MAX_PDF_PAGES``/``_BYTES``)."""

    max_pages: int = 5000
    max_bytes: int = 200 * 1024 * 1024


@dataclass(frozen=True)
class IngestOptions:
    chunk_size: int = 700
    chunk_overlap: int = 80
    limits: PdfLimits = field(default_factory=PdfLimits)
    tags: tuple[str, ...] = ()
    ocr: bool = True  # False: a document with no text layer is refused, as before OCR
    ocr_engine: OcrChoice = "auto"
    tables: bool = True
    # "model": after the patterns, a language model proposes more doses (literally verified)
    extract: Extraction = "patterns"
