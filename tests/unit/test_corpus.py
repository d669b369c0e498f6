"""The bundled corpus: PDFs are the rendering of their text sources, doses and units survive
text extraction (Unicode, decimal commas, tables), and the fact index supports each tumour's
treatment blocks."""

import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from pypdf import PdfReader

from ingest.pdf import iter_pages, open_pdf
from ingest.reading import PageContent, read_document
from knowledge.care_facts import care_facts
from knowledge.chunks import RetrievedChunk
from knowledge.evidence import build_evidence_sheet
from knowledge.facts import extract_page
from knowledge.facts.extract import for_document
from knowledge.facts.model import Fact
from knowledge.facts.store import BLOCKS, page_subjects
from knowledge.text import normalize_whitespace
from knowledge.vocabulary import drugs, morphologies
from tests.conftest import CORPUS_PDF_DIR, ROOT

TOPICS = {
    "ewing_sarcoma",
    "osteosarcoma",
    "acute_lymphoblastic_leukaemia",
    "hodgkin_lymphoma",
    "hsct_supportive_care",
    "neuroblastoma",
    "wilms_tumour",
    "medulloblastoma",
    "rabdomiosarcoma",
    "hepatoblastoma",
}
# The hepatoblastoma summary says radiotherapy is not part of its treatment.
WITHOUT_RADIOTHERAPY = {"hepatoblastoma"}


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


