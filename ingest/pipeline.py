"""Ingest files or folders of PDFs into the knowledge store, one file at a time.

A failing file is reported with its reason and the rest of the batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ingest.chunking import chunk_pages, make_splitter
from ingest.pdf import IngestError, iter_pages, open_pdf
from knowledge.store import KnowledgeStore

Status = Literal["ingested", "unchanged", "failed"]


@dataclass(frozen=True)
class IngestResult:
    path: Path
    status: Status
    pages: int = 0
    chunks: int = 0
    error: str | None = None


def find_pdfs(paths: Iterable[Path]) -> list[Path]:
    """Expand folders (recursively) to their PDFs; a missing path is an error."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() == ".pdf"))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


def ingest_file(
    path: Path, store: KnowledgeStore, *, chunk_size: int = 700, chunk_overlap: int = 80
) -> IngestResult:
    """Read, chunk, embed and store one PDF; unchanged content is not embedded again."""
    try:
        document, reader = open_pdf(path)
        if store.has_document(document.sha256):
            return IngestResult(path, "unchanged", pages=document.page_count)
        splitter = make_splitter(chunk_size, chunk_overlap)
        chunks = list(chunk_pages(document, iter_pages(path, reader), splitter))
        if not chunks:
            raise IngestError(path, "no text layer (scanned PDF?); run OCR first")
        store.add(chunks)
    except IngestError as exc:
        return IngestResult(path, "failed", error=str(exc))
    except OSError as exc:
        return IngestResult(path, "failed", error=f"{path}: cannot read ({exc.strerror or exc})")
    return IngestResult(path, "ingested", pages=document.page_count, chunks=len(chunks))


def ingest_paths(
    paths: Sequence[Path],
    store: KnowledgeStore,
    *,
    chunk_size: int = 700,
    chunk_overlap: int = 80,
    on_result: Callable[[IngestResult], None] | None = None,
) -> list[IngestResult]:
    results = []
    for pdf in find_pdfs(paths):
        result = ingest_file(pdf, store, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results
