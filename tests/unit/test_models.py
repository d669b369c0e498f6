"""The model interface's pieces that need no model: the fake, scores, schema handling and
the OpenAI backend's configuration errors (the real backends are integration tests)."""

import math
import socket
import sys

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from models.base import Completion, ScoringUnsupported, TextScore
from models.fake import FakeModel, FakeResponse
from models.openai_compat import OpenAICompatModel, schema_errors, strict_schema
from service.cli import app
from service.components import build_language_model
from service.settings import Settings, configuration_problem

MESSAGES = [{"role": "user", "content": "hi"}]
SCHEMA = {
    "type": "object",
    "properties": {"tumour": {"enum": ["Ewing sarcoma"]}, "sites": {"type": "array"}},
    "required": ["tumour"],
}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fake_returns_queued_responses_in_order_and_records_calls():
    model = FakeModel().enqueue({"a": 1}, "free text", FakeResponse("{}", prompt_tokens=7))
    first = model.complete_json(MESSAGES, SCHEMA, seed=3, max_tokens=9, temperature=1.0)
    second = model.complete_text(MESSAGES, seed=4, max_tokens=9, temperature=1.0)
    third = model.complete_json(MESSAGES, SCHEMA, seed=5, max_tokens=9, temperature=1.0)
    assert (first.text, second.text, third.prompt_tokens) == ('{"a": 1}', "free text", 7)
    assert [(c.kind, c.seed, c.schema) for c in model.calls] == [
        ("json", 3, SCHEMA),
        ("text", 4, None),
        ("json", 5, SCHEMA),
    ]
    with pytest.raises(AssertionError, match="no queued response"):
        model.complete_text(MESSAGES, seed=1, max_tokens=1, temperature=0.0)


def test_fake_scores_only_what_was_queued():
    model = FakeModel().enqueue_score(TextScore(["a", "b"], [-1.0, -3.0]))
    assert model.score("a b").perplexity == pytest.approx(math.exp(2.0))
    assert model.scored == ["a b"]
    with pytest.raises(ScoringUnsupported):
        model.score("again")


def test_text_score_mean_and_perplexity():
    score = TextScore(tokens=["x", "y"], logprobs=[math.log(0.5), math.log(0.125)])
    assert score.mean_logprob == pytest.approx(math.log(0.25))
    assert score.perplexity == pytest.approx(4.0)


def test_completion_timings_default_to_unknown():
    completion = Completion("{}", prompt_tokens=1, completion_tokens=1, seconds=0.5)
    assert completion.prompt_seconds is None and completion.schema_errors == ()


def test_strict_schema_closes_every_object_without_touching_the_original():
    schema = {"type": "object", "properties": {"a": {"anyOf": [{"type": "object"}]}}}
    strict = strict_schema(schema)
    assert strict["additionalProperties"] is False
    assert strict["properties"]["a"]["anyOf"][0]["additionalProperties"] is False
    assert "additionalProperties" not in schema


def test_schema_errors_name_what_is_wrong():
    assert schema_errors('{"tumour": "Ewing sarcoma"}', SCHEMA) == ()
    assert schema_errors("{not json", SCHEMA)[0].startswith("not JSON")
    (error,) = schema_errors('{"tumour": "flu"}', SCHEMA)
    assert error.startswith("tumour:") and "flu" in error


def test_openai_without_url_or_key_is_a_clear_error():
    with pytest.raises(ValueError, match="CLINSYNTH_OPENAI_BASE_URL"):
        OpenAICompatModel(base_url=None, api_key=None, model="m")


def test_openai_unreachable_server_is_a_clear_error():
    url = f"http://127.0.0.1:{closed_port()}/v1"
    with pytest.raises(RuntimeError, match="cannot reach the OpenAI-compatible server"):
        OpenAICompatModel(base_url=url, api_key=None, model="m", timeout=5)


def test_openai_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(RuntimeError, match=r"clinsynth\[openai\]"):
        OpenAICompatModel(base_url="http://127.0.0.1:1/v1", api_key=None, model="m")


def test_settings_accept_the_openai_backend(clinsynth_env, monkeypatch):
    monkeypatch.setenv("CLINSYNTH_LLM_BACKEND", "openai")
    monkeypatch.setenv("CLINSYNTH_OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("CLINSYNTH_OPENAI_MODEL", "qwen")
    monkeypatch.setenv("CLINSYNTH_OPENAI_STRUCTURED", "json_object")
    monkeypatch.setenv("CLINSYNTH_OPENAI_PROMPT_PRICE_PER_1K", "0.01")
    settings = Settings()
    assert (settings.llm.backend, settings.openai.model, settings.openai.structured) == (
        "openai",
        "qwen",
        "json_object",
    )
    assert settings.openai.prompt_price_per_1k == 0.01


def test_settings_reject_an_unknown_structured_mode(clinsynth_env, monkeypatch):
    monkeypatch.setenv("CLINSYNTH_OPENAI_STRUCTURED", "xml")
    with pytest.raises(ValidationError) as invalid:
        Settings()
    assert "CLINSYNTH_OPENAI_STRUCTURED='xml'" in configuration_problem(invalid.value)


def test_build_language_model_picks_the_backend_asked_for(clinsynth_env):
    settings = Settings(llm_backend="fake")
    assert build_language_model(settings).backend == "fake"
    with pytest.raises(ValueError, match="CLINSYNTH_OPENAI_BASE_URL"):
        build_language_model(settings, "openai")


def test_compare_with_unreachable_openai_is_one_line_exit_2(clinsynth_env, monkeypatch):
    monkeypatch.setenv("CLINSYNTH_OPENAI_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    monkeypatch.setenv("CLINSYNTH_OPENAI_MODEL", "m")
    monkeypatch.setenv("CLINSYNTH_OPENAI_TIMEOUT", "5")
    result = CliRunner().invoke(app, ["compare", "--prompt", "x", "--backends", "openai"])
    assert result.exit_code == 2
    assert "error: cannot start: cannot reach the OpenAI-compatible server" in result.stderr
    assert "Traceback" not in result.output


def test_compare_rejects_unknown_backends(clinsynth_env):
    result = CliRunner().invoke(app, ["compare", "--prompt", "x", "--backends", "local,gpt"])
    assert result.exit_code == 2
    assert "unknown backend(s) gpt" in result.stderr


def test_generator_retries_an_answer_with_schema_errors_then_reports_it():
    from service.generation.generator import GenerationError
    from tests.unit.test_generation import make

    bad = FakeResponse('{"diagnosis": {}}', schema_errors=("diagnosis: missing tumour",))
    model = FakeModel().enqueue(bad, bad)
    with pytest.raises(GenerationError) as caught:
        make(model).generate("boy with Ewing sarcoma", seed=1)
    assert caught.value.raw == '{"diagnosis": {}}'
    assert len(model.calls) == 2
