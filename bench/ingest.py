"""Ingestion throughput, ingestion memory and retrieval latency at scale.

Four measurements, each against a baseline taken in the same run on the same machine:

1. Throughput. The bundled corpus (18 pages) is replicated into distinct PDFs (each copy
   carries its own metadata title, so it has its own sha256 and is its own document) and
   ingested end to end through ``ingest_paths`` into an embedded Chroma and a SQLite
   registry. The exact chunk texts that were stored are then encoded by raw
   ``SentenceTransformer.encode`` with the same model, batch size and normalisation. The
   model is warmed up first, so neither figure includes loading it. The ratio of the two
   chunks/s figures is what the pipeline costs on top of the embedding it cannot avoid
   (target >= 0.85). Where the rest goes (PDF text extraction, chunking, Chroma upsert,
   registry) is timed as well.
2. Memory. One large PDF and one ten times smaller are each ingested in a fresh
   subprocess that reports its peak RSS before ingesting (after imports and model load)
   and after; pages are streamed, so the peak should not grow with the page count.
3. Retrieval. A separate collection is filled with 100,000 chunks over 20 active
   documents. Their embeddings are random unit vectors of the model's dimension (real
   embeddings for 100k chunks would take too long on a small machine); the query
   embeddings are real. 200 queries go through ``KnowledgeStore.query`` (k=5) without and
   with MMR; p50/p95 latency is printed with the share spent embedding the query.

4. Real PDFs. Every file of ../shared/corpus/real (16 third-party guidelines, labels and
   Survivorship Passports, six of them scans) is ingested twice into fresh stores: without
   OCR (the scans are refused) and with OCR. Pages/s, and the time split into reading the
   text layer, tables, OCR, normalisation (with running headers and language), chunking,
   embedding, Chroma upserts and writing (registry pages, original PDFs); then the stored
   chunk texts are encoded raw, as in 1, for the embedding part's ratio.

Prints figures; asserts nothing. ``--quick`` scales everything down for a smoke run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and this file's name would
# shadow the ``ingest`` package; search the repository root instead.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
if str(_BENCH.parent) not in sys.path:
    sys.path.insert(0, str(_BENCH.parent))

from service.offline import enforce_offline  # noqa: E402

enforce_offline()

import numpy as np  # noqa: E402
from pypdf import PdfReader, PdfWriter  # noqa: E402

from ingest.chunking import chunk_id, chunk_pages, make_splitter  # noqa: E402
from ingest.pdf import iter_pages, open_pdf  # noqa: E402
from ingest.pipeline import EMBED_BATCH, IngestOptions, ingest_file, ingest_paths  # noqa: E402
from ingest.reading import Timings, read_document  # noqa: E402
from knowledge.chunks import GuidelineChunk  # noqa: E402
from knowledge.embedded import packaged_embedder_path  # noqa: E402
from knowledge.embeddings import Embedder  # noqa: E402
from knowledge.registry import DocumentRegistry  # noqa: E402
from knowledge.store import KnowledgeStore, chroma_client  # noqa: E402
from service.storage.database import open_database  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "knowledge" / "corpus" / "pdf"
ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / ".." / "shared" / "corpus" / "real"  # third-party PDFs, never copied in
TARGET_RATIO = 0.85
QUERY_TUMOURS = (
    "Ewing sarcoma",
    "osteosarcoma",
    "Hodgkin lymphoma",
    "acute lymphoblastic leukaemia",
    "haematopoietic stem cell transplant",
    "relapsed Ewing sarcoma",
    "metastatic osteosarcoma",
    "high-risk acute lymphoblastic leukaemia",
    "early-stage Hodgkin lymphoma",
    "adolescent with bone sarcoma",
)
QUERY_TOPICS = (
    "chemotherapy regimen and doses",
    "radiotherapy dose and fractionation",
    "vincristine dose",
    "methotrexate dose and leucovorin rescue",
    "cisplatin and doxorubicin",
    "surgery and local control",
    "response assessment and imaging",
    "ICD-O-3 morphology code",
    "supportive care and antiemetics",
    "infection prophylaxis",
    "cumulative anthracycline dose and cardiotoxicity",
    "risk stratification",
    "maintenance therapy",
    "intrathecal therapy",
    "follow-up after treatment",
    "late effects and fertility",
    "relapse treatment",
    "graft-versus-host disease prophylaxis",
    "dose reduction for toxicity",
    "treatment duration in weeks",
)


# ---------------------------------------------------------------- instrumentation


class TimedEmbedder(Embedder):
    """The real embedder, adding up the seconds spent in ``embed`` (one entry a call)."""

    def __init__(self, model_dir: Path):
        super().__init__(model_dir)
        self.calls: list[float] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        started = time.perf_counter()
        try:
            return super().embed(texts)
        finally:
            self.calls.append(time.perf_counter() - started)


class TimedCollection:
    """Passes every call to a Chroma collection, timing ``upsert`` and ``query``."""

    def __init__(self, inner: Any):
        self._inner = inner
        self.upserts: list[float] = []
        self.queries: list[float] = []

    def upsert(self, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._inner.upsert(**kwargs)
        finally:
            self.upserts.append(time.perf_counter() - started)

    def query(self, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._inner.query(**kwargs)
        finally:
            self.queries.append(time.perf_counter() - started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def make_store(folder: Path, embedder: Embedder, collection: str = "guidelines") -> KnowledgeStore:
    """A store as the service builds it: embedded Chroma, migrated SQLite registry, and the
    original PDFs kept."""
    registry = DocumentRegistry(open_database(f"sqlite:///{folder / 'db.sqlite'}"))
    return KnowledgeStore(
        embedder,
        registry,
        client=chroma_client(folder / "chroma"),
        collection=collection,
        originals=folder / "originals",
    )


def warm_up(embedder: Embedder) -> None:
    """Load the model and run it once, so no figure includes loading or first-call cost."""
    embedder.model.encode(
        ["Vincristine 1.5 mg/m2 on day 1 of each cycle."] * 64,
        batch_size=embedder.batch_size,
        normalize_embeddings=True,
        show_progress_bar=False,
    )


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


# ---------------------------------------------------------------- PDFs


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.pdf"))


def build_corpus_copies(folder: Path, copies: int) -> list[Path]:
    """``copies`` PDFs, each the whole corpus concatenated, each with its own title."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for number in range(1, copies + 1):
        writer = PdfWriter()
        for pdf in corpus_files():
            writer.append(pdf)
        writer.add_metadata({"/Title": f"Bundled guidelines, copy {number}"})
        path = folder / f"corpus_copy_{number:03d}.pdf"
        with open(path, "wb") as handle:
            writer.write(handle)
        made.append(path)
    return made


