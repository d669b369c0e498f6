"""Ingest files or folders of PDFs into the knowledge store, one file at a time.

Pages are read, chunked, embedded and written in batches, so memory does not grow with
the page count. The registry makes a document visible only once all its chunks are in,
replacing the previous version of the same file name in the same step. A failing file is
reported with its reason and the rest of the batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from ingest.chunking import chunk_pages, make_splitter
from ingest.pdf import IngestError, PdfLimits, iter_pages, open_pdf
from knowledge.chunks import GuidelineChunk
from knowledge.store import KnowledgeStore

Status = Literal["ingested", "replaced", "unchanged", "failed"]
EMBED_BATCH = 128  # chunks embedded and written together


@dataclass(frozen=True)
class IngestResult:
    path: Path
    status: Status
    document_id: str | None = None
    pages: int = 0
    chunks: int = 0
    superseded: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class IngestOptions:
    chunk_size: int = 700
    chunk_overlap: int = 80
    limits: PdfLimits = field(default_factory=PdfLimits)
    tags: tuple[str, ...] = ()


class Progress(Protocol):
    """Callbacks for long ingests; the CLI draws bars from them, the API updates a job."""

    def start(self, path: Path, pages: int) -> None: ...

    def advance(self, pages: int, chunks: int) -> None: ...


class NoProgress:
    def start(self, path: Path, pages: int) -> None:
        pass

    def advance(self, pages: int, chunks: int) -> None:
        pass


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
    path: Path,
    store: KnowledgeStore,
    options: IngestOptions | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Read, chunk, embed and register one PDF; content already active is not redone."""
    options = options or IngestOptions()
    progress = progress or NoProgress()
    registry = store.registry
    try:
        document, reader = open_pdf(path, options.limits)
        known = registry.by_sha256(document.sha256)
        if known is not None and known.status == "active" and known.file_name == path.name:
            return IngestResult(path, "unchanged", known.document_id, known.pages, known.chunks)
        entry = registry.begin(
            sha256=document.sha256,
            file_name=path.name,
            title=document.title,
            pages=document.page_count,
            size_bytes=document.size_bytes,
            tags=options.tags,
        )
        progress.start(path, document.page_count)
        splitter = make_splitter(options.chunk_size, options.chunk_overlap)
        total = 0
        batch: list[GuidelineChunk] = []
        last_page = 0
        for chunk in chunk_pages(document, iter_pages(path, reader), splitter):
            batch.append(chunk)
            if len(batch) >= EMBED_BATCH:
                store.add(batch)
                total += len(batch)
                progress.advance(chunk.page - last_page, len(batch))
                last_page, batch = chunk.page, []
        store.add(batch)
        total += len(batch)
        progress.advance(document.page_count - last_page, len(batch))
        if total == 0:
            registry.remove(entry.document_id)
            raise IngestError(path, "no text layer (scanned PDF?); run OCR first")
        superseded = registry.activate(entry.document_id, chunks=total)
    except IngestError as exc:
        return IngestResult(path, "failed", error=str(exc))
    except OSError as exc:
        return IngestResult(path, "failed", error=f"{path}: cannot read ({exc.strerror or exc})")
    status: Status = "replaced" if superseded else "ingested"
    return IngestResult(
        path, status, entry.document_id, document.page_count, total, superseded=superseded
    )


def ingest_paths(
    paths: Sequence[Path],
    store: KnowledgeStore,
    options: IngestOptions | None = None,
    *,
    on_result: Callable[[IngestResult], None] | None = None,
    progress: Progress | None = None,
) -> list[IngestResult]:
    results = []
    for pdf in find_pdfs(paths):
        result = ingest_file(pdf, store, options, progress)
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results
