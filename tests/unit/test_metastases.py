"""Radiotherapy to metastases only in a tumour diagnosed metastatic: the validator's own
reading (service/validation/metastases.py), on corpus sentences and the bundled
neuroblastoma PDF, and the records that break and keep radiotherapy.metastases_if_metastatic
(its cases in test_rules.py are the whole-lung course of a non-metastatic and of a
metastatic Ewing sarcoma)."""

from __future__ import annotations

from datetime import date

import pytest

from service.records import RadiotherapyCourse
from service.validation import Validator
from service.validation.codes import Vocabulary
from service.validation.metastases import metastases_named, metastases_treated
from tests.unit.test_grounding import CHUNKS, FakeChunks, cite_in
from tests.unit.test_risk_groups import NB_DOC, RISK_CHUNKS
from tests.unit.test_rules import (
    NOT_METASTATIC,
    TODAY,
    WHOLE_LUNG,
    WHOLE_LUNG_18,
    failed_ids,
    hodgkin,
    put,
    record_with,
)
from tests.unit.test_section_rules import neuroblastoma_pdf_pages

RULE = "radiotherapy.metastases_if_metastatic"


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(Vocabulary.bundled(), FakeChunks([*CHUNKS, *RISK_CHUNKS]), TODAY)


def course(site: str, gray: float, *quotes: str) -> RadiotherapyCourse:
    citations = [{"chunk_id": "c", "document": "d.pdf", "page": 1, "quote": q} for q in quotes]
    return RadiotherapyCourse(
        start_date=date(2020, 10, 5), site=site, dose=gray, fractions=12, citations=citations
    )


NB_RADIOTHERAPY = (
    "Radiotherapy to the primary tumour site: 21.6 Gy in 12 fractions of 1.8 Gy. Radiotherapy "
    "to bone metastases that remain MIBG-positive after induction: 21.6 Gy in 12 fractions"
)


@pytest.mark.parametrize(
    ("site", "gray", "quote", "treats"),
    [
        ("bone", 21.6, NB_RADIOTHERAPY.split(". ", 1)[1], True),
        ("Bone metastases", 21.6, "Radiotherapy: 21.6 Gy in 12 fractions", True),
        ("lungs", 15, "Irradiación pulmonar completa por metástasis pulmonares: 15 Gy", True),
        ("pulmões", 15, "Irradiação pulmonar total para metástases pulmonares: 15 Gy", True),
        ("sites", 30, "Radiotherapy to all metastatic sites: 30 Gy in 20 fractions", True),
        ("primary", 21.6, NB_RADIOTHERAPY, False),  # both sentences give 21.6 Gy: not judged
        ("primary", 21.6, NB_RADIOTHERAPY.split(". ", 1)[0], False),
        (
            "craniospinal",
            36,
            "Craniospinal irradiation for metastatic medulloblastoma: 36 Gy",
            False,
        ),
        ("tumour bed", 54, "In patients without bone metastases the tumour bed gets 54 Gy", False),
        ("tumour bed", 54, "Radioterapia del lecho tumoral sin metástasis: 54 Gy", False),
    ],
)
def test_a_course_treats_metastases_where_its_site_or_its_sentence_says_so(
    site, gray, quote, treats
):
    assert (metastases_treated(course(site, gray, quote)) is not None) is treats


def test_metastases_named_as_present():
    assert metastases_named("metástases ósseas") == "metastases"
    assert metastases_named("no distant metastases") is None
    assert metastases_named("non-metastatic disease") is None


def test_second_tumour_radiotherapy_is_judged_by_its_own_diagnosis(validator):
    bone = {
        "start_date": "2023-09-01",
        "site": "bone metastases",
        "dose": 21.6,
        "fractions": 12,
        "citations": [cite_in(NB_DOC, "nb-p3-c1", 3, "Radiotherapy: 21.6 Gy")],
    }
    result = validator.validate(
        record_with([put("second_tumour", {**hodgkin(), "radiotherapy": [bone]})])
    )
    failures = [f for f in result.failures if f.rule_id == RULE]
    assert [f.message.split(":")[0] for f in failures] == ["second_tumour.radiotherapy[0]"]


def test_relapse_radiotherapy_to_metastases_is_not_judged(validator):
    relapse_course = {
        "start_date": "2022-07-01",
        "site": "Whole-lung",
        "dose": 18,
        "fractions": 12,
        "citations": [cite_in("ewing_sarcoma.pdf", "ewing-p2-c3", 2, WHOLE_LUNG_18)],
    }
    edits = [*NOT_METASTATIC, put("relapse.second_line_radiotherapy", [relapse_course])]
    result = validator.validate(record_with(edits))
    assert RULE not in failed_ids(result), result.failures


def test_whole_lung_irradiation_of_a_metastatic_record_passes(validator):
    result = validator.validate(record_with(WHOLE_LUNG))
    assert result.failures == [] and result.passed


def test_the_real_pdf_bone_metastases_sentence_is_radiotherapy_to_metastases():
    pages = neuroblastoma_pdf_pages()
    [text] = [p.text for p in pages if "Radiotherapy to bone metastases" in p.text]
    start = text.index("Radiotherapy to bone metastases")
    sentence = text[start : text.index("1.8 Gy", start) + len("1.8 Gy")]
    assert metastases_treated(course("bone", 21.6, sentence)) is not None
    start = text.index("Radiotherapy to the primary tumour site")
    sentence = text[start : text.index("1.8 Gy", start) + len("1.8 Gy")]
    assert metastases_treated(course("primary tumour site", 21.6, sentence)) is None