def page_chunks(pdf: Path) -> list[RetrievedChunk]:
    """Each page of a bundled PDF as one passage, its text as pypdf extracts it."""
    pages = [normalize_whitespace(p.extract_text()) for p in PdfReader(pdf).pages]
    return [
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


def test_each_document_states_codes_doses_and_sources():
    for pdf in sorted(CORPUS_PDF_DIR.glob("*.pdf")):
        chunks = page_chunks(pdf)
        text = " ".join(c.text for c in chunks)
        sheet = build_evidence_sheet(chunks)
        assert sheet.morphologies, pdf.name
        assert any(d.unit in ("mg/m2", "g/m2") for d in sheet.doses_given()), pdf.name
        assert bool(sheet.radiotherapy) == (pdf.stem not in WITHOUT_RADIOTHERAPY), pdf.name
        assert "Sources" in text, pdf.name
        assert "not for clinical use" in text, pdf.name


# Phrases as printed (Unicode units, decimal commas, table cells), found again in the text
# pypdf extracts (whitespace aside).
PRINTED = {
    "neuroblastoma": (
        "cisplatin 80 mg/m² IV over 24 hours",
        "melphalan 140 mg/m² IV on day -1",
        "21.6 Gy in 12 fractions of 1.8 Gy",
        "160 mg/m² per day orally",
        "M at ≥ 18 months",
        "less than 9 kg 1 mg/kg",
    ),
    "wilms_tumour": (
        "actinomycin D 45 µg/kg IV (max 2 mg) 1, 3 1, 3, 5",
        "14.4 Gy in 8 fractions of 1.8 Gy",
        "50 mg/m² IV over 4–6 hours",
    ),
    "medulloblastoma": (
        "23.4 Gy in 13 fractions of 1.8 Gy",
        "lomustine (CCNU) 75 mg/m² orally day 1",
        "ventriculoperitoneal shunt",
    ),
    "rabdomiosarcoma": (
        "ifosfamida 3 g/m²/día IV en 3 horas días 1-2",
        "vincristina 1,5 mg/m² IV (máx. 2 mg)",
        "actinomicina D 1,5 mg/m² IV (máx. 2 mg)",
        "vinorelbina 25 mg/m² IV días 1, 8 y 15",
        "ciclofosfamida oral 25 mg/m²/día",
        "41,4 Gy en 23 fracciones de 1,8 Gy",
        "50,4 Gy en 28 fracciones de 1,8 Gy",
    ),
    "hepatoblastoma": (
        "Cisplatino 80 mg/m² IV en infusión continua de 24 horas",
        "tiosulfato sódico 20 g/m²",
        "carboplatino 500 mg/m² IV en 1 hora",
    ),
}


@pytest.mark.parametrize("stem", sorted(PRINTED))
def test_doses_and_units_survive_text_extraction(stem):
    text = " ".join(c.text for c in page_chunks(CORPUS_PDF_DIR / f"{stem}.pdf"))
    for phrase in PRINTED[stem]:
        assert phrase in text, phrase


@cache
def read(stem: str) -> list[PageContent]:
    path = CORPUS_PDF_DIR / f"{stem}.pdf"
    _, reader = open_pdf(path)
    return read_document(path, iter_pages(path, reader), ocr=None)


@cache
def indexed(stem: str) -> list[Fact]:
    """The fact index of one document, as ingestion builds it (page text and table rows)."""
    facts: list[Fact] = []
    for page in read(stem):
        rows = [row.cells for row in page.rows]
        facts += extract_page(page.number, page.text, language=page.language, rows=rows)
    return for_document(stem, facts)


def test_dose_tables_are_read_as_rows_with_their_headers():
    rows = [row.line() for page in read("rabdomiosarcoma") for row in page.rows]
    assert (
        "Fármaco: vinorelbina; Dosis: 25 mg/m² IV; Días: días 1, 8 y 15 de cada ciclo de 28 días"
        in rows
    )
    doses = {
        (f.fields["drug"], f.fields["dose"], f.fields["unit"], f.fields["days"])
        for f in indexed("rabdomiosarcoma")
        if f.kind == "drug_dose"
    }
    assert ("vinorelbine", 25, "mg/m2", "1,8,15") in doses
    assert ("vincristine", 1.5, "mg/m2", "1") in doses
    assert not any(drug == "vincristine" and unit == "mg" for drug, _, unit, _ in doses)


# Per tumour of the documents added for issue 14: the record blocks its guideline's facts
# support (as `clinsynth coverage` reports them).
BLOCKS_WRITTEN = {
    ("neuroblastoma", "9500/3"): {"chemotherapy", "radiotherapy", "surgery", "hsct"},
    ("wilms_tumour", "8960/3"): {"chemotherapy", "radiotherapy", "surgery"},
    ("medulloblastoma", "9470/3"): {"chemotherapy", "radiotherapy", "surgery"},
    ("rabdomiosarcoma", "8900/3"): {"chemotherapy", "radiotherapy", "surgery"},
    ("hepatoblastoma", "8970/3"): {"chemotherapy", "surgery"},
}


@pytest.mark.parametrize(("stem", "code"), sorted(BLOCKS_WRITTEN))
def test_each_new_tumour_has_the_blocks_its_guideline_writes(stem, code):
    facts = indexed(stem)
    pages = [key for key, codes in page_subjects(facts).items() if code in codes]
    kinds = {f.kind for f in facts if (f.document_id, f.page) in pages}
    supported = {block for block, wanted in BLOCKS.items() if kinds & set(wanted)}
    assert supported >= BLOCKS_WRITTEN[(stem, code)]


PROCEDURES = {
    "neuroblastoma": {"gross total resection of the primary tumour"},
    "wilms_tumour": {"radical nephrectomy", "nephron-sparing surgery"},
    "medulloblastoma": {
        "maximal safe resection",
        "ventriculoperitoneal shunt",
        "endoscopic third ventriculostomy",
    },
    "rabdomiosarcoma": {"wide surgical resection", "radical inguinal orchidectomy"},
    "hepatoblastoma": {"partial hepatectomy", "liver transplantation"},
}


@pytest.mark.parametrize("stem", sorted(PROCEDURES))
def test_surgery_of_each_new_guideline_is_a_vocabulary_procedure(stem):
    found = care_facts(page_chunks(CORPUS_PDF_DIR / f"{stem}.pdf"))
    assert PROCEDURES[stem] <= {p.procedure for p in found.procedures}


def test_neuroblastoma_names_autologous_rescue_after_busulfan_melphalan():
    found = care_facts(page_chunks(CORPUS_PDF_DIR / "neuroblastoma.pdf"))
    assert any(t.type == "autologous" and "9500/3" in t.tumours for t in found.transplant_types)
    assert any(c.name == "BuMel" and c.indicated_for("9500/3") for c in found.conditioning)


def test_vocabularies_cover_the_corpus_codes():
    codes = {m.code for m in morphologies()}
    assert {"9364/3", "9180/3", "9835/3", "9650/3", "9663/3"} <= codes
    assert {"9500/3", "8960/3", "9470/3", "8900/3", "8970/3"} <= codes
    atc = {d.term: d.code for d in drugs()}
    assert atc["vincristine"] == "L01CA02" and atc["doxorubicin"] == "L01DB01"
