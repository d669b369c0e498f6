"""The independent verifier on genetic conditions, brachytherapy and metabolic therapy:
passing and breaking items, cited to the bundled corpus's own paragraphs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.records import PatientRecord
from service.validation.codes import Vocabulary
from service.validation.grounding import verify_grounding
from tests.unit.test_grounding import FakeChunks, grounded_record_data, stored

SRC = Path(__file__).resolve().parents[2] / "knowledge" / "corpus" / "src"


def sentence(source: str, start: str, end: str) -> str:
    """The corpus text of ``source`` from ``start`` up to and including ``end``."""
    text = (SRC / f"{source}.txt").read_text(encoding="utf-8")
    at = text.index(start)
    return text[at : text.index(end, at) + len(end)]


OSTEOSARCOMA = sentence("osteosarcoma", "Osteosarcoma is increased in", "Diamond-Blackfan anaemia.")
MIBG = sentence("neuroblastoma", "Metabolic radiotherapy:", "shielded room.")
BRACHYTHERAPY = sentence("rabdomiosarcoma", "Braquiterapia: en los tumores", "5 fracciones.")
CHUNKS = [
    stored("osteo-p3", "osteosarcoma.pdf", 3, OSTEOSARCOMA),
    stored("nb-p3", "neuroblastoma.pdf", 3, MIBG),
    stored("rms-p2", "rabdomiosarcoma.pdf", 2, BRACHYTHERAPY),
]


def cite(chunk_id: str) -> dict[str, Any]:
    found = next(c for c in CHUNKS if c.chunk_id == chunk_id)
    return {
        "chunk_id": chunk_id,
        "document": found.document,
        "page": found.page,
        "quote": found.text,
    }


def problems(edit) -> dict[str, list[dict[str, Any]]]:
    data = grounded_record_data()
    edit(data)
    record = PatientRecord.model_validate(data)
    lookup = FakeChunks(CHUNKS + list(FakeChunks().by_id.values()))
    return verify_grounding(record, lookup, Vocabulary.bundled()).problems


def osteosarcoma_with(*syndromes: str):
    def edit(data: dict[str, Any]) -> None:
        data["diagnosis"].update(
            tumour="osteosarcoma, NOS",
            icdo3_morphology="9180/3",
            genetic_conditions=list(syndromes),
            citations=[*data["diagnosis"]["citations"], cite("osteo-p3")],
        )

    return edit


def test_a_syndrome_the_cited_sentence_ties_to_the_tumour_is_verified_in_any_language():
    assert problems(osteosarcoma_with("Li-Fraumeni syndrome", "heritable retinoblastoma")) == {}
    assert problems(osteosarcoma_with("síndrome de Li-Fraumeni")) == {}


def test_a_syndrome_no_cited_sentence_names_is_a_problem():
    found = problems(osteosarcoma_with("Down syndrome"))
    assert [p["syndrome"] for p in found["syndrome_in_quote"]] == ["Down syndrome"]


def metabolic(activity: float, unit: str):
    def edit(data: dict[str, Any]) -> None:
        data["radiotherapy"][0].update(
            site="whole body (systemic)",
            dose=None,
            fractions=1,
            technique="metabolic",
            metabolic={
                "radiopharmaceutical": "131I-MIBG",
                "activity": activity,
                "activity_unit": unit,
            },
            citations=[cite("nb-p3")],
        )

    return edit


@pytest.mark.parametrize(("activity", "unit"), [(18, "mCi/kg"), (666, "MBq/kg")])
def test_a_metabolic_therapy_at_the_stated_activity_is_verified(activity, unit):
    assert problems(metabolic(activity, unit)) == {}


@pytest.mark.parametrize(("activity", "unit"), [(12, "mCi/kg"), (18, "mCi")])
def test_another_activity_or_a_total_for_a_per_kg_one_is_a_problem(activity, unit):
    found = problems(metabolic(activity, unit))
    assert [p["given"] for p in found["activity_in_quote"]] == [f"131I-MIBG {activity} {unit}"]


def brachytherapy(**details: Any):
    def edit(data: dict[str, Any]) -> None:
        data["radiotherapy"][0].update(
            site="bladder",
            dose=27.5,
            fractions=5,
            technique="brachytherapy",
            brachytherapy={"source": "Ir-192", **details},
            citations=[cite("rms-p2")],
        )

    return edit


def test_a_brachytherapy_with_the_stated_source_applicator_and_dose_rate_is_verified():
    assert problems(brachytherapy(applicator="interstitial", dose_rate="HDR")) == {}


def test_an_unstated_dose_rate_or_source_is_a_problem():
    found = problems(brachytherapy(applicator="interstitial", dose_rate="LDR"))
    assert [p["unnamed"] for p in found["brachytherapy_in_quote"]] == ["LDR"]
    found = problems(
        lambda d: (
            brachytherapy()(d),
            d["radiotherapy"][0].update(brachytherapy={"source": "I-125"}),
        )
    )
    assert [p["unnamed"] for p in found["brachytherapy_in_quote"]] == ["I-125"]


def test_a_metabolic_course_needs_its_activity_to_go_without_a_dose():
    data = grounded_record_data()
    data["radiotherapy"][0].update(dose=None)
    with pytest.raises(ValueError, match="dose \\(Gy\\) is required, except for metabolic"):
        PatientRecord.model_validate(data)
