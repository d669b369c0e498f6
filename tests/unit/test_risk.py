"""Risk groups read from passages and the headings they stand under (knowledge.risk,
knowledge.sections, ingest.chunking), on written sentences and on the bundled guideline
PDFs as ingestion reads and chunks them (tables included)."""

from __future__ import annotations

from functools import cache

import pytest

from ingest.chunking import chunk_pages, heading_lines, make_splitter
from ingest.pdf import iter_pages, open_pdf
from ingest.reading import read_document
from knowledge.chunks import GuidelineChunk
from knowledge.risk import fact_risk, risk_groups_in
from knowledge.sections import Heading, section_at
from tests.conftest import CORPUS_PDF_DIR


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        ("Craniospinal irradiation for high-risk or metastatic medulloblastoma: 36 Gy", {"high"}),
        ("4. Chemotherapy for low and intermediate risk", {"low", "intermediate"}),
        ("AV-1: vincristine 1.5 mg/m2 weekly, for stage I intermediate risk.", {"intermediate"}),
        ("durante 9 ciclos en el riesgo estándar y alto.", {"standard", "high"}),
        ("En el riesgo bajo se usa VA (vincristina y actinomicina D)", {"low"}),
        ("Pacientes de alto riesgo reciben", {"high"}),
        ("doentes de alto risco", {"high"}),
        ("no grupo de risco padrão e intermediário", {"standard", "intermediate"}),
        ("average-risk medulloblastoma", {"standard"}),
        ("very high risk ALL", {"high"}),
        ("low- and high-risk disease", {"low", "high"}),
        # not a risk group
        ("ESR of 30 mm/h and bulky disease are risk factors", set()),
        ("resection when it can be done without risk", set()),
        ("3. Staging and risk groups", set()),
        ("children at risk of hearing loss", set()),
    ],
)
def test_risk_groups_named(text, groups):
    assert risk_groups_in(text) == groups


def test_headings_nest_by_their_numbers():
    page = (
        "Intro text ends here.\n5. High-risk treatment\nSome text.\n5.1 Induction\n"
        "Induction text.\n6. Surgery\nSurgery text."
    )
    assert [t for _, t in heading_lines(page)] == [
        "5. High-risk treatment",
        "5.1 Induction",
        "6. Surgery",
    ]


def test_a_section_is_the_chain_in_effect():
    high = Heading(text="5. High-risk treatment", chunk_id="c0", page=1, depth=1)
    induction = Heading(text="5.1 Induction", chunk_id="c1", page=1, depth=2, at=10)
    surgery = Heading(text="6. Surgery", chunk_id="c1", page=1, depth=1, at=50)
    headings = [high, induction, surgery]
    assert [h.text for h in section_at(headings, 20)] == ["5. High-risk treatment", "5.1 Induction"]
    assert [h.text for h in section_at(headings, 60)] == ["6. Surgery"]


@cache
def _neuroblastoma() -> tuple[GuidelineChunk, ...]:
    path = CORPUS_PDF_DIR / "neuroblastoma.pdf"
    document, reader = open_pdf(path)
    pages = read_document(path, iter_pages(path, reader), ocr=None)
    return tuple(chunk_pages(document, pages, make_splitter(700, 80)))


def _risk_of(quote: str) -> set[str]:
    holder = next(c for c in _neuroblastoma() if quote in c.text)
    return set(fact_risk(quote, holder).groups)


def test_statements_take_the_risk_group_of_their_section():
    """The regimens under "4. Chemotherapy for low and intermediate risk" and "5. High-risk
    induction" name no risk group themselves; their headings do."""
    assert _risk_of("CADO: cyclophosphamide 300 mg/m") == {"low", "intermediate"}
    assert _risk_of("receive two courses of TVD before high-dose chemotherapy") == {"high"}


def test_table_rows_take_the_heading_above_the_table():
    rows = [c for c in _neuroblastoma() if c.kind == "table" and "carboplatin" in c.text]
    assert rows, "the COJEC table was read"
    cojec = next(c for c in rows if "750" in c.text)
    assert set(fact_risk("750", cojec).groups) == {"high"}


def test_headings_are_cited_verbatim_from_the_chunk_they_stand_in():
    chunks = {c.chunk_id: c for c in _neuroblastoma()}
    headings = {h.text: h for c in chunks.values() for h in c.headings}
    high = headings["5. High-risk induction"]
    assert high.text in chunks[high.chunk_id].text
    assert chunks[high.chunk_id].page == high.page


def _choices(facts, chunks, *, metastatic=False, seeds=range(40)):
    from types import SimpleNamespace

    from service.generation.blocks.risk import choose_risk

    lookup = {c.chunk_id: c for c in chunks}.__getitem__
    diagnosis = SimpleNamespace(metastatic=metastatic, tumour="Hodgkin lymphoma")
    return [
        choose_risk(SimpleNamespace(seed=seed), diagnosis, {"chemotherapy": facts}, lookup, None)
        for seed in seeds
    ]


def test_a_guideline_naming_one_group_has_patients_outside_it_too():
    from knowledge.evidence import Fact

    text = (
        "All patients receive two cycles of OEPA: vincristine 1.5 mg/m2. "
        "High-risk patients received brentuximab vedotin 1.8 mg/kg added to AVEPC."
    )
    chunk = GuidelineChunk(
        chunk_id="c0",
        document="d.pdf",
        document_sha256="0" * 64,
        title="t",
        page=1,
        start=0,
        end=len(text),
        text=text,
    )
    oepa = Fact(chunk_id="c0", quote=text.split(". ")[0] + ".")
    brentuximab = Fact(chunk_id="c0", quote=text.split(". ")[1])
    choices = _choices([oepa, brentuximab], [chunk])
    groups = {c.group for c in choices}
    assert groups == {"high", None}
    for choice in choices:  # outside the high-risk group, never its regimen
        assert choice.fits(brentuximab) == (choice.group == "high")
        assert choice.fits(oepa)
    assert {c.group for c in _choices([oepa, brentuximab], [chunk], metastatic=True)} == {"high"}
