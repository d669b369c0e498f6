"""Ingestion on real PDFs, including bad ones crafted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from ingest.pipeline import ingest_paths
from knowledge.embedded import packaged_embedder_path
from knowledge.embeddings import Embedder
from knowledge.store import KnowledgeStore
from knowledge.text import normalize_whitespace
from tests.conftest import CORPUS_PDF_DIR

pytestmark = pytest.mark.integration
CLINSYNTH = str(Path(sys.executable).with_name("clinsynth"))


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(packaged_embedder_path())


def write_pdf(path: Path, pages: list[str]) -> Path:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    pdf.output(str(path))
    return path


def test_chunks_carry_their_page_and_offsets(tmp_path, embedder):
    store = KnowledgeStore(embedder, path=tmp_path / "chroma")
    pdf = CORPUS_PDF_DIR / "osteosarcoma.pdf"
    [result] = ingest_paths([pdf], store, chunk_size=400, chunk_overlap=40)
    assert result.status == "ingested" and result.chunks > result.pages
    reader = PdfReader(pdf)
    hits = store.query("methotrexate dose", k=5)
    assert hits and all(0 <= h.score <= 1 for h in hits)
    for hit in hits:
        page = normalize_whitespace(reader.pages[hit.page - 1].extract_text())
        assert page[hit.start : hit.end] == hit.text
    assert any("methotrexate" in h.text.lower() for h in hits)


def test_bad_files_fail_clearly_and_the_batch_goes_on(tmp_path, clinsynth_env):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "notes.pdf").write_text("this is not a PDF at all")
    good = write_pdf(folder / "good.pdf", ["Vincristine 1.5 mg/m2 on day 1 of each cycle."])
    truncated = folder / "truncated.pdf"
    truncated.write_bytes(good.read_bytes()[:200])
    write_pdf(folder / "blank.pdf", [""])
    locked = folder / "locked.pdf"
    writer = PdfWriter(clone_from=good)
    writer.encrypt("secret")
    writer.write(locked)
    result = subprocess.run(
        [CLINSYNTH, "ingest", str(folder)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1
    err = result.stderr
    assert "notes.pdf: not a PDF file" in err
    assert "truncated.pdf: corrupt or truncated PDF" in err
    assert "blank.pdf: no text layer" in err
    assert "locked.pdf: encrypted PDF" in err
    assert "ingested  " in err and "good.pdf: 1 pages" in err
    assert "1 of 5 files ok" in err


def test_missing_path_is_a_usage_error(clinsynth_env, tmp_path):
    result = subprocess.run(
        [CLINSYNTH, "ingest", str(tmp_path / "nope")], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr
