"""Settings: one name per value, flat environment variables, the README's table."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from service.settings import GROUPS, Settings, configuration_problem, settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_settings_table_is_the_generated_one():
    text = README.read_text(encoding="utf-8")
    start, end = "<!-- settings-table:start -->\n", "\n<!-- settings-table:end -->"
    documented = text[text.index(start) + len(start) : text.index(end)]
    assert documented == settings_table(), "run `python -m service.settings` into README.md"


def test_every_setting_has_a_description_and_one_variable():
    names = [group.env_name(field) for group in GROUPS.values() for field in group.model_fields]
    assert len(names) == len(set(names)), "two settings read the same variable"
    for group in GROUPS.values():
        for name, field in group.model_fields.items():
            assert field.description, f"{group.env_name(name)} has no description"
    for name in ("CHROMA_PATH", "CHROMA_COLLECTION", "EMBEDDING_BATCH_SIZE", "LLM_LAZY_GRAMMAR"):
        assert f"`CLINSYNTH_{name}`" in settings_table()
    for name in ("SERVE_WORKER", "JOBS_STALLED_SECONDS", "BATCH_ATTEMPTS"):
        assert f"`CLINSYNTH_{name}`" in settings_table()


def test_flat_variables_reach_their_group(clinsynth_env, monkeypatch):
    monkeypatch.setenv("CLINSYNTH_LLM_N_CTX", "2048")
    monkeypatch.setenv("CLINSYNTH_CHROMA_COLLECTION", "protocols")
    monkeypatch.setenv("CLINSYNTH_SERVE_WORKER", "false")
    monkeypatch.setenv("CLINSYNTH_DATABASE_URL", "postgresql+psycopg://db/x")
    settings = Settings()
    assert settings.llm.n_ctx == 2048 and settings.knowledge.chroma_collection == "protocols"
    assert settings.batches.serve_worker is False
    assert settings.database.url == "postgresql+psycopg://db/x"


def test_paths_default_under_home_and_flat_keywords_set_one_value(tmp_path, clinsynth_env):
    settings = Settings(home=tmp_path, port=9000, llm_backend="fake")
    assert settings.database.url == f"sqlite:///{tmp_path / 'clinsynth.db'}"
    assert settings.knowledge.chroma_path == tmp_path / "chroma"
    assert (settings.api.port, settings.api.host, settings.llm.backend) == (
        9000,
        "127.0.0.1",
        "fake",
    )
    moved = settings.with_values(host="0.0.0.0", llm_n_ctx=1024)
    assert (moved.api.host, moved.api.port, moved.llm.n_ctx) == ("0.0.0.0", 9000, 1024)
    assert settings.api.host == "127.0.0.1"  # the copy leaves the original alone


def test_a_bad_value_is_named_by_its_variable(clinsynth_env, monkeypatch):
    monkeypatch.setenv("CLINSYNTH_JOBS_STALLED_SECONDS", "1")
    with pytest.raises(ValidationError) as invalid:
        Settings()
    assert configuration_problem(invalid.value).startswith("CLINSYNTH_JOBS_STALLED_SECONDS='1'")
