"""The grounding verifier on a fake store holding real corpus paragraphs as chunks and as
the text of their pages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from knowledge.chunks import GuidelineChunk
from service.records import PatientRecord
from service.validation import verifier
from service.validation.codes import Vocabulary
from service.validation.grounding import ChunkLookup, verify_grounding
from tests.fakes import page_texts
from tests.records import DOC, cite, full_record_data

CORPUS_SRC = Path(__file__).resolve().parents[2] / "knowledge" / "corpus" / "src"


def paragraphs(source: str, *starts: str) -> str:
    """The corpus paragraphs of ``source`` that contain any of ``starts``, joined."""
    blocks = (CORPUS_SRC / f"{source}.txt").read_text(encoding="ascii").split("\n\n")
    chosen = [b.strip() for b in blocks if any(s in b for s in starts)]
    assert len(chosen) == len(starts), f"corpus text changed: {starts}"
    return " ".join(chosen)


def stored(chunk_id: str, document: str, page: int, text: str) -> GuidelineChunk:
    return GuidelineChunk(
        chunk_id=chunk_id,
        document=document,
        document_sha256="0" * 64,
        title=document,
        page=page,
        start=0,
        end=len(text),
        text=text,
    )


ALL_DOC = "acute_lymphoblastic_leukaemia.pdf"
HODGKIN_DOC = "hodgkin_lymphoma.pdf"
HSCT_DOC = "hsct_supportive_care.pdf"
# Every chunk tests.records.full_record() cites, plus chunks for optional blocks.
CHUNKS = [
    stored(
        "ewing-p2-c1",
        DOC,
        2,
        paragraphs(
            "ewing_sarcoma",
            "six cycles of VIDE",
            "The EURO-EWING 99 R1 randomisation",
            "autologous stem cell rescue (BuMel) improved",
            "Relapsed or refractory disease",
            "Wide surgical resection is preferred",
            "Late relapses more than 5 years",
        ),
    ),
    stored(
        "ewing-p2-c3",
        DOC,
        2,
        paragraphs("ewing_sarcoma", "Radiotherapy to the primary tumour site", "Whole-lung"),
    ),
    stored(
        "ewing-p1-c4",
        DOC,
        1,
        paragraphs("ewing_sarcoma", "the tumour is coded as", "The commonest primary sites"),
    ),
    stored(
        "all-p2-c1", ALL_DOC, 2, paragraphs("acute_lymphoblastic_leukaemia", "Triple intrathecal")
    ),
    stored(
        "hodgkin-p1-c2",
        HODGKIN_DOC,
        1,
        paragraphs("hodgkin_lymphoma", "Nodular sclerosis, the commonest", "Nodal sites are"),
    ),
    stored(
        "hodgkin-p2-c1",
        HODGKIN_DOC,
        2,
        paragraphs(
            "hodgkin_lymphoma", "All patients receive two cycles of OEPA", "NLPHL in stage IA"
        ),
    ),
    stored(
        "hsct-p1-c3", HSCT_DOC, 1, paragraphs("hsct_supportive_care", "(TBI) for myeloablative")
    ),
    stored("hsct-p1-c1", HSCT_DOC, 1, paragraphs("hsct_supportive_care", "(HSCT) is allogeneic")),
    # Phases, conditioning and supportive care, for the regimen-structure rules.
    stored(
        "ewing-p2-c2",
        DOC,
        2,
        paragraphs("ewing_sarcoma", "Consolidation for standard-risk patients"),
    ),
    stored(
        "all-p2-c2",
        ALL_DOC,
        2,
        paragraphs(
            "acute_lymphoblastic_leukaemia", "Consolidation (protocol IB)", "Reinduction (protocol"
        ),
    ),
    stored(
        "hsct-p1-c4",
        HSCT_DOC,
        1,
        paragraphs("hsct_supportive_care", "uses the BuMel regimen", "Antiemetics are chosen"),
    ),
]


def cite_in(document: str, chunk_id: str, page: int, quote: str) -> dict[str, Any]:
    """A fresh citation dict (tests edit records freely)."""
    return {"chunk_id": chunk_id, "document": document, "page": page, "quote": quote}


def triple_it() -> dict[str, Any]:
    quote = (
        "Triple intrathecal therapy for children aged 3 years or older combines methotrexate "
        "12 mg, cytarabine 30 mg and prednisolone 10 mg; COG protocols use hydrocortisone"
    )
    return cite_in(ALL_DOC, "all-p2-c1", 2, quote)


def tbi() -> dict[str, Any]:
    quote = "Total body irradiation (TBI) for myeloablative conditioning: 12 Gy in 6 fractions"
    return cite_in(HSCT_DOC, "hsct-p1-c3", 1, quote)


def allogeneic_hsct() -> dict[str, Any]:
    quote = "Haematopoietic stem cell transplantation (HSCT) is allogeneic, using stem cells"
    return cite_in(HSCT_DOC, "hsct-p1-c1", 1, quote)


def nodular_sclerosis() -> dict[str, Any]:
    quote = "ICD-O-3 morphology 9663/3 (classic Hodgkin lymphoma, nodular sclerosis)"
    return cite_in(HODGKIN_DOC, "hodgkin-p1-c2", 1, quote)


class FakeChunks:
    """A ChunkLookup over fixed chunks that records what it was asked for; a page's text
    is its chunks' texts unless ``pages`` says otherwise."""

    def __init__(
        self,
        chunks: list[GuidelineChunk] = CHUNKS,
        pages: dict[tuple[str, int], str] | None = None,
    ):
        self.by_id = {c.chunk_id: c for c in chunks}
        self.pages = {**page_texts(chunks), **(pages or {})}
        self.asked: list[list[str]] = []

    def get(self, chunk_ids: Sequence[str]) -> list[GuidelineChunk]:
        self.asked.append(list(chunk_ids))
        return [self.by_id[i] for i in chunk_ids if i in self.by_id]

    def page_text(self, document_id: str, page: int) -> str | None:
        return self.pages.get((document_id, page))