def build_long_pdf(path: Path, pages: int) -> Path:
    """A PDF of ``pages`` pages cycling through the corpus pages, each page its own object."""
    writer = PdfWriter()
    readers: list[PdfReader] = []  # kept alive: pypdf maps clones by reader identity
    added = 0
    while added < pages:
        for pdf in corpus_files():
            reader = PdfReader(pdf)
            readers.append(reader)
            for page in reader.pages:
                if added == pages:
                    break
                writer.add_page(page)
                added += 1
    writer.add_metadata({"/Title": f"Long guideline, {pages} pages"})
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


# ---------------------------------------------------------------- 1. throughput


@dataclass
class Throughput:
    documents: int
    pages: int
    chunks: int
    ingest_s: float
    encode_s: float
    embed_in_ingest_s: float
    upsert_s: float
    extract_s: float
    chunk_s: float
    registry_s: float


def measure_throughput(folder: Path, copies: int) -> Throughput:
    pdfs = build_corpus_copies(folder / "pdfs", copies)
    embedder = TimedEmbedder(packaged_embedder_path())
    store = make_store(folder, embedder)
    collection = TimedCollection(store._collection)
    store._collection = collection
    warm_up(embedder)
    embedder.calls.clear()

    started = time.perf_counter()
    results = ingest_paths([folder / "pdfs"], store)
    ingest_s = time.perf_counter() - started
    failed = [r.error for r in results if r.status != "ingested"]
    if failed:
        raise SystemExit(f"ingest did not ingest every copy: {failed[:3]}")

    texts = list(collection.get(include=["documents"])["documents"] or [])
    started = time.perf_counter()
    embedder.model.encode(
        texts,
        batch_size=embedder.batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    encode_s = time.perf_counter() - started

    # The stages that are not embedding, timed on their own over the same files.
    splitter = make_splitter(IngestOptions().chunk_size, IngestOptions().chunk_overlap)
    extract_s = chunk_s = 0.0
    for pdf in pdfs:
        started = time.perf_counter()
        document, reader = open_pdf(pdf)
        pages = read_document(pdf, iter_pages(pdf, reader), ocr=None)
        extract_s += time.perf_counter() - started
        started = time.perf_counter()
        for _ in chunk_pages(document, pages, splitter):
            pass
        chunk_s += time.perf_counter() - started
    # Registry: the calls ingest_file makes per document (lookup, begin, activate).
    registry = store.registry
    docs = registry.documents()
    started = time.perf_counter()
    for doc in docs:
        registry.by_sha256(doc.sha256)
        registry.begin(
            sha256=doc.sha256,
            file_name=doc.file_name,
            title=doc.title,
            pages=doc.pages,
            size_bytes=doc.size_bytes,
            tags=(),
        )
        registry.activate(doc.document_id, chunks=doc.chunks)
    registry_s = time.perf_counter() - started
    return Throughput(
        documents=len(results),
        pages=sum(r.pages for r in results),
        chunks=sum(r.chunks for r in results),
        ingest_s=ingest_s,
        encode_s=encode_s,
        embed_in_ingest_s=sum(embedder.calls),
        upsert_s=sum(collection.upserts),
        extract_s=extract_s,
        chunk_s=chunk_s,
        registry_s=registry_s,
    )


# ---------------------------------------------------------------- 2. memory


def status_kib(field: str) -> int:
    """A size from /proc/self/status in KiB: VmRSS (now) or VmHWM (peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def child_rss(pdf: Path) -> None:
    """Subprocess side: load the model, then ingest ``pdf``; print peak RSS as JSON."""
    with tempfile.TemporaryDirectory(prefix="clinsynth-bench-rss-") as home:
        embedder = Embedder(packaged_embedder_path())
        store = make_store(Path(home), embedder)
        warm_up(embedder)
        peak_load = status_kib("VmHWM")
        start = status_kib("VmRSS")
        # Reset the peak (VmHWM) so the peak below is the ingest's own, not the model
        # load's; where the kernel refuses, it stays the lifetime peak. ru_maxrss is kept
        # for reference only: a child started by vfork inherits its parent's peak in it.
        try:
            Path("/proc/self/clear_refs").write_text("5")
            reset = True
        except OSError:
            reset = False
        started = time.perf_counter()
        result = ingest_file(pdf, store)
        seconds = time.perf_counter() - started
        after = status_kib("VmHWM")
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            json.dumps(
                {
                    "status": result.status,
                    "error": result.error,
                    "pages": result.pages,
                    "chunks": result.chunks,
                    "seconds": seconds,
                    "peak_load_kib": peak_load,
                    "rss_start_kib": start,
                    "peak_ingest_kib": after,
                    "peak_reset": reset,
                    "ru_maxrss_kib": maxrss,
                    "rss_end_kib": status_kib("VmRSS"),
                }
            )
        )


def run_child(pdf: Path, threads: int | None) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child-rss", str(pdf)]
    out = subprocess.run(
        command + (["--torch-threads", str(threads)] if threads else []),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"child ingest of {pdf.name} failed:\n{out.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if data["status"] != "ingested":
        raise SystemExit(f"child ingest of {pdf.name}: {data['error']}")
    return data


# ---------------------------------------------------------------- 3. retrieval


@dataclass
class Latency:
    total_ms: list[float]
    embed_ms: list[float]
    chroma_ms: list[float]


def fill_synthetic(store: KnowledgeStore, texts: Sequence[str], chunks: int, documents: int) -> int:
    """Register ``documents`` active documents holding ``chunks`` chunks with random unit
    embeddings (real corpus texts as their documents). Returns the embedding dimension."""
    dimension = int(store.embedder.model.get_embedding_dimension() or 384)
    rng = np.random.default_rng(7)
    batch = min(int(store._collection._client.get_max_batch_size()), 5000)
    per_document = -(-chunks // documents)
    written = 0
    for number in range(documents):
        sha = hashlib.sha256(f"synthetic guideline {number}".encode()).hexdigest()
        name = f"synthetic_{number:02d}.pdf"
        title = f"Synthetic guideline {number}"
        count = min(per_document, chunks - written)
        entry = store.registry.begin(
            sha256=sha, file_name=name, title=title, pages=count // 6 + 1, size_bytes=0, tags=()
        )
        for offset in range(0, count, batch):
            rows = [
                GuidelineChunk(
                    chunk_id=chunk_id(sha, i // 6 + 1, i % 6),
                    document=name,
                    document_sha256=sha,
                    title=title,
                    page=i // 6 + 1,
                    start=0,
                    end=len(texts[(written + i) % len(texts)]),
                    text=texts[(written + i) % len(texts)],
                )
                for i in range(offset, min(offset + batch, count))
            ]
            vectors = rng.standard_normal((len(rows), dimension)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            store._collection.upsert(
                ids=[c.chunk_id for c in rows],
                documents=[c.text for c in rows],
                embeddings=vectors,
                metadatas=[c.metadata() for c in rows],
            )
        store.registry.activate(entry.document_id, chunks=count)
        written += count
    return dimension


def time_queries(
    store: KnowledgeStore,
    embedder: TimedEmbedder,
    collection: TimedCollection,
    queries: Sequence[str],
    *,
    mmr: bool,
) -> Latency:
    for text in queries[:5]:  # warm-up, not counted
        store.query(text, k=5, mmr=mmr)
    embedder.calls.clear()
    collection.queries.clear()
    totals = []
    for text in queries:
        started = time.perf_counter()
        store.query(text, k=5, mmr=mmr)
        totals.append((time.perf_counter() - started) * 1000)
    return Latency(
        totals, [s * 1000 for s in embedder.calls], [s * 1000 for s in collection.queries]
    )


def corpus_texts() -> list[str]:
    splitter = make_splitter(IngestOptions().chunk_size, IngestOptions().chunk_overlap)
    texts: list[str] = []
    for pdf in corpus_files():
        document, reader = open_pdf(pdf)
        texts.extend(c.text for c in chunk_pages(document, iter_pages(pdf, reader), splitter))
    return texts


# ---------------------------------------------------------------- 4. real PDFs


@dataclass
class RealRun:
    ocr: bool
    files: int
    ingested: int
    pages: int
    chunks: int
    table_chunks: int
    ingest_s: float
    embed_s: float
    upsert_s: float
    encode_s: float
    timings: Timings
    languages: dict[str, int]
    ocr_confidence: list[float]


def measure_real(folder: Path, embedder: TimedEmbedder, *, ocr: bool) -> RealRun:
    store = make_store(folder, embedder)
    collection = TimedCollection(store._collection)
    store._collection = collection
    embedder.calls.clear()
    timings = Timings()
    started = time.perf_counter()
    results = ingest_paths([REAL], store, IngestOptions(ocr=ocr), timings=timings)
    ingest_s = time.perf_counter() - started
    stored = collection.get(include=["documents", "metadatas"])
    texts = list(stored["documents"] or [])
    started = time.perf_counter()
    embedder.model.encode(
        texts,
        batch_size=embedder.batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    encode_s = time.perf_counter() - started
    documents = store.registry.documents()
    languages: dict[str, int] = {}
    for document in documents:
        key = document.language or "none"
        languages[key] = languages.get(key, 0) + 1
    return RealRun(
        ocr=ocr,
        files=len(results),
        ingested=sum(r.status == "ingested" for r in results),
        pages=sum(r.pages for r in results if r.status == "ingested"),
        chunks=len(texts),
        table_chunks=sum(m.get("kind") == "table" for m in stored["metadatas"] or []),
        ingest_s=ingest_s,
        embed_s=sum(embedder.calls),
        upsert_s=sum(collection.upserts),
        encode_s=encode_s,
        timings=timings,
        languages=languages,
        ocr_confidence=[d.ocr_confidence for d in documents if d.ocr_confidence],
    )


def report_real(home: Path) -> None:
    if not REAL.is_dir():
        say(f"\n== 4. real PDFs: {REAL.resolve()} is missing; skipped")
        return
    embedder = TimedEmbedder(packaged_embedder_path())
    warm_up(embedder)
    runs = [measure_real(home / f"real-{ocr}", embedder, ocr=ocr) for ocr in (False, True)]
    say(f"\n== 4. real PDFs ({REAL.resolve()}), without and with OCR")

    def row(label: str, *values: str) -> None:
        say(f"{label:<34}" + "".join(f"{v:>22}" for v in values))

    row("", "without OCR", "with OCR")
    row("files ingested", *(f"{r.ingested} of {r.files}" for r in runs))
    row("pages, OCR pages", *(f"{r.pages}, {r.timings.ocr_pages}" for r in runs))
    row("chunks (of them table rows)", *(f"{r.chunks} ({r.table_chunks})" for r in runs))
    row("end-to-end ingest", *(f"{r.ingest_s:.1f} s" for r in runs))
    row("  pages/s", *(f"{r.pages / r.ingest_s:.2f}" for r in runs))
    for label, attribute in (
        ("  reading (pypdf text layer)", "reading"),
        ("  tables (pdfplumber)", "tables"),
        ("  OCR (render + engine)", "ocr"),
        ("  normalising + headers + language", "normalising"),
        ("  chunking", "chunking"),
    ):
        row(label, *(f"{getattr(r.timings, attribute):.1f} s" for r in runs))
    row("  embedding (Embedder.embed)", *(f"{r.embed_s:.1f} s" for r in runs))
    row("  Chroma upsert", *(f"{r.upsert_s:.1f} s" for r in runs))
    row("  writing (pages, originals, registry)", *(f"{r.timings.writing:.1f} s" for r in runs))
    row("raw encode of the stored chunks", *(f"{r.encode_s:.1f} s" for r in runs))
    row(
        "ratio embedding part / raw encode",
        *(f"{r.encode_s / r.embed_s:.2f}" if r.embed_s else "-" for r in runs),
    )
    row("ratio end-to-end / raw encode", *(f"{r.encode_s / r.ingest_s:.2f}" for r in runs))
    row(
        "document languages",
        *(" ".join(f"{k}:{v}" for k, v in sorted(r.languages.items())) for r in runs),
    )
    confidences = runs[1].ocr_confidence
    if confidences:
        say(
            f"OCR confidence of the {len(confidences)} scanned documents: "
            f"{min(confidences):.2f} to {max(confidences):.2f}"
        )


# ---------------------------------------------------------------- main


def say(line: str = "") -> None:
    print(line, flush=True)


def report_throughput(home: Path, copies: int) -> None:
    t = measure_throughput(home / "throughput", copies)
    ingest_rate = t.chunks / t.ingest_s
    encode_rate = t.chunks / t.encode_s
    other = t.ingest_s - t.embed_in_ingest_s - t.upsert_s
    say(f"== 1. ingest throughput ({t.documents} distinct PDFs = {copies} corpus copies)")
    say(f"pages, chunks:                    {t.pages}, {t.chunks}")
    say(f"end-to-end ingest:                {t.ingest_s:.1f} s")
    say(f"  pages/s:                        {t.pages / t.ingest_s:.2f}")
    say(f"  chunks/s:                       {ingest_rate:.2f}")
    say(
        f"raw SentenceTransformer.encode:   {t.encode_s:.1f} s, {encode_rate:.2f} chunks/s "
        f"(same {t.chunks} texts, batch_size 32, normalised, one call)"
    )
    say(
        f"ratio ingest / raw encode:        {ingest_rate / encode_rate:.2f} "
        f"(target >= {TARGET_RATIO})"
    )
    say("where the ingest time went:")
    say(
        f"  Embedder.embed                  {t.embed_in_ingest_s:6.1f} s "
        f"({t.embed_in_ingest_s / t.ingest_s:.0%}; up to {EMBED_BATCH} chunks a call)"
    )
    say(f"  Chroma upsert                   {t.upsert_s:6.1f} s ({t.upsert_s / t.ingest_s:.0%})")
    say(f"  everything else                 {other:6.1f} s ({other / t.ingest_s:.0%}), of which:")
    say(f"    PDF reading + normalising     {t.extract_s:6.1f} s (timed again on its own)")
    say(f"    chunking                      {t.chunk_s:6.1f} s (timed again on its own)")
    say(f"    registry lookup/begin/activate{t.registry_s:6.1f} s (timed again on its own)")


def report_memory(home: Path, long_pages: int, threads: int | None) -> None:
    short_pages = max(long_pages // 10, 1)
    say("\n== 2. peak RSS ingesting one PDF, each in a fresh subprocess")
    figures = {}
    for pages in (short_pages, long_pages):
        pdf = build_long_pdf(home / f"long_{pages}.pdf", pages)
        data = run_child(pdf, threads)
        figures[pages] = data
        say(
            f"{pages:>5} pages ({pdf.stat().st_size / 1e6:.1f} MB, {data['chunks']} chunks, "
            f"{data['seconds']:.0f} s): RSS at start {data['rss_start_kib'] / 1024:.0f} MiB "
            f"(model loaded; peak so far {data['peak_load_kib'] / 1024:.0f} MiB), "
            f"peak while ingesting {data['peak_ingest_kib'] / 1024:.0f} MiB, "
            f"growth {(data['peak_ingest_kib'] - data['rss_start_kib']) / 1024:.0f} MiB"
        )
    small, large = figures[short_pages], figures[long_pages]
    if not (small["peak_reset"] and large["peak_reset"]):
        say("(the kernel refused to reset the peak: 'while ingesting' is the process's peak)")
    growth_small = max(small["peak_ingest_kib"] - small["rss_start_kib"], 1)
    growth_large = large["peak_ingest_kib"] - large["rss_start_kib"]
    say(
        f"ratio {long_pages} / {short_pages} pages: peak while ingesting "
        f"{large['peak_ingest_kib'] / small['peak_ingest_kib']:.2f}, "
        f"growth {growth_large / growth_small:.2f}"
    )


def report_retrieval(home: Path, chunks: int, queries: int) -> None:
    say(f"\n== 3. retrieval latency at {chunks} chunks")
    say(
        "(stored embeddings are random unit vectors: real embeddings for that many chunks "
        "take too long here; the queries are embedded by MiniLM)"
    )
    embedder = TimedEmbedder(packaged_embedder_path())
    store = make_store(home / "retrieval", embedder, collection="retrieval_bench")
    collection = TimedCollection(store._collection)
    store._collection = collection
    warm_up(embedder)
    started = time.perf_counter()
    dimension = fill_synthetic(store, corpus_texts(), chunks, documents=20)
    fill_s = time.perf_counter() - started
    stored = store.stored_chunks()
    say(
        f"filled {stored} chunks of dimension {dimension} over "
        f"{len(store.registry.active_ids())} active documents in {fill_s:.0f} s "
        f"({stored / fill_s:.0f} chunks/s through collection.upsert)"
    )
    texts = [f"{topic} for {tumour}" for tumour in QUERY_TUMOURS for topic in QUERY_TOPICS]
    texts = (texts * (queries // len(texts) + 1))[:queries]
    for mmr in (False, True):
        lat = time_queries(store, embedder, collection, texts, mmr=mmr)
        share = sum(lat.embed_ms) / sum(lat.total_ms)
        say(
            f"KnowledgeStore.query k=5 mmr={mmr!s:5} ({len(texts)} queries): "
            f"p50 {percentile(lat.total_ms, 50):.1f} ms, p95 {percentile(lat.total_ms, 95):.1f} ms"
        )
        say(
            f"  embedding the query: p50 {percentile(lat.embed_ms, 50):.1f} ms, "
            f"p95 {percentile(lat.embed_ms, 95):.1f} ms, {share:.0%} of the total time"
        )
        say(
            f"  Chroma collection.query: p50 {percentile(lat.chroma_ms, 50):.1f} ms, "
            f"p95 {percentile(lat.chroma_ms, 95):.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--copies", type=int, help="corpus copies to ingest (default 30)")
    parser.add_argument("--long-pages", type=int, help="pages of the large PDF (default 2000)")
    parser.add_argument("--chunks", type=int, help="chunks for retrieval (default 100000)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--torch-threads", type=int, help="torch.set_num_threads for every figure (default torch's)"
    )
    parser.add_argument(
        "--only",
        choices=("throughput", "retrieval", "memory", "real"),
        action="append",
        help="run only these sections (repeatable; default all)",
    )
    parser.add_argument("--child-rss", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    if args.child_rss is not None:
        child_rss(args.child_rss)
        return
    import torch

    copies = args.copies or (5 if args.quick else 30)
    long_pages = args.long_pages or (200 if args.quick else 2000)
    chunks = args.chunks or (10_000 if args.quick else 100_000)
    say(f"torch threads: {torch.get_num_threads()}, CPUs: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="clinsynth-bench-ingest-") as tmp:
        home = Path(tmp)
        sections = set(args.only or ("throughput", "retrieval", "memory", "real"))
        if "throughput" in sections:
            report_throughput(home, copies)
        if "real" in sections:
            report_real(home)
        if "retrieval" in sections:
            report_retrieval(home, chunks, args.queries)
        if "memory" in sections:
            report_memory(home, long_pages, args.torch_threads)  # the slowest, last


if __name__ == "__main__":
    main()
