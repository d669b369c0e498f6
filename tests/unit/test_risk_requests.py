"""A protocol risk group asked for: read from the prompt (English, Spanish, Portuguese) and
the ``risk_group`` field (API, CLI), kept in provenance, and checked against stored records by
request.honoured."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from models.fake import FakeModel
from service.cli import app
from service.records import RequestedRecord
from service.requests import RequestError, parse_request, request_from
from service.validation.clinical import missing_from
from tests.unit.test_api import client
from tests.unit.test_special_requests import stored


@pytest.mark.parametrize(
    ("prompt", "group"),
    [
        ("4-year-old with high-risk neuroblastoma, chemotherapy", "high"),
        ("8-year-old boy with standard-risk medulloblastoma", "standard"),
        ("low risk Wilms tumour", "low"),
        ("intermediate-risk neuroblastoma", "intermediate"),
        ("average-risk medulloblastoma", "standard"),
        ("very high risk ALL", "high"),
        ("niño de 4 años con neuroblastoma de alto riesgo", "high"),
        ("neuroblastoma de riesgo intermedio", "intermediate"),
        ("tumor de Wilms de bajo riesgo", "low"),
        ("meduloblastoma de riesgo estándar", "standard"),
        ("menino com neuroblastoma de alto risco", "high"),
        ("meduloblastoma de risco padrão", "standard"),
        ("not high-risk neuroblastoma", None),  # negated: none asked
        ("neuroblastoma, no es de alto riesgo", None),
        ("neuroblastoma, não é de alto risco", None),
        ("Hodgkin lymphoma with a high risk of relapse", None),  # a hazard, not a group
        ("neuroblastoma with chemotherapy", None),
    ],
)
def test_a_risk_group_is_read_from_the_prompt(prompt, group):
    request = parse_request(prompt)
    assert request.risk_group == group
    assert request.understood().risk_group == group


def test_two_risk_groups_in_the_prompt_are_an_error_unless_the_field_says_which():
    with pytest.raises(RequestError, match="several risk groups"):
        parse_request("standard-risk medulloblastoma, or high-risk")
    request = request_from(prompt="standard-risk medulloblastoma, or high-risk", risk_group="high")
    assert request.risk_group == "high"


@pytest.mark.parametrize(
    ("value", "group"),
    [("high", "high"), ("High", "high"), ("average", "standard"), ("very high", "high")]
    + [("alto riesgo", "high"), ("risco padrão", "standard"), ("medium", "intermediate")],
)
def test_the_field_takes_a_group_or_a_name_for_it(value, group):
    request = request_from(diagnosis="neuroblastoma", risk_group=value)
    assert request.risk_group == group
    assert "risk_group" in request.from_fields
    assert f"{group} risk" in request.prompt  # what the model reads and names the record
    assert request.understood().risk_group == group


def test_an_unknown_risk_group_names_the_valid_ones():
    with pytest.raises(RequestError, match="'extreme' is not a risk group: use low, standard"):
        request_from(diagnosis="neuroblastoma", risk_group="extreme")
    with pytest.raises(RequestError, match="nothing to generate"):
        request_from(risk_group="high")  # asks for an item: needs a patient


def test_the_field_wins_over_the_prompt_with_a_note():
    request = request_from(prompt="high-risk neuroblastoma", risk_group="low")
    assert request.risk_group == "low"
    assert any("risk_group" in note and "high" in note for note in request.overrides)


def test_the_api_refuses_an_unknown_risk_group_with_a_422_listing_the_valid_ones(tmp_path):
    with client(tmp_path, FakeModel()) as c:
        answer = c.post("/v1/patients", json={"diagnosis": "neuroblastoma", "risk_group": "x"})
    assert answer.status_code == 422
    assert "low, standard, intermediate, high" in answer.text


@pytest.mark.parametrize("command", [["generate"], ["batches", "create", "--count", "1"]])
def test_the_cli_option_is_checked_before_any_model_loads(clinsynth_env, command):
    args = [*command, "--diagnosis", "neuroblastoma", "--risk-group", "extreme"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "'extreme' is not a risk group" in result.stderr


# -- request.honoured ------------------------------------------------------------------------


def test_request_honoured_fails_a_record_of_another_risk_group_or_none():
    asked = RequestedRecord(blocks=[], risk_group="high")
    assert dict(missing_from(stored(asked, diagnosis={"risk_group": "standard"}))) == {
        "risk group": "high asked for, standard given"
    }
    assert dict(missing_from(stored(asked))) == {"risk group": "high asked for, none given"}


def test_request_honoured_passes_the_risk_group_asked_for_and_any_when_none_asked():
    asked = RequestedRecord(blocks=[], risk_group="high")
    assert list(missing_from(stored(asked, diagnosis={"risk_group": "high"}))) == []
    unasked = RequestedRecord(blocks=[])
    assert list(missing_from(stored(unasked, diagnosis={"risk_group": "low"}))) == []
