"""Whom a regimen is for: the generator's reading (knowledge.applicability) and the rule's
own (service.validation.applicability, chemotherapy.regimen_fits_patient), on the same
sentences; the rule's breaking and passing records are in test_rules.py."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from knowledge.applicability import age_band, covers, passage_scope, regimen_scope
from knowledge.chunks import RetrievedChunk
from service.records import PatientRecord
from service.validation import Validator
from service.validation.applicability import age_limits, named_tumours, takes_in
from service.validation.codes import Vocabulary
from tests.records import full_record_data

CLASSIC, NODULAR_SCLEROSIS, NLPHL, EWING = "9650/3", "9663/3", "9659/3", "9364/3"
CVP = (
    "Other early-stage NLPHL is treated with three cycles of low-dose CVP every 21 days: "
    "cyclophosphamide 500 mg/m2 IV on day 1"
)
OEPA = "All patients receive two cycles of OEPA, repeated on day 29: vincristine 1.5 mg/m2"

AGE_BANDS = [
    ("for patients under 10", (None, 9)),
    ("patients ≥ 16 years receive etoposide 100 mg/m2", (16, None)),
    ("children 3-5 anos: carboplatina 560 mg/m2", (3, 5)),
    ("niños de 3 a 5 años reciben carboplatino 560 mg/m2", (3, 5)),
    ("pacientes mayores de 10 años: cisplatino 75 mg/m2", (10, None)),
    ("aged 1 year to under 2 years", (1, 1)),
    ("16 years or older", (16, None)),
    ("Infants younger than 3 years receive methotrexate 8 g/m2", (None, 2)),
    ("adult-type ABVD gives doxorubicin 25 mg/m2", (18, None)),
    ("adolescents and young adults receive doxorubicin 25 mg/m2", (None, None)),
    (OEPA, (None, None)),
    ("maintenance over 2 years with mercaptopurine 75 mg/m2", (None, None)),  # a duration
    ("patients under 10 kg receive carboplatin 18 mg/kg", (None, None)),  # a weight
    ("weight loss of more than 10% in the 6 months", (None, None)),
    ("The older COPP regimen used procarbazine 100 mg/m2", (None, None)),
]


@pytest.mark.parametrize(("text", "band"), AGE_BANDS)
def test_both_readings_find_the_age_band_a_sentence_states(text, band):
    assert age_band(text) == band
    assert age_limits(text) == band


def test_months_count_as_full_years_for_the_generator():
    assert age_band("infants younger than 12 months") == (None, 0)
    assert age_band("lactantes menores de 18 meses") == (None, 1)


@pytest.mark.parametrize(
    ("named", "patient", "fits"),
    [
        (NLPHL, CLASSIC, False),
        (CLASSIC, NLPHL, False),
        (CLASSIC, NODULAR_SCLEROSIS, True),  # the NOS code takes in its subtypes
        (NODULAR_SCLEROSIS, CLASSIC, True),  # a patient coded NOS is of no other subtype
        (NODULAR_SCLEROSIS, "9652/3", False),  # mixed cellularity: another subtype
        ("low-grade glioma", "9421/1", True),  # a group holding the code
        ("low-grade glioma", EWING, False),
    ],
)
def test_a_named_tumour_takes_in_the_same_code_its_group_and_nos_relatives(named, patient, fits):
    assert covers(named, patient) is fits


def test_a_regimen_for_nlphl_is_not_for_classic_hodgkin_lymphoma():
    assert not passage_scope(CVP).fits(CLASSIC, 14)
    assert passage_scope(CVP).fits(NLPHL, 14)
    assert passage_scope(OEPA).fits(CLASSIC, 14)
    # any language the vocabulary names it in
    spanish = "El linfoma de Hodgkin de predominio linfocítico nodular recibe ciclofosfamida"
    assert passage_scope(spanish).tumours == {NLPHL}


def test_an_age_band_keeps_a_regimen_to_its_ages():
    scope = passage_scope("children under 10 years receive carboplatin 560 mg/m2")
    assert scope.fits(EWING, 9) and not scope.fits(EWING, 10)


def test_a_table_row_names_whom_its_regimen_is_for():
    row = "Tumour: NLPHL; Regimen: CVP; Doses: cyclophosphamide 500 mg/m2 IV on day 1"
    chunk = RetrievedChunk(
        chunk_id="t",
        document="d.pdf",
        document_sha256="0" * 64,
        title="d",
        page=1,
        start=0,
        end=0,
        text="Tumour: classic HL; Regimen: OEPA; Doses: vincristine 1.5 mg/m2\n" + row,
        kind="table",
        score=1.0,
    )
    quote = "Doses: cyclophosphamide 500 mg/m2 IV on day 1"
    assert regimen_scope(quote, chunk).tumours == {NLPHL}
    assert regimen_scope(quote).says_nothing  # running text: its sentence alone


def test_the_rule_reads_the_longest_tumour_name():
    vocabulary = Vocabulary.bundled()
    quote = "nodular lymphocyte predominant Hodgkin lymphoma is treated with CVP"
    assert [t.code for t in named_tumours(quote, vocabulary)] == [NLPHL]


def _diagnosis(code: str, tumour: str) -> Any:
    data = full_record_data()
    data["diagnosis"]["icdo3_morphology"], data["diagnosis"]["tumour"] = code, tumour
    return PatientRecord.model_validate(data).diagnosis


def test_the_rule_judges_subtypes_by_their_nos_parent():
    vocabulary = Vocabulary.bundled()
    nodular = _diagnosis(NODULAR_SCLEROSIS, "classic Hodgkin lymphoma, nodular sclerosis")
    (classic,) = named_tumours("Classic Hodgkin lymphoma is treated with OEPA", vocabulary)
    (nlphl,) = named_tumours(CVP, vocabulary)
    assert takes_in(classic, nodular, vocabulary)
    assert not takes_in(nlphl, nodular, vocabulary)


def _failures(data: dict[str, Any]) -> list[str]:
    data["provenance"]["language"] = "en"
    result = Validator(Vocabulary.bundled(), None, date(2025, 1, 1)).validate(
        PatientRecord.model_validate(data)
    )
    return [f.message for f in result.failures if f.rule_id == "chemotherapy.regimen_fits_patient"]


def test_the_rule_flags_a_regimen_of_another_age_band():
    data = full_record_data()  # Ewing sarcoma at 12 years
    quote = "Children under 10 years receive vincristine 1.5 mg/m2 (maximum 2 mg) IV on day 1"
    data["chemotherapy"][0]["citations"][0]["quote"] = quote
    messages = _failures(data)
    assert messages and all(
        "is for ages 0 to 9 years" in m and "at 12 years" in m for m in messages
    )
    data["chemotherapy"][0]["citations"][0]["quote"] = quote.replace("under 10", "aged 10 to 14")
    assert _failures(data) == []
