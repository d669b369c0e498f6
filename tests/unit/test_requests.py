import json

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from models.fake import FakeModel
from service.api.app import Services, create_app
from service.cli import app as cli
from service.requests import (
    RequestError,
    RequestFields,
    build_request,
    parse_request,
    resolve_tumour,
    validation_message,
)
from service.settings import Settings
from service.storage.database import open_database
from service.storage.patients import RecordStore
from tests.unit.test_generation import TREATMENT, diagnosis_answer, make


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


# -- structured fields, the example prompts, errors ---------------------------------------


def build(**fields):
    return build_request(RequestFields(**fields))


def blocks_of(r):
    return {
        b for b in ("chemotherapy", "radiotherapy", "surgery", "hsct", "others") if getattr(r, b)
    }


@pytest.mark.parametrize(
    "prompt",
    [
        "14-year-old, chemotherapy, radiotherapy, surgery, transplant and others, "
        "relapse after the first line",
        "14 años, quimioterapia, radioterapia, cirugía, trasplante y otros, "
        "recaída tras la primera línea",
    ],
)
def test_mission_prompt_with_every_block_and_relapse(prompt):
    r = parse_request(prompt)
    assert r.age == 14 and r.relapse is True and r.morphology is None
    assert blocks_of(r) == {"chemotherapy", "radiotherapy", "surgery", "hsct", "others"}
    assert r.language == ("es" if "años" in prompt else "en")


@pytest.mark.parametrize(
    "prompt",
    [
        "8-year-old with osteosarcoma, chemotherapy, surgery and others, "
        "with a second tumour: nodular-sclerosis Hodgkin lymphoma",
        "Niño de 8 años con osteosarcoma, quimioterapia, cirugía y otros, "
        "con un segundo tumor: linfoma de Hodgkin esclerosis nodular",
    ],
)
def test_mission_prompt_with_a_second_tumour(prompt):
    r = parse_request(prompt)
    assert r.age == 8 and r.morphology.code == "9180/3"
    assert r.second_tumour is not None and r.second_tumour.code == "9663/3"
    assert blocks_of(r) == {"chemotherapy", "surgery", "others"}
    assert r.relapse is None


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("girl with Ewing sarcoma, second tumor: acute myeloid leukaemia", "9861/3"),
        ("Ewing sarcoma and a second malignancy (Burkitt lymphoma)", "9687/3"),
        ("sarcoma de Ewing, segundo tumor: leucemia mieloide aguda", "9861/3"),
        ("Ewing sarcoma without a second tumour", None),
    ],
)
def test_second_tumour_phrasings(prompt, expected):
    r = parse_request(prompt)
    assert r.morphology.code == "9364/3"
    assert (r.second_tumour.code if r.second_tumour else None) == expected


@pytest.mark.parametrize(
    ("prompt", "blocks"),
    [
        ("boy with Ewing sarcoma and surgery", {"surgery"}),
        ("girl with ALL and a stem-cell transplant", {"hsct"}),
        ("niña con LLA, quimioterapia y TPH", {"chemotherapy", "hsct"}),
        ("osteosarcoma, chemotherapy and a central venous catheter", {"chemotherapy", "others"}),
        ("osteosarcoma without radiotherapy", {"chemotherapy"}),
        ("osteosarcoma sin quimioterapia ni radioterapia, cirugía", {"surgery"}),
        ("Hodgkin lymphoma, only chemotherapy", {"chemotherapy"}),
        ("linfoma de Hodgkin, solo quimioterapia y radioterapia", {"chemotherapy", "radiotherapy"}),
        ("Ewing sarcoma, chemoradiotherapy", {"chemotherapy", "radiotherapy"}),
    ],
)
def test_exactly_the_blocks_named(prompt, blocks):
    assert blocks_of(parse_request(prompt)) == blocks


@pytest.mark.parametrize(
    ("prompt", "relapse"),
    [
        ("boy with Ewing sarcoma who relapsed", True),
        ("niño con sarcoma de Ewing y recidiva pulmonar", True),
        ("osteosarcoma, no relapse", False),
        ("osteosarcoma sin recaída", False),
        ("osteosarcoma", None),
    ],
)
def test_relapse_named_or_denied(prompt, relapse):
    assert parse_request(prompt).relapse is relapse


