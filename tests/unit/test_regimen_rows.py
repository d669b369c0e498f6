"""A table's rows are regimens of their own, never one with the sentence after the table
(the rapid COJEC table and the TVD sentence of the bundled neuroblastoma guideline), and
the sentence after a table is not read as conditioning for what it says comes before."""

from __future__ import annotations

from datetime import date

import pytest

from ingest.chunking import chunk_pages, make_splitter
from ingest.pdf import iter_pages, open_pdf
from ingest.reading import read_document
from knowledge.chunks import RetrievedChunk
from knowledge.evidence import Regimen, build_evidence_sheet
from service.records import ChemotherapyAdministration, Citation
from service.validation.regimens import is_conditioning
from service.validation.verifier import quote_on_page, states_dose, table_quote_on_page
from tests.conftest import CORPUS_PDF_DIR
from tests.fakes import chunk

NEUROBLASTOMA = CORPUS_PDF_DIR / "neuroblastoma.pdf"
COURSE_A = {"vincristine", "carboplatin", "etoposide"}
COURSE_B = {"vincristine", "cisplatin"}
COURSE_C = {"vincristine", "etoposide", "cyclophosphamide"}
TVD = {"topotecan", "vincristine", "doxorubicin"}


def neuroblastoma_chunks(*, tables: bool) -> tuple[list[RetrievedChunk], dict[int, str]]:
    """The bundled PDF chunked as ingestion chunks it (with its table chunks, or its text
    layer only), and its page texts."""
    document, reader = open_pdf(NEUROBLASTOMA)
    pages = (
        read_document(NEUROBLASTOMA, iter_pages(NEUROBLASTOMA, reader), ocr=None)
        if tables
        else list(iter_pages(NEUROBLASTOMA, reader))
    )
    chunks = chunk_pages(document, pages, make_splitter(700, 80))
    texts = {p.number: p.text for p in pages}
    return [RetrievedChunk(**c.model_dump(), score=1.0) for c in chunks], texts


def drug_sets(regimens: list[Regimen]) -> list[set[str]]:
    return [{d.drug for d in r.drugs} for r in regimens]


@pytest.mark.parametrize("tables", [False, True], ids=["text layer", "with table chunks"])
def test_cojec_courses_and_tvd_are_regimens_of_their_own(tables):
    chunks, pages = neuroblastoma_chunks(tables=tables)
    regimens = build_evidence_sheet(chunks).regimens()
    found = drug_sets(regimens)
    for course in (COURSE_A, COURSE_B, COURSE_C, TVD):
        assert course in found, found
    # no regimen gives the table's drugs with TVD's, or two courses' at once
    assert not any({"carboplatin", "topotecan"} <= drugs for drugs in found)
    assert not any({"carboplatin", "cisplatin"} <= drugs for drugs in found)
    by_id = {c.chunk_id: c for c in chunks}
    for regimen in regimens:
        page = pages[by_id[regimen.chunk_id].page]
        on_page = quote_on_page(regimen.quote, page) or (
            by_id[regimen.chunk_id].kind == "table" and table_quote_on_page(regimen.quote, page)
        )
        assert on_page, regimen.quote
        assert all(d.quote == regimen.quote for d in regimen.drugs)  # what items cite


def test_tvd_keeps_its_own_sentence_and_course_count():
    chunks, _ = neuroblastoma_chunks(tables=False)
    tvd = next(
        r
        for r in build_evidence_sheet(chunks).regimens()
        if {"topotecan"} <= {d.drug for d in r.drugs} and any(d.dose == 45 for d in r.drugs)
    )
    assert tvd.quote.startswith("Children with an inadequate metastatic response")
    assert tvd.cycles == (2, 2)
    course_a = next(
        r for r in build_evidence_sheet(chunks).regimens() if {d.drug for d in r.drugs} == COURSE_A
    )
    assert course_a.quote.startswith("A vincristine") and "Children" not in course_a.quote


def retrieved(text: str) -> RetrievedChunk:
    return RetrievedChunk(**chunk(text).model_dump(), score=0.5)


def test_a_table_without_labels_is_one_regimen_and_prose_is_unchanged():
    table = (
        "Fármaco Dosis Días del ciclo ifosfamida 3 g/m2/día IV en 3 horas días 1-2 "
        "vincristina 1.5 mg/m2 IV día 1 actinomicina D 1.5 mg/m2 IV día 1 "
        "Los lactantes reciben vincristina 0.05 mg/kg y actinomicina D 0.05 mg/kg."
    )
    regimens = build_evidence_sheet([retrieved(table)]).regimens()
    assert drug_sets(regimens) == [
        {"ifosfamide", "vincristine", "dactinomycin"},
        {"vincristine", "dactinomycin"},
    ]
    assert regimens[1].quote.startswith("Los lactantes")
    prose = (
        "CADO: cyclophosphamide 300 mg/m2 per day on days 1-5, vincristine 1.5 mg/m2 on days "
        "1 and 5, doxorubicin 60 mg/m2 on day 5."
    )
    (cado,) = build_evidence_sheet([retrieved(prose)]).regimens()
    assert cado.quote == prose and len(cado.drugs) == 3


