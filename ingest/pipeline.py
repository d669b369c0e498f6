"""Ingest files or folders of PDFs into the knowledge store, one file after another.

Pages are read, chunked, embedded and written in batches (a batch may hold the end of one
file and the start of the next), so memory does not grow with the page count. The registry
makes a document visible only once all its chunks are in, replacing the previous version of
the same file name in the same step. A failing file is reported with its reason and the rest
of the batch goes on; a store that cannot be written stops the run (``StoreWriteError``)
with nothing new visible.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from ingest.chunking import chunk_pages, make_splitter
from ingest.ocr import OcrEngine, OcrUnavailable, make_ocr
from ingest.options import IngestOptions
from ingest.pdf import IngestError, iter_pages, open_pdf
from ingest.reading import PageContent, Timings, read_document
from knowledge.chunks import GuidelineChunk
from knowledge.facts import Fact, extract_page, for_document
from knowledge.facts.proposals import ModelPassStats, model_pass
from knowledge.facts.store import FactIndex
from knowledge.registry import DocumentPage, document_id_for
from knowledge.store import KnowledgeStore

if TYPE_CHECKING:
    from models.base import LanguageModel

Status = Literal["ingested", "replaced", "unchanged", "failed"]
EMBED_BATCH = 512  # chunks embedded and written together (across documents)
NO_TEXT_LAYER = "no text layer (scanned PDF?); run OCR first"  # OCR switched off
NO_TEXT_FOUND = "no text layer, and OCR found no text on any page"


class StoreWriteError(RuntimeError):
    """The knowledge store refused a write: not one file's fault, so the run stops. The
    documents being written stay invisible; running the ingest again resumes them."""


@dataclass(frozen=True)
class IngestResult:
    path: Path
    status: Status
    document_id: str | None = None
    pages: int = 0
    chunks: int = 0
    superseded: list[str] = field(default_factory=list)
    error: str | None = None
    facts: dict[str, int] = field(default_factory=dict)  # facts indexed, by kind
    model_pass: ModelPassStats | None = None  # with ``--extract model``: proposed and kept


class Progress(Protocol):
    """Callbacks for long ingests; the CLI draws bars from them, the API updates a job.
    ``advance`` counts pages as they are read and chunks once they are embedded and written."""

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
    model: LanguageModel | None = None,
) -> IngestResult:
    """Read, chunk, embed and register one PDF; content already active is not redone."""
    [result] = ingest_paths([path], store, options, progress=progress, model=model)
    return result


@dataclass
class _Open:
    """A document registered as ``ingesting`` whose chunks are on their way to the store."""

    path: Path
    document_id: str
    sha256: str
    pages: int
    empty_reason: str = NO_TEXT_LAYER  # the error if no page gives a chunk
    chunks: int = 0  # chunked so far
    chunked: bool = False  # every page read
    pages_reported: int = 0  # pages read, as told to the progress
    facts: dict[str, int] = field(default_factory=dict)
    model_pass: ModelPassStats | None = None


class _Writer:
    """Embeds and writes chunks ``EMBED_BATCH`` at a time, across document boundaries: a run
    of small documents fills whole batches instead of one short batch each, so the embedding
    model pads less (sentence-transformers sorts by length only within one call).

    Results come out in file order; a document is activated (made visible, older versions
    superseded) once its last chunk is written, never before."""

    def __init__(
        self,
        store: KnowledgeStore,
        progress: Progress,
        emit: Callable[[IngestResult], None],
        timings: Timings,
    ):
        self.store = store
        self.progress = progress
        self.emit = emit
        self.timings = timings
        self.buffer: list[tuple[_Open, GuidelineChunk]] = []
        self.queue: list[_Open | IngestResult] = []  # in file order, until emitted

    def pending(self, document_id: str, file_name: str) -> bool:
        """Whether this version, or one of the same file name, is waiting to be activated."""
        return any(
            isinstance(o, _Open) and (o.document_id == document_id or o.path.name == file_name)
            for o in self.queue
        )

    def finished(self, result: IngestResult) -> None:
        self.queue.append(result)
        self._emit_ready()

    def open(self, document: _Open) -> None:
        self.queue.append(document)
        self.progress.start(document.path, document.pages)

    def page_read(self, document: _Open | None) -> None:
        """One more page of ``document`` is read: the pages bar moves (OCR is slow)."""
        if document is not None and document.pages_reported < document.pages:
            document.pages_reported += 1
            self.progress.advance(1, 0)

    def put(self, document: _Open, chunk: GuidelineChunk) -> None:
        read = chunk.page - 1  # pages before this chunk's are read: the pages bar moves now
        if read > document.pages_reported:
            self.progress.advance(read - document.pages_reported, 0)
            document.pages_reported = read
        self.buffer.append((document, chunk))
        document.chunks += 1
        if len(self.buffer) >= EMBED_BATCH:
            self.flush()

    def close(self, document: _Open) -> None:
        """Every page of ``document`` was read; it goes live once its chunks are written."""
        document.chunked = True
        self.progress.advance(document.pages - document.pages_reported, 0)
        document.pages_reported = document.pages
        if document.chunks == 0:
            self.store.registry.remove(document.document_id)
            self._replace(document, str(IngestError(document.path, document.empty_reason)))
        self._emit_ready()

    def abandon(self, document: _Open, error: str) -> None:
        """``document`` failed part-way: its buffered chunks are dropped (those already
        written stay invisible, and a rerun resumes the registered version)."""
        self.buffer = [(d, c) for d, c in self.buffer if d is not document]
        self._replace(document, error)
        self._emit_ready()

    def flush(self) -> None:
        if self.buffer:
            batch, self.buffer = self.buffer, []
            started = time.perf_counter()
            try:
                self.store.add([chunk for _, chunk in batch])
                self.timings.embedding += time.perf_counter() - started  # and Chroma upserts
            except Exception as exc:
                names = ", ".join(dict.fromkeys(d.path.name for d, _ in batch))
                raise StoreWriteError(
                    f"writing the chunks of {names} to the knowledge store failed: {exc}"
                ) from exc
            self.progress.advance(0, len(batch))
        self._emit_ready()

    def _replace(self, document: _Open, error: str) -> None:
        index = self.queue.index(document)
        self.queue[index] = IngestResult(document.path, "failed", error=error)

    def _emit_ready(self) -> None:
        while self.queue:
            head = self.queue[0]
            if isinstance(head, _Open):
                if not head.chunked or any(d is head for d, _ in self.buffer):
                    return  # still reading it, or some of its chunks are not written yet
                started = time.perf_counter()
                self.store.keep_original(head.path, head.sha256)
                superseded = self.store.registry.activate(head.document_id, chunks=head.chunks)
                self.timings.writing += time.perf_counter() - started
                head = IngestResult(
                    head.path,
                    "replaced" if superseded else "ingested",
                    head.document_id,
                    head.pages,
                    head.chunks,
                    superseded=superseded,
                    facts=head.facts,
                    model_pass=head.model_pass,
                )
            self.queue.pop(0)
            self.emit(head)


def _ingest_one(
    path: Path,
    writer: _Writer,
    options: IngestOptions,
    ocr: Callable[[], OcrEngine] | None,
    model: LanguageModel | None = None,
) -> None:
    store = writer.store
    registry = store.registry
    document: _Open | None = None
    try:
        pdf, reader = open_pdf(path, options.limits)
        if writer.pending(document_id_for(pdf.sha256), path.name):
            writer.flush()  # the same content or name came earlier in this run: settle it first
        known = registry.by_sha256(pdf.sha256)
        if known is not None and known.status == "active":
            if known.file_name != path.name:  # the same content under a new name: an alias
                registry.add_alias(known.document_id, path.name)
            facts = FactIndex(registry.engine).counts(known.document_id)
            writer.finished(
                IngestResult(
                    path, "unchanged", known.document_id, known.pages, known.chunks, facts=facts
                )
            )
            return
        entry = registry.begin(
            sha256=pdf.sha256,
            file_name=path.name,
            title=pdf.title,
            pages=pdf.page_count,
            size_bytes=pdf.size_bytes,
            tags=options.tags,
        )
        document = _Open(
            path,
            entry.document_id,
            pdf.sha256,
            pdf.page_count,
            empty_reason=NO_TEXT_FOUND if ocr is not None else NO_TEXT_LAYER,
        )
        writer.open(document)
        timings = writer.timings
        pages = read_document(
            path,
            iter_pages(path, reader),
            ocr=ocr,
            tables=options.tables,
            timings=timings,
            on_page=lambda: writer.page_read(document),
        )
        started = time.perf_counter()
        registry.put_pages(entry.document_id, [_stored(entry.document_id, p) for p in pages])
        found, document.model_pass = _facts(pages, model)
        document.facts = FactIndex(registry.engine).put(
            entry.document_id, for_document(entry.document_id, found)
        )
        timings.writing += time.perf_counter() - started
        splitter = make_splitter(options.chunk_size, options.chunk_overlap)
        started = time.perf_counter()
        for chunk in chunk_pages(pdf, pages, splitter):
            timings.chunking += time.perf_counter() - started
            writer.put(document, chunk)
            started = time.perf_counter()
        writer.close(document)
    except IngestError as exc:
        _failed(writer, path, document, str(exc))
    except OcrUnavailable as exc:
        _failed(writer, path, document, str(IngestError(path, str(exc))))
    except OSError as exc:
        _failed(writer, path, document, f"{path}: cannot read ({exc.strerror or exc})")


def _stored(document_id: str, page: PageContent) -> DocumentPage:
    return DocumentPage(
        document_id=document_id,
        page=page.number,
        text=page.text,
        source=page.source,
        language=page.language,
        ocr_confidence=page.ocr_confidence,
        source_map=page.normalised.source,
    )


def _facts(
    pages: Sequence[PageContent], model: LanguageModel | None = None
) -> tuple[list[Fact], ModelPassStats | None]:
    """The fact index of a document's pages: their exact text and their table rows; with
    ``model``, the verified proposals of the model pass added to the patterns' facts."""
    facts: list[Fact] = []
    stats = ModelPassStats() if model is not None else None
    for page in pages:
        rows = [row.cells for row in page.rows]
        found = extract_page(page.number, page.text, language=page.language, rows=rows)
        facts.extend(found)
        if model is not None and stats is not None:
            proposed, page_stats = model_pass(
                model, page.number, page.text, rows, found=found, language=page.language
            )
            facts.extend(proposed)
            stats.add(page_stats)
    return facts, stats