def test_age_in_months_is_whole_years():
    assert parse_request("18-month-old with neuroblastoma").age == 1


def test_prompt_alone_keeps_its_text_so_records_stay_reproducible():
    prompt = "8-year-old boy with Ewing sarcoma"
    assert parse_request(prompt).prompt == prompt
    assert build(prompt=prompt).prompt == prompt


def test_structured_fields_alone():
    r = build(
        age=10,
        sex="femenino",
        diagnosis="sarcoma de Ewing",
        blocks=["quimioterapia", "cirugía"],
        relapse=True,
        second_tumour="9650/3",
        language="Español",
    )
    assert (r.age, r.sex, r.language, r.relapse) == (10, "female", "es", True)
    assert (r.morphology.code, r.second_tumour.code) == ("9364/3", "9650/3")
    assert blocks_of(r) == {"chemotherapy", "surgery"}
    assert "age 10" in r.prompt and "Ewing sarcoma (9364/3)" in r.prompt and not r.overrides


def test_no_block_named_anywhere_keeps_the_default():
    assert blocks_of(build(diagnosis="osteosarcoma")) == {"chemotherapy", "radiotherapy"}
    assert blocks_of(build(diagnosis="osteosarcoma", blocks=[])) == set()


def test_explicit_fields_win_and_say_so():
    r = build(
        prompt="8-year-old girl with osteosarcoma, chemotherapy",
        age=10,
        sex="male",
        diagnosis="Ewing sarcoma",
        blocks=["surgery"],
        language="en",
    )
    assert (r.age, r.sex, r.morphology.code) == (10, "male", "9364/3")
    assert blocks_of(r) == {"surgery"}
    assert "age: the field's 10 replaces the prompt's 8" in r.overrides
    assert any(o.startswith("diagnosis: the field's Ewing sarcoma") for o in r.overrides)
    assert r.prompt.startswith("8-year-old girl with osteosarcoma") and "age 10" in r.prompt


def test_an_explicit_field_replaces_a_bad_value_in_the_prompt():
    assert build(prompt="45-year-old with osteosarcoma", age=12).age == 12
    assert build(prompt="boy with osteosarkoma", diagnosis="osteosarcoma").morphology.code == (
        "9180/3"
    )
    assert blocks_of(
        build(prompt="ALL, only chemotherapy, then a transplant", blocks=["chemotherapy"])
    ) == {"chemotherapy"}


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("a -3-year-old with Ewing sarcoma", "age -3 is negative: give the age at diagnosis"),
        ("30-year-old with Ewing sarcoma", "age 30 is outside paediatric"),
        (
            "girl with ALL, only chemotherapy, then a transplant",
            "only chemotherapy but also names 'transplant' \\(hsct\\): remove 'only'",
        ),
        ("solo quimioterapia y después trasplante", "only quimioterapia but also names"),
        (
            "8-year-old with osteosarkoma",
            "unknown tumour in the prompt 'osteosarkoma': did you mean osteosarcoma \\(9180/3\\)",
        ),
        ("niño con linfoma de hodkin", "'linfoma de hodkin': did you mean linfoma de hodgkin"),
        ("boy with a pilomatrixoma", "'pilomatrixoma': no similar tumour"),
        ("Ewing sarcoma with a second tumour", "does not name it: write 'second tumour: <name>'"),
        ("Ewing sarcoma, second tumour: pilomatrixoma", "unknown second tumour 'pilomatrixoma'"),
        ("osteosarcoma, second tumour: osteosarcoma", "is the same as the first"),
        ("Ewing sarcoma, no chemotherapy or radiotherapy, relapse", "needs a first-line"),
    ],
)
def test_impossible_or_unclear_prompts_name_the_problem(prompt, message):
    with pytest.raises(RequestError, match=message):
        parse_request(prompt)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"diagnosis": "osteosarkoma"}, "unknown diagnosis 'osteosarkoma': did you mean osteo"),
        ({"diagnosis": "xyz"}, "no similar tumour in the ICD-O-3 vocabulary"),
        ({"diagnosis": "9999/3"}, "morphology 9999/3 is not in the vocabulary"),
        (
            {"second_tumour": "hodgkn lymfoma"},
            "unknown second_tumour .*did you mean hodgkin.* \\(9650/3\\)",
        ),
        ({"diagnosis": "osteosarcoma", "second_tumour": "osteosarcoma convencional"}, "same"),
        ({"diagnosis": "osteosarcoma", "blocks": ["others"], "relapse": True}, "first-line"),
        ({"prompt": "   "}, "the prompt is empty"),
    ],
)
def test_impossible_fields_name_the_problem(fields, message):
    with pytest.raises(RequestError, match=message):
        build(**fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"age": -1}, "-1 is negative: give the age at diagnosis in whole years, 0 to 25"),
        ({"age": 26}, "26 is outside paediatric and young-adult oncology"),
        ({"sex": "x"}, "Input should be 'female' or 'male'"),
        ({"language": "fr", "age": 3}, "'fr' is not a supported language: use en or es"),
        ({"blocks": ["magic"]}, "unknown treatment block 'magic': use chemotherapy"),
        ({"count": 101, "age": 3}, "less than or equal to 100"),
        ({"diagnosis": "x", "colour": "blue"}, "Extra inputs are not permitted"),
        ({"seed": 1}, "Field required"),
    ],
)
def test_field_checks(fields, message):
    with pytest.raises(ValidationError, match=message) as caught:
        RequestFields(**fields)
    assert len(caught.value.errors()) == 1  # no "prompt required" beside a bad field


