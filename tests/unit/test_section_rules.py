"""What a dose is, read from the heading it stands under on its page: the validator's own
reading (service/validation/sections.py, regimens.py), on real corpus text, and the records
that break and keep chemotherapy.conditioning_with_hsct and chemotherapy.not_supportive
through it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ingest.pdf import iter_pages, open_pdf
from ingest.reading import PageContent, read_document
from service.records import ChemotherapyAdministration, Citation
from service.validation import Validator
from service.validation.codes import Vocabulary
from service.validation.regimens import is_conditioning, supportive_reason
from service.validation.sections import CitedPages
from tests.conftest import CORPUS_PDF_DIR
from tests.unit.test_grounding import ALL_DOC, CHUNKS, HSCT_DOC, FakeChunks, cite_in, stored
from tests.unit.test_regimen_rules import item
from tests.unit.test_risk_groups import NB_DOC, RISK_CHUNKS, section
from tests.unit.test_rules import (
    TODAY,
    dose,
    failed_ids,
    record_with,
)

TRANSPLANT_HEADING = "7. High-dose chemotherapy with autologous stem cell rescue"
SECTION_CHUNKS = [
    stored("nb-p4-c1", NB_DOC, 4, section("neuroblastoma", "7. High-dose", "8. Radiotherapy")),
    stored("hsct-p3-c1", HSCT_DOC, 3, section("hsct_supportive_care", "6. Supportive", "7. ")),
    stored("all-p4-c1", ALL_DOC, 4, section("acute_lymphoblastic_leukaemia", "4. Chemo", "5. ")),
]
# The sentence the generator cited melphalan to: it names no transplant, its heading does.
BUMEL_SENTENCE = (
    "Intravenous busulfan is dosed by body weight every 6 hours for 16 doses (days -6 to -3) "
    "with therapeutic drug monitoring, followed by melphalan 140 mg/m² IV on day -1"
)
# Dexamethasone in the antiemetic sentence, quoted without its antiemetic words.
DEXAMETHASONE_FRAGMENT = (
    "dexamethasone 6 mg/m2 IV every 6 hours when corticosteroids are allowed by the treatment "
    "protocol"
)
DEXAMETHASONE_INDUCTION = "dexamethasone 6 mg/m2 per day for 28 days in induction"


def melphalan(day: str) -> Any:
    return dose(day, "melphalan", 140, "mg/m2", cite_in(NB_DOC, "nb-p4-c1", 4, BUMEL_SENTENCE))


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(
        Vocabulary.bundled(), FakeChunks([*CHUNKS, *RISK_CHUNKS, *SECTION_CHUNKS]), TODAY
    )


def pages_of(text: str) -> tuple[CitedPages, Citation]:
    """A one-page store holding ``text``, and a citation of its last line."""
    quote = text.splitlines()[-1]
    lookup = FakeChunks([stored("c", "d.pdf", 1, text)])
    citation = Citation(chunk_id="c", document="d.pdf", page=1, quote=quote)
    return CitedPages(lookup, [citation]), citation


# -- the heading reader -------------------------------------------------------------------


def test_the_melphalan_sentence_stands_under_the_transplant_heading():
    citation = Citation.model_validate(cite_in(NB_DOC, "nb-p4-c1", 4, BUMEL_SENTENCE))
    pages = CitedPages(FakeChunks(SECTION_CHUNKS), [citation])
    assert pages.headings(citation) == [TRANSPLANT_HEADING]
    assert CitedPages(None, [citation]).headings(citation) == []  # no store: no page


@pytest.mark.parametrize(
    ("page", "conditioning"),
    [
        (f"{TRANSPLANT_HEADING}\nThen melphalan 140 mg/m2 IV on day -1.", True),
        ("5. Quimioterapia de altas dosis con rescate de progenitores\nMelfalán 140 mg/m2.", True),
        ("5. Trasplante autólogo\nMelfalán 140 mg/m2 IV el día -1.", True),
        (
            "6. Quimioterapia em altas doses com resgate de células-tronco\nMelfalano 140 mg/m2.",
            True,
        ),
        ("4. Condicionamento\nMelfalano 140 mg/m2 IV no dia -1.", True),
        ("5. Cirugía: resección hepática y trasplante hepático\nMelfalán 140 mg/m2.", False),
        (f"{TRANSPLANT_HEADING}\nMaintenance\nMelphalan 70 mg/m2 on day 1.", False),
        ("5. High-risk induction\nMelphalan 70 mg/m2 on day 1.", False),
    ],
)
def test_a_dose_under_a_transplant_heading_is_conditioning(page, conditioning):
    pages, citation = pages_of(page)
    dose_item = item("melphalan", 140, "mg/m2", citation.quote)
    assert is_conditioning(dose_item, pages) is conditioning
    assert not is_conditioning(dose_item)  # the quote alone says nothing of a transplant


def test_a_corticosteroid_under_a_supportive_care_heading_is_supportive():
    pages, citation = pages_of("6. Cuidados de soporte\nDexametasona 6 mg/m2 IV cada 6 horas.")
    dexamethasone = item("dexamethasone", 6, "mg/m2", citation.quote)
    assert "stands under '6. Cuidados de soporte'" in (
        supportive_reason(dexamethasone, pages) or ""
    )
    assert supportive_reason(dexamethasone) is None
    pages, citation = pages_of("6. Supportive care\nCyclophosphamide 500 mg/m2 on day 1.")
    assert supportive_reason(item("cyclophosphamide", 500, "mg/m2", citation.quote), pages) is None


# -- records -------------------------------------------------------------------------------


def test_melphalan_cited_under_the_transplant_heading_needs_a_transplant(validator):
    result = validator.validate(record_with([melphalan("2020-06-22")]))
    assert failed_ids(result) == {"chemotherapy.conditioning_with_hsct"}, result.failures
    assert "melphalan 140 mg/m2 (cycle 3, 2020-06-22) is not within 21 days" in (
        result.failures[0].message
    )


def test_melphalan_cited_under_the_transplant_heading_before_the_transplant_passes(validator):
    result = validator.validate(record_with([melphalan("2021-01-31")]))  # day -1
    assert result.failures == [] and result.passed


def test_without_a_store_the_quote_is_read_alone():
    result = Validator(Vocabulary.bundled(), None, TODAY).validate(
        record_with([melphalan("2020-06-22")])
    )
    assert result.failures == [] and result.grounding.skipped


def test_dexamethasone_cited_under_the_supportive_care_heading_is_not_chemotherapy(validator):
    fragment = cite_in(HSCT_DOC, "hsct-p3-c1", 3, DEXAMETHASONE_FRAGMENT)
    result = validator.validate(
        record_with([dose("2020-06-22", "dexamethasone", 6, "mg/m2", fragment)])
    )
    assert failed_ids(result) == {"chemotherapy.not_supportive"}, result.failures
    assert "stands under '6. Supportive care'" in result.failures[0].message


def test_dexamethasone_cited_under_a_chemotherapy_heading_is_chemotherapy(validator):
    quote = cite_in(ALL_DOC, "all-p4-c1", 4, DEXAMETHASONE_INDUCTION)
    result = validator.validate(
        record_with([dose("2020-06-22", "dexamethasone", 6, "mg/m2", quote)])
    )
    assert result.failures == [] and result.passed


# -- the bundled neuroblastoma PDF ----------------------------------------------------------


def neuroblastoma_pdf_pages() -> list[PageContent]:
    """The bundled neuroblastoma PDF's pages as ingestion reads and stores them."""
    path: Path = CORPUS_PDF_DIR / "neuroblastoma.pdf"
    _, reader = open_pdf(path)
    return read_document(path, iter_pages(path, reader), ocr=None)


def test_the_real_pdf_puts_the_melphalan_sentence_under_the_transplant_heading():
    """The heading is found on the stored page the sentence stands on (one chunk a page
    here)."""
    pages = neuroblastoma_pdf_pages()
    [page] = [p.number for p in pages if "melphalan 140" in p.text]
    store = FakeChunks([stored(f"nb-{p.number}", NB_DOC, p.number, p.text) for p in pages])
    cited = cite_in(NB_DOC, f"nb-{page}", page, BUMEL_SENTENCE)
    citation = Citation.model_validate(cited)
    assert CitedPages(store, [citation]).headings(citation) == [TRANSPLANT_HEADING]
    melphalan_item = ChemotherapyAdministration(
        date=date(2020, 6, 22), cycle=3, drug="melphalan", dose=140, unit="mg/m2", citations=[cited]
    )
    assert is_conditioning(melphalan_item, CitedPages(store, [citation]))
    assert not is_conditioning(melphalan_item)  # the sentence alone names no transplant
