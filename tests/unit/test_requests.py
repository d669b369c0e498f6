import pytest

from service.requests import RequestError, parse_request


def test_english_request():
    r = parse_request("8-year-old boy with Ewing sarcoma, chemotherapy and radiotherapy")
    assert (r.age, r.sex, r.language) == (8, "male", "en")
    assert r.morphology is not None and r.morphology.code == "9364/3"
    assert r.chemotherapy and r.radiotherapy


def test_spanish_request():
    r = parse_request("Niña de 14 años con osteosarcoma y quimioterapia")
    assert (r.age, r.sex, r.language) == (14, "female", "es")
    assert r.morphology is not None and r.morphology.code == "9180/3"
    assert r.chemotherapy and not r.radiotherapy


def test_no_treatment_named_means_the_usual_ones():
    r = parse_request("teenager with Hodgkin lymphoma")
    assert r.chemotherapy and r.radiotherapy
    assert r.age is None and r.sex is None


@pytest.mark.parametrize(
    ("prompt", "message"),
    [("   ", "empty"), ("45-year-old man with osteosarcoma", "outside"), ("x" * 2001, "limit")],
)
def test_bad_requests_name_the_problem(prompt, message):
    with pytest.raises(RequestError, match=message):
        parse_request(prompt)


def test_acronyms_match_only_in_capitals():
    assert parse_request("boy with ALL, all treatments").morphology.code == "9835/3"
    assert parse_request("girl, all treatments").morphology is None


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("boy with metastatic Ewing sarcoma", True),
        ("girl with localised osteosarcoma", False),
        ("niño con sarcoma de Ewing sin metástasis", False),
        ("niña con osteosarcoma y metástasis pulmonares", True),
        ("boy with Ewing sarcoma", None),
    ],
)
def test_metastatic_status_named_in_the_request(prompt, expected):
    assert parse_request(prompt).metastatic is expected