# What tests.records.full_record() cites for its radiotherapy course and second-line drug
# states no dose for them; these quotes do (and the page holds them).
TUMOUR_BED = (
    "Postoperative radiotherapy to the tumour bed after marginal or intralesional resection, "
    "or after poor histological response: 50.4 Gy in 28 fractions of 1.8 Gy"
)
VAC = "ifosfamide was replaced by cyclophosphamide 1500 mg/m2 on day 1"


def grounded_record_data() -> dict[str, Any]:
    """``full_record_data()`` with every item supported by its quotes as the independent
    verifier reads them: the radiotherapy course to the tumour bed at the 50.4 Gy its
    sentence states, and second-line cyclophosphamide at its stated 1500 mg/m2."""
    data = full_record_data()
    course = data["radiotherapy"][0]
    course.update(site="tumour bed", citations=[cite(TUMOUR_BED, chunk_id="ewing-p2-c3")])
    data["relapse"]["second_line"][0].update(
        drug="cyclophosphamide", atc="L01AA01", dose=1500, citations=[cite(VAC)]
    )
    return data


def verify(data: dict[str, Any], lookup: ChunkLookup | None = None):
    record = PatientRecord.model_validate(data)
    return verify_grounding(record, lookup or FakeChunks(), Vocabulary.bundled())


def test_full_record_is_fully_grounded_with_one_lookup():
    lookup = FakeChunks()
    report = verify(grounded_record_data(), lookup)
    assert report.problems == {}
    # diagnosis, 4 chemotherapy, radiotherapy, surgery, hsct, relapse, second-line drug
    assert report.items == report.verified == 10
    assert len(lookup.asked) == 1
    assert set(lookup.asked[0]) == {"ewing-p2-c1", "ewing-p2-c3", "ewing-p1-c4"}


