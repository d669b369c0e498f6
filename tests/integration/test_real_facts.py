"""The fact index of real guideline PDFs (../shared/corpus/real): ingesting one gives drug
doses whose quotes are exactly their page's stored text; radiotherapy courses are read from
a chapter that has them. The folder is present in CI (next to the repository); elsewhere
these tests skip when it is missing."""

from __future__ import annotations

import pytest

from ingest.pdf import iter_pages, open_pdf
from ingest.pipeline import IngestOptions, ingest_paths
from ingest.reading import read_document
from knowledge.facts import extract_page, for_document
from knowledge.facts.store import FactIndex
from knowledge.registry import DocumentRegistry
from service.storage.database import open_database
from tests.integration.test_real_pdfs import real, store  # noqa: F401  (store: the fixture)

pytestmark = pytest.mark.integration


def test_ingesting_a_real_pdf_indexes_doses_quoted_exactly(store):  # noqa: F811
    path = real("cpc-neuro/ap2_resgate.pdf")
    [result] = ingest_paths([path], store, IngestOptions(ocr=False))
    assert result.status == "ingested" and result.facts["drug_dose"] > 20
    facts = FactIndex(store.registry.engine).facts(document_id=result.document_id)
    pages = {p.page: p.text for p in store.registry.pages(result.document_id)}
    for fact in facts:
        assert fact.quote == pages[fact.page][fact.start : fact.end]
    doses = {
        (f.fields["drug"], f.fields["dose"], f.fields["unit"])
        for f in facts
        if f.kind == "drug_dose"
    }
    assert ("temozolomide", 200, "mg/m2") in doses
    assert ("ifosfamide", 1.8, "g/m2") in doses  # "ifosfamida 1,8 g/m2": a decimal comma
    assert result.facts == FactIndex(store.registry.engine).counts(result.document_id)


def test_radiotherapy_courses_of_a_real_chapter():
    """ap2_resgate has no radiotherapy; ap4_alt does ("54 Gy ... e 59,4 Gy")."""
    path = real("cpc-neuro/ap4_alt.pdf")
    _, reader = open_pdf(path)
    pages = read_document(path, iter_pages(path, reader), ocr=None, tables=False)
    found = [
        fact
        for page in pages
        for fact in extract_page(page.number, page.text, language=page.language)
        if fact.kind == "radiotherapy"
    ]
    by_page = {page.number: page.text for page in pages}
    assert {f.fields["total_gy"] for f in found} >= {54, 59.4}
    for fact in found:
        assert fact.quote == by_page[fact.page][fact.start : fact.end]


def test_the_portuguese_rescue_chapter_covers_recurrent_cns_tumours(tmp_path):
    """ap2_resgate opens with "Tumores do SNC recorrentes" and gives its regimens on the
    pages after; coverage lists the relapsed CNS tumours with chemotherapy from it, by any
    of their names. Facts from the text layer, stored without embedding: fast."""
    path = real("cpc-neuro/ap2_resgate.pdf")
    _, reader = open_pdf(path)
    pages = read_document(path, iter_pages(path, reader), ocr=None, tables=False)
    registry = DocumentRegistry(open_database(f"sqlite:///{tmp_path / 'facts.db'}"))
    doc = registry.begin(
        sha256="a" * 64, file_name=path.name, title="", pages=len(pages), size_bytes=1, tags=()
    )
    facts = [f for p in pages for f in extract_page(p.number, p.text, language=p.language)]
    index = FactIndex(registry.engine)
    index.put(doc.document_id, for_document(doc.document_id, facts))
    registry.activate(doc.document_id, chunks=1)
    [entry] = [e for e in index.coverage() if e["term"] == "relapsed CNS tumours"]
    assert "Tumores do SNC recorrentes" in entry["names"]
    assert entry["blocks"]["chemotherapy"]["facts"] > 0 and "chemotherapy" in entry["supported"]
    for name in (
        "recurrent CNS tumours",
        "tumores do SNC recorrentes",
        "tumores del SNC en recaída",
    ):
        doses = index.facts(tumour=name, kinds=["drug_dose"])
        assert "temozolomide" in {f.fields["drug"] for f in doses}