def test_field_aliases():
    fields = RequestFields(blocks=["Quimioterapia", "TPH", "chemo", "otros"], language="es-ES")
    assert fields.blocks == ["chemotherapy", "hsct", "others"] and fields.language == "es"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("osteosarcoma", "9180/3"),
        ("Sarcoma de Ewing", "9364/3"),
        ("9663/3", "9663/3"),
        ("nodular-sclerosis Hodgkin lymphoma", "9663/3"),
        ("leucemia linfoblástica aguda", "9835/3"),
        ("metastatic Ewing sarcoma of the femur", "9364/3"),
        ("Hodgkin's lymphoma, nodular sclerosis", "9663/3"),  # the case study's wording
        ("Ewing\u2019s sarcoma", "9364/3"),
    ],
)
def test_tumour_names_codes_and_phrases_resolve(name, code):
    assert resolve_tumour(name, "diagnosis").code == code


@pytest.mark.parametrize(
    ("given", "kept"), [("es_MX", "es_MX"), ("en-gb", "en_GB"), ("PT_pt", "pt_PT"), (None, None)]
)
def test_a_locale_is_kept_as_faker_writes_it_and_names_the_record(given, kept):
    request = build_request(RequestFields(prompt="boy with Ewing sarcoma", locale=given))
    assert request.locale == kept
    assert ("locale" in request.prompt) == (given is not None)


@pytest.mark.parametrize("locale", ["xx_YY", "klingon", "es_XX"])
def test_an_unknown_locale_is_refused_naming_it_and_valid_ones(locale):
    with pytest.raises(ValidationError) as caught:
        RequestFields(prompt="boy with Ewing sarcoma", locale=locale)
    message = validation_message(caught.value)
    assert message.startswith(f"locale: unknown locale '{locale}'")
    assert "es_ES, es_MX" in message and "en_GB" in message


# -- POST /v1/patients and `clinsynth generate` ------------------------------------------


def api(tmp_path, model):
    settings = Settings(home=tmp_path)
    services = Services(make(model), RecordStore(open_database(settings.database.url)))
    return TestClient(create_app(settings, services))