def test_a_missing_chunk_fails_its_item_only():
    data = grounded_record_data()
    data["surgery"][0]["citations"][0]["chunk_id"] = "gone"
    report = verify(data)
    assert report.verified == report.items - 1
    [problem] = report.of("citation_exists")
    assert problem["chunk_id"] == "gone" and problem["item"].startswith("surgery")


def test_page_and_document_must_match_the_stored_chunk():
    data = grounded_record_data()
    data["diagnosis"]["citations"][0]["page"] = 4
    data["radiotherapy"][0]["citations"][0]["document"] = "osteosarcoma.pdf"
    problems = verify(data).of("citation_location")
    assert [p["cited"] for p in problems] == [f"{DOC} p. 4", "osteosarcoma.pdf p. 2"]
    assert all(p["stored"].endswith("p. 1") or p["stored"].endswith("p. 2") for p in problems)


def test_quote_on_the_page_ignoring_spacing_hyphenation_case_and_unicode():
    data = grounded_record_data()
    for quote in (
        "Wide surgical\n  resection is preferred",
        "WIDE surgical resec-\ntion is preferred",
        "vincristine 1,5 mg/m² (maximum 2 mg)",
    ):
        data["surgery"][0]["citations"][0]["quote"] = quote
        assert verify(data).of("quote_on_page") == [], quote
    data["surgery"][0]["citations"][0]["quote"] = "Amputation is always preferred"
    [problem] = verify(data).of("quote_on_page")
    assert problem["quote"] == "Amputation is always preferred"
    assert problem["cited"] == f"{DOC} p. 2"


def test_a_quote_in_the_chunk_but_not_on_the_cited_page_fails():
    """The chunk says what the page does not (a chunk the store altered, or a citation of
    another page of the same document): the page text is what counts."""
    chunk = next(c for c in CHUNKS if c.chunk_id == "ewing-p2-c1")
    key = (chunk.document_id, 2)
    page = page_texts(CHUNKS)[key].replace("Wide surgical resection is", "Surgery is")
    lookup = FakeChunks(pages={key: page})
    [problem] = verify(grounded_record_data(), lookup).of("quote_on_page")
    assert problem["item"].startswith("surgery") and "Wide surgical" in problem["quote"]


def test_a_page_that_is_not_stored_fails_its_quotes():
    chunk = next(c for c in CHUNKS if c.chunk_id == "ewing-p1-c4")
    lookup = FakeChunks()
    del lookup.pages[(chunk.document_id, 1)]
    [problem] = verify(grounded_record_data(), lookup).of("quote_on_page")
    assert problem["cited"].endswith("(page text not stored)")


def test_drug_named_by_alias_counts():
    data = grounded_record_data()
    data["chemotherapy"][0]["drug"] = "vincristina"  # Spanish alias of vincristine
    assert verify(data).problems == {}


def test_drug_not_named_in_the_cited_quote():
    data = grounded_record_data()
    data["relapse"]["second_line"][0].update(drug="dactinomycin", atc="L01DA01")
    [problem] = verify(data).of("drug_in_quote")
    assert problem["drug"] == "dactinomycin" and problem["citations"] == f"{DOC} p. 2"


@pytest.mark.parametrize(
    ("dose", "unit", "supported"),
    [
        (1.5, "mg/m2", True),
        (1.505, "mg/m2", True),
        (0.0015, "g/m2", True),
        (2, "mg", True),  # "(maximum 2 mg)" is vincristine's too
        (3, "mg/m2", False),
        (1.5, "mg/kg", False),
        (20, "mg/m2", False),  # doxorubicin's dose, in another quote
    ],
)
def test_dose_and_unit_must_be_stated_for_the_drug(dose, unit, supported):
    data = grounded_record_data()
    data["chemotherapy"][0].update(dose=dose, unit=unit)
    problems = verify(data).of("dose_in_quote")
    assert (problems == []) is supported
    if not supported:
        assert problems[0]["stated"] == "1.5 mg/m2, 2 mg"


