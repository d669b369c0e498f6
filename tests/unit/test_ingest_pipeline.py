"""The ingest pipeline's batching across documents, on the bundled PDFs, real Chroma and a
real SQLite registry; only the embedding model is a recording fake (the seam)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

import ingest.pipeline as pipeline
from ingest.pdf import IngestError
from ingest.pipeline import StoreWriteError, ingest_paths
from knowledge.registry import DocumentRegistry
from knowledge.store import KnowledgeStore, chroma_client
from service.storage.database import open_database
from tests.conftest import CORPUS_PDF_DIR

PDFS = sorted(CORPUS_PDF_DIR.glob("*.pdf"))


class RecordingEmbedder:
    """Deterministic vectors from each text's hash; remembers the size of every call."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(len(texts))
        return [[b / 255 for b in hashlib.sha256(t.encode()).digest()[:8]] for t in texts]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object, int]] = []

    def start(self, path: Path, pages: int) -> None:
        self.events.append(("start", path.name, pages))

    def advance(self, pages: int, chunks: int) -> None:
        self.events.append(("advance", pages, chunks))


@pytest.fixture
def store(tmp_path: Path) -> KnowledgeStore:
    registry = DocumentRegistry(open_database(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    return KnowledgeStore(RecordingEmbedder(), registry, client=chroma_client(tmp_path / "c"))


def test_small_documents_share_embedding_batches_and_all_go_live(store, monkeypatch):
    monkeypatch.setattr(pipeline, "EMBED_BATCH", 64)
    progress = Recorder()
    seen: list[str] = []
    results = ingest_paths(
        PDFS, store, on_result=lambda r: seen.append(r.path.name), progress=progress
    )
    total = sum(r.chunks for r in results)
    assert [r.status for r in results] == ["ingested"] * len(PDFS)
    assert seen == [p.name for p in PDFS]  # file order, each once
    assert max(r.chunks for r in results) < 64 < total  # every file is smaller than a batch
    # full batches across file boundaries, then the remainder: not one short call per file
    assert store.embedder.calls == [64] * (total // 64) + [total % 64] * bool(total % 64)
    assert store.count() == store.stored_chunks() == total
    assert {d.file_name for d in store.registry.documents()} == {p.name for p in PDFS}
    assert sum(c for kind, _, c in progress.events if kind == "advance") == total
    pages = [p for kind, p, _ in progress.events if kind == "advance"]
    assert sum(pages) == sum(r.pages for r in results)
    first_write = next(i for i, e in enumerate(progress.events) if e[0] == "advance" and e[2])
    assert sum(p for kind, p, _ in progress.events[:first_write] if kind == "advance") > 3
    # the pages bar moves as pages are read, before the first batch is embedded


def test_a_file_failing_part_way_loses_only_its_own_chunks(store, monkeypatch):
    monkeypatch.setattr(pipeline, "EMBED_BATCH", 1000)  # everything waits in one batch
    real_iter_pages = pipeline.iter_pages

    def iter_pages(path, reader):
        for number, page in enumerate(real_iter_pages(path, reader), start=1):
            if path.name == "hodgkin_lymphoma.pdf" and number == 2:
                raise IngestError(path, "page 2: corrupt content stream")
            yield page

    monkeypatch.setattr(pipeline, "iter_pages", iter_pages)
    results = {r.path.name: r for r in ingest_paths(PDFS, store)}
    failed = results.pop("hodgkin_lymphoma.pdf")
    assert failed.status == "failed" and failed.error.endswith("page 2: corrupt content stream")
    assert {r.status for r in results.values()} == {"ingested"}
    assert store.stored_chunks() == store.count() == sum(r.chunks for r in results.values())
    assert "hodgkin_lymphoma.pdf" not in {d.file_name for d in store.registry.documents()}


def test_the_same_file_twice_in_one_run_is_settled_before_the_second(store, tmp_path):
    folder = tmp_path / "again"
    folder.mkdir()
    copy = shutil.copy(PDFS[0], folder / PDFS[0].name)
    first, second = ingest_paths([PDFS[0], Path(copy)], store)
    assert (first.status, second.status) == ("ingested", "unchanged")
    assert second.document_id == first.document_id
    assert store.stored_chunks() == store.count() == first.chunks


def test_known_content_under_a_new_name_is_unchanged_and_keeps_the_name_as_an_alias(
    store, tmp_path
):
    renamed = Path(shutil.copy(PDFS[0], tmp_path / "renamed.pdf"))
    [first] = ingest_paths([PDFS[0]], store)
    calls = list(store.embedder.calls)
    [second] = ingest_paths([renamed], store)
    [third] = ingest_paths([renamed], store)
    assert (first.status, second.status, third.status) == ("ingested",) + ("unchanged",) * 2
    assert second.document_id == first.document_id and store.embedder.calls == calls
    [document] = store.registry.documents()
    assert (document.file_name, document.aliases) == (PDFS[0].name, ["renamed.pdf"])
    assert document.as_json()["aliases"] == ["renamed.pdf"]
    assert store.registry.active_ids(documents=["renamed.pdf"]) == [document.document_id]
    assert store.stored_chunks() == store.count() == first.chunks


def test_a_store_that_cannot_be_written_stops_the_run_with_nothing_visible(store):
    def refuse(chunks):
        raise OSError(28, "No space left on device")

    store.add = refuse
    with pytest.raises(StoreWriteError, match="No space left on device") as caught:
        ingest_paths(PDFS, store)
    assert PDFS[0].name in str(caught.value)
    assert store.registry.documents() == []  # registered versions stay invisible
    assert {d.status for d in store.registry.documents(include_superseded=True)} == {"ingesting"}