def test_api_generates_from_structured_fields_alone(tmp_path):
    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    body = {"age": 9, "sex": "female", "diagnosis": "sarcoma de Ewing", "language": "es", "seed": 4}
    with api(tmp_path, model) as c:
        created = c.post("/v1/patients", json=body)
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["demographics"]["sex"] == "female"
    assert record["diagnosis"]["age_at_diagnosis"] == 9
    assert record["provenance"]["language"] == "es"
    assert "diagnosis: Ewing sarcoma (9364/3)" in record["provenance"]["request"]


def test_api_explicit_blocks_win_over_the_prompt(tmp_path):
    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    body = {"prompt": "boy with Ewing sarcoma, radiotherapy", "blocks": ["chemotherapy"]}
    with api(tmp_path, model) as c:
        record = c.post("/v1/patients", json=body | {"seed": 2}).json()
    assert record["chemotherapy"] and not record["radiotherapy"]


def test_api_count_returns_a_list_of_stored_records(tmp_path):
    model = FakeModel()
    for _ in range(2):
        model.enqueue(diagnosis_answer(), TREATMENT)
    with api(tmp_path, model) as c:
        created = c.post("/v1/patients", json={"prompt": "boy with Ewing sarcoma", "count": 2})
        assert created.status_code == 201, created.text
        records = created.json()
        assert isinstance(records, list) and len(records) == 2
        seeds = [r["provenance"]["seed"] for r in records]
        assert seeds[1] == seeds[0] + 1
        assert c.get("/v1/patients").json()["total"] == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "prompt: Field required unless one of age, sex, diagnosis, blocks, relapse"),
        ({"age": -2, "diagnosis": "osteosarcoma"}, "age: -2 is negative"),
        ({"language": "fr", "age": 3}, "language: 'fr' is not a supported language"),
        ({"locale": "xx_YY", "age": 3}, "locale: unknown locale 'xx_YY'"),
        ({"blocks": ["magic"]}, "blocks: unknown treatment block 'magic'"),
        ({"prompt": "boy", "count": 0}, "count: Input should be greater than or equal to 1"),
        ({"prompt": "boy", "second_tumor": "x"}, "second_tumor: Extra inputs are not permitted"),
    ],
)
def test_api_field_errors_are_422_with_a_message(tmp_path, body, message):
    model = FakeModel()
    with api(tmp_path, model) as c:
        reply = c.post("/v1/patients", json=body)
    assert reply.status_code == 422 and reply.json()["message"].startswith(message)
    assert model.calls == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"diagnosis": "osteosarkoma"}, "did you mean osteosarcoma (9180/3)"),
        ({"prompt": "girl with ALL, only chemotherapy, then a transplant"}, "only chemotherapy"),
        ({"diagnosis": "Ewing sarcoma", "second_tumour": "sarcoma de Ewing"}, "same as the first"),
        ({"diagnosis": "Ewing sarcoma", "blocks": [], "relapse": True}, "first-line treatment"),
        ({"prompt": "   "}, "the prompt is empty"),
    ],
)
def test_api_impossible_requests_are_422_with_the_reason(tmp_path, body, detail):
    model = FakeModel()
    with api(tmp_path, model) as c:
        reply = c.post("/v1/patients", json=body)
        assert reply.status_code == 422 and detail in reply.json()["detail"]
        assert c.get("/v1/patients").json()["total"] == 0
    assert model.calls == []


runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--age", "-3", "--diagnosis", "osteosarcoma"], "age: -3 is negative"),
        (["--diagnosis", "osteosarkoma"], "did you mean osteosarcoma (9180/3)"),
        (["-p", "ALL, only chemotherapy, then a transplant"], "only chemotherapy but also"),
        (["--block", "magic"], "unknown treatment block 'magic'"),
        (["--language", "fr", "--age", "4"], "'fr' is not a supported language"),
        (["--locale", "xx_YY", "--age", "4"], "locale: unknown locale 'xx_YY'"),
        ([], "nothing to generate: give a prompt or at least one of age, sex"),
        (["--diagnosis", "osteosarcoma", "--block", "others", "--relapse"], "needs a first-line"),
    ],
)
def test_cli_bad_requests_are_one_error_line_and_exit_2(clinsynth_env, args, message):
    result = runner.invoke(cli, ["generate", *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]


def test_cli_generates_from_options(clinsynth_env, monkeypatch):
    import service.components as components

    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    store = make(model).store
    monkeypatch.setattr(components, "build_knowledge_store", lambda s, engine=None: store)
    monkeypatch.setattr(components, "build_language_model", lambda s, backend=None: model)
    args = ["generate", "-p", "8-year-old girl with Ewing sarcoma", "--age", "11", "--sex", "male"]
    args += ["--block", "quimioterapia", "--language", "es", "--seed", "3", "--format", "json"]
    result = runner.invoke(cli, [*args, "--locale", "en_GB"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)[0]
    assert record["provenance"]["locale"] == "en_GB"
    assert record["demographics"]["first_surname"] in _surnames("en_GB")
    assert record["demographics"]["sex"] == "male"
    assert record["diagnosis"]["age_at_diagnosis"] == 11
    assert record["provenance"]["language"] == "es" and not record["radiotherapy"]
    assert "note: age: the field's 11 replaces the prompt's 8" in result.stderr


def _surnames(locale):
    import importlib

    return set(importlib.import_module(f"faker.providers.person.{locale}").Provider.last_names)


@pytest.mark.parametrize(
    ("language", "locale", "expected"),
    [
        ("es", None, "es_ES"),
        ("en", None, "es_ES"),
        ("en", "en_GB", "en_GB"),
        ("es", "es_MX", "es_MX"),
    ],
)
def test_names_are_spanish_whatever_the_language_unless_a_locale_is_asked(
    tmp_path, language, locale, expected
):
    model = FakeModel().enqueue(diagnosis_answer(), TREATMENT)
    body = {"prompt": "boy with Ewing sarcoma", "language": language, "seed": 8}
    if locale:
        body["locale"] = locale
    with api(tmp_path, model) as c:
        record = c.post("/v1/patients", json=body).json()
    people = record["demographics"]
    assert {people["first_surname"], people["second_surname"]} <= _surnames(expected)
    assert record["provenance"]["language"] == language
    assert record["provenance"]["locale"] == expected


def test_the_configured_locale_is_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("CLINSYNTH_LOCALE", "es-mx")
    assert Settings(home=tmp_path).records.locale == "es_MX"
    monkeypatch.setenv("CLINSYNTH_LOCALE", "xx_YY")
    with pytest.raises(ValidationError, match="unknown locale 'xx_YY'"):
        Settings(home=tmp_path)


def test_a_batch_keeps_its_locale_with_its_request():
    from service.batches.models import BatchRequest, parsed_request

    stored = BatchRequest(prompt="boy with Ewing sarcoma", count=3, locale="pt-PT").stored_request()
    assert stored["locale"] == "pt_PT"
    assert parsed_request(stored).locale == "pt_PT"


@pytest.mark.parametrize(
    ("prompt", "at_diagnosis", "now"),
    [
        ("18-year-old patient who had the tumor at 13 with Ewing sarcoma", 13, 18),
        ("Paciente de 16 años, diagnosticada a los 9 años de un osteosarcoma", 9, 16),
        ("8-year-old boy with Ewing sarcoma", 8, None),
    ],
)
def test_the_age_at_diagnosis_is_told_apart_from_the_age_now(prompt, at_diagnosis, now):
    request = parse_request(prompt)
    assert (request.age, request.age_now) == (at_diagnosis, now)


def test_chemo_and_radio_are_the_two_blocks():
    request = parse_request("Hodgkin lymphoma, nodular sclerosis, with chemo and radio")
    assert request.blocks == ["chemotherapy", "radiotherapy"]
    assert request.morphology.code == "9663/3"


@pytest.mark.parametrize(
    ("prompt", "member", "not_member"),
    [
        ("paciente de 6 años con carcinoma", "8170/3", "9364/3"),
        ("girl with leukemia", "9837/3", "9650/3"),
    ],
)
def test_a_catch_all_name_asks_for_any_tumour_it_covers(prompt, member, not_member):
    wanted = parse_request(prompt).morphology
    assert member in wanted.members and not_member not in wanted.members
