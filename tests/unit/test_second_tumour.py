"""A second tumour's own treatment blocks (issue 14): read from the clause about it in a
prompt (English or Spanish) or given as ``second_tumour_blocks``, kept in the parsed
request, refused with the reason where they cannot be the second tumour's."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from models.fake import FakeModel
from service.cli import app as cli
from service.generation.completeness import refuse_if_short
from service.requests import (
    RequestError,
    RequestFields,
    build_request,
    parse_request,
    validation_message,
)
from tests.records import full_record
from tests.unit.test_requests import api, blocks_of
from tests.unit.test_rules import hodgkin

CASE_STUDY = (
    "18-year-old patient who had the tumor at 13, osteosarcoma with surgery and chemotherapy; "
    "second tumor Hodgkin's lymphoma, nodular sclerosis, with chemo and radio"
)
CASE_STUDY_ES = (
    "Paciente de 18 años que tuvo el tumor a los 13, osteosarcoma con cirugía y "
    "quimioterapia; segundo tumor linfoma de Hodgkin, esclerosis nodular, con quimioterapia "
    "y radioterapia"
)


def build(**fields):
    return build_request(RequestFields(**fields))


@pytest.mark.parametrize("prompt", [CASE_STUDY, CASE_STUDY_ES])
def test_the_case_study_gives_each_tumour_its_own_blocks(prompt):
    r = parse_request(prompt)
    assert (r.age, r.age_now, r.morphology.code) == (13, 18, "9180/3")
    assert r.second_tumour is not None and r.second_tumour.code == "9663/3"
    assert blocks_of(r) == {"surgery", "chemotherapy"}
    assert r.second_tumour_blocks == ("chemotherapy", "radiotherapy")
    understood = r.understood()
    assert understood.blocks == ["chemotherapy", "surgery"]
    assert understood.second_tumour_blocks == ["chemotherapy", "radiotherapy"]


@pytest.mark.parametrize(
    ("prompt", "first", "second"),
    [
        (
            "Ewing sarcoma, chemotherapy and radiotherapy; second tumour: acute myeloid "
            "leukaemia treated with chemotherapy",
            {"chemotherapy", "radiotherapy"},
            ("chemotherapy",),
        ),
        (
            "osteosarcoma with chemotherapy, second tumor: Hodgkin lymphoma treated with surgery",
            {"chemotherapy"},
            ("surgery",),
        ),
        (
            "Ewing sarcoma and a second malignancy (Burkitt lymphoma) treated with chemotherapy",
            {"chemotherapy", "radiotherapy"},  # none named for the first: the default
            ("chemotherapy",),
        ),
        (  # the parenthesis closes the second tumour's clause
            "Ewing sarcoma with a second malignancy (Burkitt lymphoma), chemotherapy and surgery",
            {"chemotherapy", "surgery"},
            None,
        ),
        (  # a parenthesis of its own does not
            "Ewing sarcoma, surgery; second tumour Hodgkin lymphoma with chemotherapy (ABVD) and "
            "radiotherapy",
            {"surgery"},
            ("chemotherapy", "radiotherapy"),
        ),
        (
            "sarcoma de Ewing con cirugía y un segundo tumor: linfoma de Hodgkin con quimio",
            {"surgery"},
            ("chemotherapy",),
        ),
        (  # a cause is no treatment asked for
            "osteosarcoma, chemotherapy and surgery, second tumour: radiation-induced "
            "Ewing sarcoma",
            {"chemotherapy", "surgery"},
            None,
        ),
        (  # only: within the second tumour's clause
            "Ewing sarcoma, chemotherapy and surgery; second tumour: Hodgkin lymphoma, only "
            "radiotherapy",
            {"chemotherapy", "surgery"},
            ("radiotherapy",),
        ),
        (  # refusing one asks for the default's others (the first tumour's kinds)
            "Ewing sarcoma with chemotherapy, radiotherapy and surgery; second tumour: Hodgkin "
            "lymphoma, without radiotherapy",
            {"chemotherapy", "radiotherapy", "surgery"},
            ("chemotherapy", "surgery"),
        ),
        (  # supportive care is the record's
            "Ewing sarcoma, chemotherapy; second tumour Hodgkin lymphoma with radiotherapy and "
            "a central venous catheter",
            {"chemotherapy", "others"},
            ("radiotherapy",),
        ),
        (  # the mission's prompt: nothing said of the second tumour's treatment
            "8-year-old with osteosarcoma, chemotherapy, surgery and others, with a second "
            "tumour: nodular-sclerosis Hodgkin lymphoma",
            {"chemotherapy", "surgery", "others"},
            None,
        ),
    ],
)
def test_the_second_tumours_clause_names_its_blocks(prompt, first, second):
    r = parse_request(prompt)
    assert r.second_tumour is not None
    assert blocks_of(r) == first
    assert r.second_tumour_blocks == second


def test_without_a_second_tumour_every_block_is_the_first_tumours():
    r = parse_request("Ewing sarcoma without a second tumour, chemotherapy and surgery")
    assert r.second_tumour is None and r.second_tumour_blocks is None
    assert blocks_of(r) == {"chemotherapy", "surgery"}


def test_none_named_follows_the_first_tumours_kinds_unrequired():
    r = parse_request("osteosarcoma, surgery; second tumour: Hodgkin lymphoma")
    assert r.second_tumour_treatment() == (frozenset({"surgery"}), False)
    r = parse_request("osteosarcoma, others; second tumour: Hodgkin lymphoma")
    assert r.second_tumour_treatment() == (frozenset({"chemotherapy"}), False)
    assert r.understood().second_tumour_blocks is None
    asked = parse_request(CASE_STUDY)
    assert asked.second_tumour_treatment() == (frozenset({"chemotherapy", "radiotherapy"}), True)


def test_the_field_names_them_with_the_blocks_vocabulary_and_wins():
    r = build(prompt=CASE_STUDY, second_tumour_blocks=["quimioterapia", "cirugía", "chemotherapy"])
    assert r.second_tumour_blocks == ("chemotherapy", "surgery")
    assert blocks_of(r) == {"surgery", "chemotherapy"}  # the first tumour's: unchanged
    assert (
        "second_tumour_blocks: the field's chemotherapy, surgery replaces the prompt's "
        "chemotherapy, radiotherapy" in r.overrides
    )
    assert "second_tumour_blocks" in r.from_fields
    assert r.prompt.endswith("second tumour's treatment: chemotherapy, surgery")
    fields = build(diagnosis="Ewing sarcoma", second_tumour="9650/3", second_tumour_blocks="rt")
    assert fields.second_tumour_blocks == ("radiotherapy",)


def test_an_unknown_block_name_is_a_field_error_naming_the_usable_ones():
    with pytest.raises(ValidationError) as raised:
        RequestFields(second_tumour="Hodgkin lymphoma", second_tumour_blocks=["magic"])
    assert validation_message(raised.value) == (
        "second_tumour_blocks: unknown treatment block 'magic': use chemotherapy, "
        "radiotherapy or surgery"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"diagnosis": "Ewing sarcoma", "second_tumour_blocks": ["chemotherapy"]},
            "no second tumour is asked for: give second_tumour",
        ),
        (
            {"prompt": "osteosarcoma, second tumour: acute myeloid leukaemia with a transplant"},
            "a transplant \\(hsct\\) for the second tumour \\(acute myeloid leukaemia, NOS\\)",
        ),
        (
            {"second_tumour": "Hodgkin lymphoma", "second_tumour_blocks": ["TPH"]},
            "a record's second tumour holds chemotherapy, radiotherapy and surgery only",
        ),
        (
            {"second_tumour": "Hodgkin lymphoma", "second_tumour_blocks": ["otros"]},
            "others \\(supportive care\\) belongs to the record.*put it in blocks",
        ),
        (
            {"prompt": "osteosarcoma, chemotherapy; second tumour: Hodgkin lymphoma, no chemo"},
            "refuses the second tumour's chemotherapy and names no other treatment",
        ),
        (
            {
                "prompt": "Ewing sarcoma; second tumour: Hodgkin lymphoma, only radiotherapy "
                "and surgery, later also chemotherapy"
            },
            "only radiotherapy and surgery but also names 'chemotherapy'",
        ),
    ],
)
def test_what_cannot_be_the_second_tumours_names_the_problem(fields, message):
    with pytest.raises(RequestError, match=message):
        build(**fields)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"second_tumour": "Hodgkin lymphoma", "second_tumour_blocks": ["magic"]},
            "second_tumour_blocks: unknown treatment block 'magic'",
        ),
        (
            {
                "diagnosis": "Ewing sarcoma",
                "second_tumour": "AML",
                "second_tumour_blocks": ["hsct"],
            },
            "a transplant (hsct) for the second tumour",
        ),
    ],
)
def test_the_api_answers_422_with_the_reason(tmp_path, body, detail):
    model = FakeModel()
    with api(tmp_path, model) as c:
        reply = c.post("/v1/patients", json=body)
        assert reply.status_code == 422, reply.text
        answer = reply.json()  # a field's error has a message, a request's a detail
        assert detail in (answer.get("message") or answer["detail"])
        assert c.get("/v1/patients").json()["total"] == 0
    assert model.calls == []


def test_the_cli_exits_2_before_any_model_loads(clinsynth_env):
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "--diagnosis",
            "Ewing sarcoma",
            "--second-tumour",
            "Hodgkin lymphoma",
            "--second-tumour-block",
            "transplant",
        ],
    )
    assert result.exit_code == 2
    assert "a transplant (hsct) for the second tumour (classic Hodgkin" in result.stderr


def test_a_record_short_of_a_block_asked_for_the_second_tumour_is_refused_naming_it():
    request = parse_request(CASE_STUDY)
    second = {**hodgkin(), "radiotherapy": [], "chemotherapy": []}
    record = full_record(second_tumour=second)
    with pytest.raises(RequestError) as refused:
        refuse_if_short(request, record, None)
    assert str(refused.value).startswith(
        "the ingested guidelines give no usable chemotherapy or radiotherapy for the second "
        "tumour, classic Hodgkin lymphoma, nodular sclerosis (ICD-O-3 9663/3)"
    )
    assert "cumulative anthracycline bound" in str(refused.value)  # the first had doxorubicin
