"""Predisposition syndromes, brachytherapy and metabolic therapy asked for: read from the
prompt (English, Spanish) and the fields, kept in provenance, and checked against stored
records by request.honoured."""

from __future__ import annotations

from typing import Any

import pytest

from service.records import PatientRecord, RequestedRecord
from service.requests import RequestError, parse_request, request_from
from service.validation.clinical import missing_from
from tests.records import full_record_data


@pytest.mark.parametrize(
    ("prompt", "syndromes"),
    [
        ("8-year-old with osteosarcoma and Li-Fraumeni syndrome", ("Li-Fraumeni syndrome",)),
        ("niña de 3 años con síndrome de Down y LLA", ("Down syndrome",)),
        ("7-year-old with NF1 and low-grade glioma", ("neurofibromatosis type 1",)),
        (
            "menino com neurofibromatose tipo 1 e glioma de baixo grau",
            ("neurofibromatosis type 1",),
        ),
        ("Wilms tumour with WAGR syndrome", ("WAGR syndrome",)),
        ("osteosarcoma without Li-Fraumeni syndrome", ()),  # negated
        ("osteosarcoma", ()),
    ],
)
def test_predisposition_syndromes_are_read_from_the_prompt(prompt, syndromes):
    request = parse_request(prompt)
    assert request.genetic_conditions == syndromes
    assert request.understood().genetic_conditions == list(syndromes)


@pytest.mark.parametrize(
    ("prompt", "brachytherapy", "metabolic", "external"),
    [
        (
            "4-year-old with high-risk neuroblastoma, chemotherapy and MIBG therapy",
            None,
            True,
            False,
        ),
        ("neuroblastoma de alto riesgo con quimioterapia y terapia metabólica", None, True, False),
        ("neuroblastoma with metabolic radiotherapy and chemotherapy", None, True, False),
        ("rhabdomyosarcoma of the bladder with chemotherapy and brachytherapy", True, None, False),
        ("niño con rabdomiosarcoma, quimioterapia y braquiterapia", True, None, False),
        (
            "rhabdomyosarcoma with chemotherapy, radiotherapy and brachytherapy, no MIBG",
            True,
            False,
            True,
        ),
        ("neuroblastoma with chemotherapy and radiotherapy", None, None, True),
    ],
)
def test_brachytherapy_and_metabolic_therapy_are_radiotherapy_courses_of_their_own(
    prompt, brachytherapy, metabolic, external
):
    request = parse_request(prompt)
    assert (request.brachytherapy, request.metabolic_therapy) == (brachytherapy, metabolic)
    assert request.radiotherapy is external  # external beam only where radiotherapy is named
    assert ("radiotherapy" in request.blocks) is bool(brachytherapy or metabolic or external)
    understood = request.understood()
    assert (understood.brachytherapy, understood.metabolic_therapy) == (brachytherapy, metabolic)


def test_fields_ask_for_them_resolve_names_and_refuse_contradictions():
    request = request_from(
        diagnosis="ALL", genetic_conditions=["síndrome de Down"], metabolic_therapy=False
    )
    assert request.genetic_conditions == ("Down syndrome",)
    assert request.metabolic_therapy is False
    assert set(request.from_fields) >= {"genetic_conditions", "metabolic_therapy"}
    assert "with Down syndrome" in request.prompt and "no metabolic therapy" in request.prompt
    with pytest.raises(RequestError, match="'Fanconi syndrome' is not a predisposition syndrome"):
        request_from(diagnosis="ALL", genetic_conditions=["Fanconi syndrome"])
    with pytest.raises(RequestError, match="metabolic therapy is a radiotherapy course"):
        request_from(diagnosis="neuroblastoma", blocks=["chemotherapy"], metabolic_therapy=True)
    with pytest.raises(RequestError, match="brachytherapy is a radiotherapy course"):
        request_from(diagnosis="rhabdomyosarcoma", blocks=["surgery"], brachytherapy=True)
    overridden = request_from(prompt="LLA con síndrome de Down", genetic_conditions=["NF1"])
    assert overridden.genetic_conditions == ("neurofibromatosis type 1",)
    assert any("genetic_conditions" in note for note in overridden.overrides)


# -- request.honoured ------------------------------------------------------------------------


def stored(asked: RequestedRecord, **changes: Any) -> PatientRecord:
    data = full_record_data()
    data["diagnosis"].update(changes.pop("diagnosis", {}))
    data.update(changes)
    record = PatientRecord.model_validate(data)
    provenance = record.provenance.model_copy(update={"parsed_request": asked})
    return record.model_copy(update={"provenance": provenance})


MIBG_COURSE = {
    "start_date": "2020-10-05",
    "site": "whole body (systemic)",
    "dose": None,
    "fractions": 1,
    "technique": "metabolic",
    "metabolic": {"radiopharmaceutical": "131I-MIBG", "activity": 18, "activity_unit": "mCi/kg"},
    "citations": full_record_data()["radiotherapy"][0]["citations"],
}


def test_request_honoured_names_what_is_missing_or_refused():
    asked = RequestedRecord(
        blocks=[], brachytherapy=True, metabolic_therapy=False, genetic_conditions=["Down syndrome"]
    )
    breaking = stored(
        asked,
        radiotherapy=[MIBG_COURSE],
        diagnosis={"genetic_conditions": ["Li-Fraumeni syndrome"]},
    )
    assert dict(missing_from(breaking)) == {
        "brachytherapy": "asked for, no radiotherapy course is one",
        "metabolic therapy": "refused, the record gives it (whole body (systemic))",
        "genetic conditions": "Down syndrome asked for, the record gives Li-Fraumeni syndrome",
    }


def test_request_honoured_passes_a_record_holding_them_in_spanish_too():
    asked = RequestedRecord(blocks=[], metabolic_therapy=True, genetic_conditions=["Down syndrome"])
    passing = stored(
        asked, radiotherapy=[MIBG_COURSE], diagnosis={"genetic_conditions": ["síndrome de Down"]}
    )
    assert list(missing_from(passing)) == []
    refused = RequestedRecord(blocks=[], brachytherapy=False, metabolic_therapy=False)
    assert list(missing_from(stored(refused))) == []  # external beam only