def test_a_dose_of_the_next_drug_does_not_verify_the_one_before_it():
    """The extractor's old mistake: "Cyclophosphamide and vincristine 1.5 mg/m2" gave
    cyclophosphamide 1.5 mg/m2. The dose is vincristine's alone."""
    quote = "cyclophosphamide and vincristine 1.5 mg/m2 on day 1"
    chunk = stored("ewing-p3-c1", DOC, 3, f"Maintenance: {quote}.")
    data = grounded_record_data()
    data["chemotherapy"][0].update(
        drug="cyclophosphamide",
        atc="L01AA01",
        citations=[cite(quote, chunk_id="ewing-p3-c1", page=3)],
    )
    [problem] = verify(data, FakeChunks([*CHUNKS, chunk])).of("dose_in_quote")
    assert problem["drug"] == "cyclophosphamide" and problem["stated"] == "no dose"
    data["chemotherapy"][0].update(drug="vincristine", atc="L01CA02")
    assert verify(data, FakeChunks([*CHUNKS, chunk])).problems == {}


def test_a_drug_whose_quotes_state_no_dose_fails():
    data = full_record_data()  # irinotecan: "irinotecan with temozolomide", no dose
    [problem] = verify(data).of("dose_in_quote")
    assert problem["drug"] == "irinotecan" and problem["stated"] == "no dose"
    assert "second_line" not in problem["item"] and "irinotecan 50 mg/m2" in problem["item"]


@pytest.mark.parametrize(
    "quote",
    [
        "Vincristina 1,5 mg/m² IV el día 1",  # Spanish name, decimal comma, superscript
        "VCR 1.5 mg/m2 on day 1",  # abbreviation
        "1.5 mg/m2 vincristine and 20 mg/m2 doxorubicin on day 1",  # doses written first
        "Drug: Vincristine; Dose: 1.5 mg/m²",  # a table row
    ],
)
def test_dose_written_in_other_forms_verifies(quote):
    chunk = stored("ewing-p3-c1", DOC, 3, quote)
    data = grounded_record_data()
    data["chemotherapy"][0]["citations"] = [cite(quote, chunk_id="ewing-p3-c1", page=3)]
    assert verify(data, FakeChunks([*CHUNKS, chunk])).problems == {}


@pytest.mark.parametrize(("dose", "supported"), [(50.4, True), (54, False), (1.8, True)])
def test_radiotherapy_site_and_dose_in_one_sentence(dose, supported):
    data = grounded_record_data()
    data["radiotherapy"][0]["dose"] = dose
    problems = verify(data).of("radiotherapy_site_dose")
    assert (problems == []) is supported
    if not supported:
        assert problems[0]["site"] == "tumour bed" and problems[0]["dose"] == 54


def test_radiotherapy_site_and_dose_in_different_sentences_fail():
    """ "Radiotherapy to the primary tumour site ... 54 Gy ..." then "... tumour bed ...
    50.4 Gy": 54 Gy to the tumour bed is in the quote, but not in one sentence."""
    data = grounded_record_data()
    quote = (
        "Radiotherapy to the primary tumour site, when surgery is not feasible (definitive "
        "radiotherapy): 54 Gy in 30 fractions of 1.8 Gy. Postoperative radiotherapy to the "
        "tumour bed"
    )
    data["radiotherapy"][0]["citations"][0]["quote"] = quote
    data["radiotherapy"][0]["dose"] = 54
    [problem] = verify(data).of("radiotherapy_site_dose")
    assert problem["site"] == "tumour bed"
    data["radiotherapy"][0]["site"] = "primary tumour site"
    assert verify(data).problems == {}


def test_radiotherapy_site_by_a_vocabulary_name():
    data = grounded_record_data()
    quote = "Whole-lung irradiation for pulmonary metastases in patients younger than 14 years"
    quote += ": 15 Gy in 10 fractions of 1.5 Gy"
    data["radiotherapy"][0].update(
        site="whole lung", dose=15, citations=[cite(quote, chunk_id="ewing-p2-c3")]
    )
    assert verify(data).problems == {}