def _failed(writer: _Writer, path: Path, document: _Open | None, error: str) -> None:
    if document is None:
        writer.finished(IngestResult(path, "failed", error=error))
    else:
        writer.abandon(document, error)


def ingest_paths(
    paths: Sequence[Path],
    store: KnowledgeStore,
    options: IngestOptions | None = None,
    *,
    on_result: Callable[[IngestResult], None] | None = None,
    progress: Progress | None = None,
    timings: Timings | None = None,
    model: LanguageModel | None = None,
) -> list[IngestResult]:
    """Ingest every PDF of ``paths`` (folders searched recursively), in order.

    Pages without a text layer are OCRed unless ``options.ocr`` is off; ``timings``, when
    given, adds up the seconds each stage took. With ``options.extract == "model"`` the
    fact index adds the model pass of ``model`` (required then).

    ``on_result`` gets each file's result, in file order, as soon as that file is settled:
    a document's last chunks may be embedded together with the next documents' first ones."""
    options = options or IngestOptions()
    if options.extract == "model" and model is None:
        raise ValueError("extract='model' needs a language model for the model pass")
    fact_model = model if options.extract == "model" else None
    results: list[IngestResult] = []

    def emit(result: IngestResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    writer = _Writer(store, progress or NoProgress(), emit, timings or Timings())
    engines: list[OcrEngine] = []

    def ocr() -> OcrEngine:
        """The OCR engine, started once a page needs it (loading it takes a while)."""
        if not engines:
            engines.append(make_ocr(options.ocr_engine))
        return engines[0]

    for pdf in find_pdfs(paths):
        _ingest_one(pdf, writer, options, ocr if options.ocr else None, fact_model)
    writer.flush()
    return results
