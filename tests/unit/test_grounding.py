"""The grounding verifier on a fake chunk lookup holding real corpus paragraphs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from knowledge.chunks import GuidelineChunk
from service.records import PatientRecord
from service.validation.codes import Vocabulary
from service.validation.grounding import ChunkLookup, verify_grounding
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
        "hsct-p1-c3", HSCT_DOC, 1, paragraphs("hsct_supportive_care", "(TBI) for myeloablative")
    ),
]


def cite_in(document: str, chunk_id: str, page: int, quote: str) -> dict[str, Any]:
    """A fresh citation dict (tests edit records freely)."""
    return {"chunk_id": chunk_id, "document": document, "page": page, "quote": quote}


def triple_it() -> dict[str, Any]:
    quote = "Triple intrathecal therapy for children aged 3 years or older combines methotrexate"
    return cite_in(ALL_DOC, "all-p2-c1", 2, quote)


def tbi() -> dict[str, Any]:
    quote = "Total body irradiation (TBI) for myeloablative conditioning: 12 Gy in 6 fractions"
    return cite_in(HSCT_DOC, "hsct-p1-c3", 1, quote)


def nodular_sclerosis() -> dict[str, Any]:
    quote = "ICD-O-3 morphology 9663/3 (classic Hodgkin lymphoma, nodular sclerosis)"
    return cite_in(HODGKIN_DOC, "hodgkin-p1-c2", 1, quote)


class FakeChunks:
    """A ChunkLookup over fixed chunks that records what it was asked for."""

    def __init__(self, chunks: list[GuidelineChunk] = CHUNKS):
        self.by_id = {c.chunk_id: c for c in chunks}
        self.asked: list[list[str]] = []

    def get(self, chunk_ids: Sequence[str]) -> list[GuidelineChunk]:
        self.asked.append(list(chunk_ids))
        return [self.by_id[i] for i in chunk_ids if i in self.by_id]


def verify(data: dict[str, Any], lookup: ChunkLookup | None = None):
    record = PatientRecord.model_validate(data)
    return verify_grounding(record, lookup or FakeChunks(), Vocabulary.bundled())


def test_full_record_is_fully_grounded_with_one_lookup():
    lookup = FakeChunks()
    report = verify(full_record_data(), lookup)
    assert report.problems == {}
    # diagnosis, 4 chemotherapy, radiotherapy, surgery, hsct, relapse, second-line drug
    assert report.items == report.verified == 10
    assert len(lookup.asked) == 1
    assert set(lookup.asked[0]) == {"ewing-p2-c1", "ewing-p2-c3", "ewing-p1-c4"}


def test_a_missing_chunk_fails_its_item_only():
    data = full_record_data()
    data["surgery"][0]["citations"][0]["chunk_id"] = "gone"
    report = verify(data)
    assert report.verified == report.items - 1
    [problem] = report.of("citation_exists")
    assert problem["chunk_id"] == "gone" and problem["item"].startswith("surgery")


def test_page_and_document_must_match_the_stored_chunk():
    data = full_record_data()
    data["diagnosis"]["citations"][0]["page"] = 4
    data["radiotherapy"][0]["citations"][0]["document"] = "osteosarcoma.pdf"
    problems = verify(data).of("citation_location")
    assert [p["cited"] for p in problems] == [f"{DOC} p. 4", "osteosarcoma.pdf p. 2"]
    assert all(p["stored"].endswith("p. 1") or p["stored"].endswith("p. 2") for p in problems)


def test_quote_matches_verbatim_ignoring_only_whitespace():
    data = full_record_data()
    data["surgery"][0]["citations"][0]["quote"] = "Wide surgical\n  resection is preferred"
    assert verify(data).problems == {}
    for misquote in ("WIDE surgical resection is preferred", "Amputation is always preferred"):
        data["surgery"][0]["citations"][0]["quote"] = misquote
        assert verify(data).of("quote_in_chunk")[0]["quote"] == misquote


def test_drug_named_by_alias_counts():
    data = full_record_data()
    data["chemotherapy"][0]["drug"] = "vincristina"  # Spanish alias of vincristine
    assert verify(data).problems == {}


def test_drug_not_named_in_the_cited_chunk():
    data = full_record_data()
    data["relapse"]["second_line"][0].update(drug="dactinomycin", atc="L01DA01")
    [problem] = verify(data).of("drug_named")
    assert problem["drug"] == "dactinomycin" and problem["chunk_ids"] == "ewing-p2-c1"


@pytest.mark.parametrize(
    ("dose", "unit", "supported"),
    [(1.5, "mg/m2", True), (1.505, "mg/m2", True), (3, "mg/m2", False), (0.0015, "g/m2", True)],
)
def test_dose_within_what_the_chunk_states(dose, unit, supported):
    data = full_record_data()
    data["chemotherapy"][0].update(dose=dose, unit=unit)
    problems = verify(data).of("dose_supported")
    assert (problems == []) is supported
    if not supported:
        assert problems[0]["stated"] == "1.5 mg/m2" and problems[0]["dose"] == "3 mg/m2"


def test_dose_in_a_unit_the_chunk_does_not_state_is_not_judged():
    data = full_record_data()
    data["chemotherapy"][0].update(dose=0.05, unit="mg/kg")
    assert verify(data).problems == {}


def test_drug_without_a_stated_dose_passes():
    data = full_record_data()  # irinotecan: "irinotecan with temozolomide", no dose
    data["relapse"]["second_line"][0]["dose"] = 999
    assert verify(data).problems == {}


@pytest.mark.parametrize(("dose", "supported"), [(15, True), (54, True), (60, False), (12, False)])
def test_radiotherapy_dose_within_the_stated_gy(dose, supported):
    data = full_record_data()
    data["radiotherapy"][0]["dose"] = dose
    problems = verify(data).of("radiotherapy_dose_supported")
    assert (problems == []) is supported
    if not supported:
        assert problems[0]["stated"] == "15-54"


def test_diagnosis_codes_must_appear_in_a_cited_chunk():
    data = full_record_data()
    data["diagnosis"].update(icdo3_topography="C40.1", site="hand bones")
    [problem] = verify(data).of("code_supported")
    assert problem["code"] == "C40.1"


def test_intrathecal_drugs_must_each_be_named():
    data = full_record_data()
    data["intrathecal"] = {
        "start_date": "2020-05-11",
        "injections": 4,
        "drugs": ["methotrexate", "cytarabine", "hydrocortisone"],
        "citations": [triple_it()],
    }
    assert verify(data).problems == {}
    data["intrathecal"]["drugs"].append("vincristine")
    [problem] = verify(data).of("drug_named")
    assert problem["drug"] == "vincristine"


def test_others_block_counts_only_when_it_cites():
    data = full_record_data()
    base = verify(data).items
    data["others"]["citations"] = [cite("Wide surgical resection is preferred")]
    assert verify(data).items == base + 1