def item(drug: str, dose: float, quote: str) -> ChemotherapyAdministration:
    return ChemotherapyAdministration(
        date=date(2024, 1, 1),
        cycle=1,
        drug=drug,
        atc="L01XX17",
        dose=dose,
        unit="mg/m2",
        citations=[Citation(chunk_id="c", document="d.pdf", page=2, quote=quote)],
    )


def test_what_comes_before_high_dose_chemotherapy_is_no_conditioning():
    tvd = (
        "Children with an inadequate metastatic response after rapid COJEC receive two courses "
        "of TVD before high-dose chemotherapy: topotecan 1.5 mg/m2 per day on days 1-5."
    )
    assert not is_conditioning(item("topotecan", 1.5, tvd))
    given = "High-dose chemotherapy with busulfan and melphalan: melphalan 140 mg/m2 on day -1."
    assert is_conditioning(item("melphalan", 140, given))
    spanish = "Antes del trasplante se administra melfalán 140 mg/m2 como acondicionamiento."
    assert is_conditioning(item("melphalan", 140, spanish))


def test_a_passage_that_opens_inside_the_dose_cap_before_it_does_not_quote_that_cap():
    """A chunk begins where the one before overlaps it, here inside vincristine's "(máx. 2
    mg)": dactinomycin's quote opened with "2 mg)" and the validator read 2 mg as its dose."""
    text = (
        "2 mg) día 1; semanal en las semanas 1-7 actinomicina D 1.5 mg/m2 IV (máx. 2 mg) día 1 "
        "doxorrubicina (solo IVADo) 30 mg/m2/día IV días 1-2"
    )
    (regimen,) = build_evidence_sheet([retrieved(text)]).regimens()
    assert regimen.quote.startswith("día 1; semanal")
    assert states_dose(regimen.quote, "dactinomicina", 1.5, "mg/m2")


def rhabdomyosarcoma_regimens() -> list[Regimen]:
    pdf = CORPUS_PDF_DIR / "rabdomiosarcoma.pdf"
    document, reader = open_pdf(pdf)
    chunks = chunk_pages(document, list(iter_pages(pdf, reader)), make_splitter(700, 80))
    return build_evidence_sheet(
        [RetrievedChunk(**c.model_dump(), score=1.0) for c in chunks]
    ).regimens()


def test_iva_takes_its_nine_cycles_every_three_weeks_from_the_sentences_before_its_table():
    iva = next(
        r
        for r in rhabdomyosarcoma_regimens()
        if {d.drug for d in r.drugs} == {"ifosfamide", "vincristine", "dactinomycin"}
    )
    assert (iva.cycles, iva.interval_days, iva.phase) == ((9, 9), 21, "induction")
    assert iva.lead_in is not None and "durante 9 ciclos" in iva.lead_in.quote
    assert iva.lead_in.chunk_id == iva.chunk_id


def test_a_lead_in_is_read_for_the_one_regimen_it_introduces_never_for_several():
    one = (
        "Maintenance: six cycles given every 28 days. Vinorelbine 25 mg/m2 on days 1, 8 and "
        "15 and cyclophosphamide 25 mg/m2 per day orally on days 1-28."
    )
    (maintenance,) = build_evidence_sheet([retrieved(one)]).regimens()
    assert (maintenance.cycles, maintenance.interval_days) == ((6, 6), 28)
    assert maintenance.phase == "maintenance"
    several = (
        "North American groups give six induction cycles every 21 days. Cycles 1 and 2: "
        "topotecan 1.2 mg/m2 per day on days 1-5 with cyclophosphamide 400 mg/m2 per day on "
        "days 1-5. Cycles 3 and 5: cisplatin 50 mg/m2 per day on days 1-4 and etoposide "
        "200 mg/m2 per day on days 1-3."
    )
    regimens = build_evidence_sheet([retrieved(several)]).regimens()
    assert len(regimens) == 2
    assert all((r.cycles, r.interval_days, r.lead_in) == (None, None, None) for r in regimens)
    # a sentence on the transplant is no lead-in of a cycle's regimen
    transplant = (
        "Two cycles before stem cell transplant are given every 21 days. Topotecan 1.2 mg/m2 "
        "per day on days 1-5."
    )
    (topotecan,) = build_evidence_sheet([retrieved(transplant)]).regimens()
    assert topotecan.lead_in is None and topotecan.cycles is None
