"""The bundled corpus: PDFs are the rendering of their text sources, and facts extract."""

import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

from knowledge.chunks import RetrievedChunk
from knowledge.evidence import build_evidence_sheet
from knowledge.text import normalize_whitespace
from knowledge.vocabulary import drugs, morphologies
from tests.conftest import CORPUS_PDF_DIR, ROOT

TOPICS = {
    "ewing_sarcoma",
    "osteosarcoma",
    "acute_lymphoblastic_leukaemia",
    "hodgkin_lymphoma",
    "hsct_supportive_care",
}


def test_committed_pdfs_are_the_rendering_of_their_sources(tmp_path: Path):
    subprocess.run(
        [sys.executable, str(ROOT / "knowledge/corpus/render.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    rendered = {p.name: p.read_bytes() for p in tmp_path.glob("*.pdf")}
    committed = {p.name: p.read_bytes() for p in CORPUS_PDF_DIR.glob("*.pdf")}
    assert {Path(n).stem for n in committed} >= TOPICS
    assert rendered == committed, "run `make corpus` and commit the PDFs"


def test_each_document_states_codes_doses_and_sources():
    for pdf in sorted(CORPUS_PDF_DIR.glob("*.pdf")):
        pages = [normalize_whitespace(p.extract_text()) for p in PdfReader(pdf).pages]
        chunks = [
            RetrievedChunk(
                chunk_id=f"{pdf.stem}-{i}",
                document=pdf.name,
                document_sha256="x",
                title=pdf.stem,
                page=i,
                start=0,
                end=len(t),
                text=t,
                score=1.0,
            )
            for i, t in enumerate(pages, start=1)
        ]
        sheet = build_evidence_sheet(chunks)
        assert sheet.morphologies, pdf.name
        assert any(d.unit in ("mg/m2", "g/m2") for d in sheet.doses_given()), pdf.name
        assert sheet.radiotherapy, pdf.name
        assert "Sources" in " ".join(pages), pdf.name
        assert "not for clinical use" in " ".join(pages), pdf.name


def test_vocabularies_cover_the_corpus_codes():
    codes = {m.code for m in morphologies()}
    assert {"9364/3", "9180/3", "9835/3", "9650/3", "9663/3"} <= codes
    atc = {d.term: d.code for d in drugs()}
    assert atc["vincristine"] == "L01CA02" and atc["doxorubicin"] == "L01DB01"