def test_surgery_transplant_and_relapse_cite_a_quote_naming_them():
    data = grounded_record_data()
    bed = cite(TUMOUR_BED, chunk_id="ewing-p2-c3")
    data["surgery"][0]["citations"] = [bed]
    data["hsct"][0]["type"] = "allogeneic"
    data["hsct"][0]["donor"] = {"type": "matched_sibling", "relationship": "sister"}
    data["relapse"]["citations"] = [bed]
    problems = verify(data).of("item_named")
    assert [p["named"] for p in problems] == [
        "the procedure 'Internal hemipelvectomy with wide resection'",
        "allogeneic HSCT",
        "a relapse",
    ]


def test_diagnosis_codes_must_stand_on_a_cited_page():
    data = grounded_record_data()
    data["diagnosis"].update(icdo3_topography="C40.1", site="hand bones")
    [problem] = verify(data).of("code_supported")
    assert problem["code"] == "C40.1"


def test_intrathecal_drugs_must_each_be_named():
    data = grounded_record_data()
    data["intrathecal"] = {
        "start_date": "2020-05-11",
        "injections": 4,
        "drugs": ["methotrexate", "cytarabine", "hydrocortisone"],
        "citations": [triple_it()],
    }
    assert verify(data).problems == {}
    data["intrathecal"]["drugs"].append("vincristine")
    [problem] = verify(data).of("drug_in_quote")
    assert problem["drug"] == "vincristine"


def test_others_block_counts_only_when_it_cites():
    data = grounded_record_data()
    base = verify(data).items
    data["others"]["citations"] = [cite("Wide surgical resection is preferred")]
    assert verify(data).items == base + 1


def test_a_table_quote_stands_on_its_page_cell_by_cell():
    """A table chunk reads a row as "header: cell; header: cell"; the page has the cells in
    its own layout, the header row perhaps on the page before."""
    row = "Drug: Vincristine; Dose: 1,5 mg/m²; Days: 1, 8, 15"
    table = stored("ewing-p4-t1", DOC, 4, row).model_copy(update={"kind": "table"})
    document = table.document_id
    pages = {
        (document, 3): "Table 2. Induction\nDrug Dose Days",
        (document, 4): "Vincristine 1,5 mg/m²\n1, 8, 15\nDexamethasone 6 mg/m²",
    }
    data = grounded_record_data()
    data["chemotherapy"][0]["citations"] = [cite(row, chunk_id="ewing-p4-t1", page=4)]
    assert verify(data, FakeChunks([*CHUNKS, table], pages)).problems == {}
    data["chemotherapy"][0]["citations"][0]["quote"] = row.replace("1,5", "2")
    problems = verify(data, FakeChunks([*CHUNKS, table], pages)).problems
    assert set(problems) == {"quote_on_page", "dose_in_quote"}


def test_names_match_across_dashes_spaces_and_short_forms_in_capitals():
    assert verifier.names_drug("cytarabine (Ara C) 100 mg/m2", "ARA-C")
    assert verifier.names_drug("VP-16 100 mg/m2", "etoposide")
    assert not verifier.names_drug("vcr is not an abbreviation in lower case", "vincristine")
    assert verifier.site_with_dose(
        "Whole lung irradiation: 15 Gy in 10 fractions", "Whole-lung", 15
    )
    assert verifier.site_with_dose("Irradiación pulmonar 15 Gy", "whole lung", 15)
    assert (
        verifier.names_procedure("limb salvage surgery with an endoprosthesis", "rotationplasty")
        is False
    )
    assert verifier.names_procedure(
        "Limb-salvage surgery with an endoprosthesis is preferred",
        "limb-salvage surgery with endoprosthesis",
    )


def test_a_code_is_supported_by_a_vocabulary_name_on_the_page_across_a_line_break():
    from service.validation.grounding import _code_named

    page = "Estudo do consórcio canadense de tumores\ncerebrais (glioma de alto\ngrau)."
    assert _code_named("9380/3", [page])  # "glioma de alto grau": a group holding 9380/3
    assert _code_named("9440/3", [page])
    assert not _code_named("9364/3", [page])
