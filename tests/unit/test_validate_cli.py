"""``clinsynth validate``: files users bring, stored batches, output formats, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.records import PatientRecord
from service.settings import Settings
from service.storage.database import open_database
from service.storage.patients import RecordStore
from service.validation import ValidationResult
from tests.records import full_record_data as spanish_record_data
from tests.unit.test_rules import BREAKS

runner = CliRunner()
# Without a knowledge store holding the test chunks, grounding is checked elsewhere.
PLANTED = {rule: case for rule, case in BREAKS.items() if not rule.startswith("grounding.")}


def full_record_data() -> dict[str, Any]:
    """The shared record, told English: its clinical words are the vocabulary's English
    terms (a Spanish one would also be warned of them by language.spanish_terms)."""
    data = spanish_record_data()
    data["provenance"]["language"] = "en"
    return data


def planted(rule_id: str, number: int) -> dict[str, Any]:
    data = full_record_data()
    for edit in PLANTED[rule_id].edits:
        edit(data)
    data["record_id"] = f"planted-{number:02d}"
    return data


def clean(record_id: str = "clean-00") -> dict[str, Any]:
    return {**full_record_data(), "record_id": record_id}


def write(tmp_path: Path, content: str, name: str = "records.json") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def validate(*args: str):
    return runner.invoke(app, ["validate", *args])


def test_planted_faults_are_flagged_by_the_right_rule_ids(clinsynth_env, tmp_path):
    # Without a store (--no-grounding) no page text is read: faults seen only in a heading
    # above the quote are not planted here.
    rules = sorted(r for r in PLANTED if not PLANTED[r].pages)
    records = [clean()] + [planted(rule, n) for n, rule in enumerate(rules, start=1)]
    path = write(tmp_path, json.dumps(records))
    result = validate(str(path), "--format", "json", "--no-grounding")
    assert result.exit_code == 1, result.stderr
    results = json.loads(result.stdout)
    assert [r["record_id"] for r in results] == [r["record_id"] for r in records]
    assert results[0]["failures"] == [] and results[0]["passed"]
    for rule, outcome in zip(rules, results[1:], strict=True):
        expected = {rule} | {r for r in PLANTED[rule].also if not r.startswith("grounding.")}
        assert {f["rule_id"] for f in outcome["failures"]} == expected, rule
        assert all(f["message"] for f in outcome["failures"])
        assert outcome["grounding"]["skipped"]


def test_text_output_has_a_line_per_failure_and_a_total(clinsynth_env, tmp_path):
    records = [clean(), planted("radiotherapy.boost", 1), planted("hsct.autologous_gvhd", 2)]
    result = validate(str(write(tmp_path, json.dumps(records))), "--no-grounding")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("planted-01  error    radiotherapy.boost  radiotherapy pelvis")
    assert lines[1].startswith("planted-02  warning  hsct.autologous_gvhd  autologous HSCT")
    assert lines[2] == ("3 record(s): 2 passed, 1 failed (1 errors, 1 warnings); grounding skipped")


def test_warnings_alone_exit_zero(clinsynth_env, tmp_path):
    path = write(tmp_path, json.dumps(planted("hsct.autologous_gvhd", 1)))
    result = validate(str(path), "--no-grounding")
    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed" in result.stdout


def test_ndjson_and_a_single_object_are_accepted(clinsynth_env, tmp_path):
    lines = "\n".join(json.dumps(r) for r in [clean(), planted("codes.drug_atc", 1)]) + "\n"
    result = validate(str(write(tmp_path, lines, "records.ndjson")), "--no-grounding")
    assert result.exit_code == 1
    assert "planted-01  error    codes.drug_atc" in result.stdout
    single = write(tmp_path, json.dumps(clean(), indent=2), "one.json")
    assert validate(str(single), "--no-grounding").exit_code == 0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('[\n  {"record_id": "a",\n  "summary" "x"}\n]', "invalid JSON at line 3, column 13"),
        ('{"record_id": "a"}\n{"record_id": \n', "invalid JSON at line 2, column 15"),
        ("", "the file is empty"),
        ("[]", "contains no records"),
        ("[1]", "record 1 is a JSON int, not an object"),
    ],
)
def test_malformed_files_name_the_problem_and_position(clinsynth_env, tmp_path, content, problem):
    result = validate(str(write(tmp_path, content)), "--no-grounding")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "error:" in result.stderr and problem in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_a_record_off_the_schema_names_its_index_and_location(clinsynth_env, tmp_path):
    bad = clean("bad")
    bad["diagnosis"]["icdo3_morphology"] = "9364"
    bad["chemotherapy"][1]["dose"] = -3
    result = validate(str(write(tmp_path, json.dumps([clean(), bad]))), "--no-grounding")
    assert result.exit_code == 2
    assert "record 2 does not fit the patient record schema" in result.stderr
    assert "diagnosis.icdo3_morphology: String should match pattern" in result.stderr
    assert "chemotherapy[1].dose" in result.stderr


def test_missing_file_and_conflicting_arguments(clinsynth_env, tmp_path):
    missing = validate(str(tmp_path / "nope.json"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    both = validate(str(write(tmp_path, "[]")), "--batch", "b1")
    assert both.exit_code == 2 and "not both" in both.stderr


def store_records(home: Path) -> RecordStore:
    store = RecordStore(open_database(Settings(home=home).database.url))
    for index, data in enumerate([clean("b1-0"), planted("sex.sites", 1)]):
        data["record_id"] = f"b1-{index}"
        store.save_batch_item(PatientRecord(**data), batch_id="b1", batch_index=index)
    store.save(PatientRecord(**clean("loose")))
    return store


def test_a_stored_batch_is_validated_and_results_are_stored(clinsynth_env):
    store = store_records(clinsynth_env)
    result = validate("--batch", "b1", "--format", "json", "--no-grounding")
    assert result.exit_code == 1, result.stderr
    results = json.loads(result.stdout)
    assert [r["record_id"] for r in results] == ["b1-0", "b1-1"]
    assert [f["rule_id"] for f in results[1]["failures"]] == ["sex.sites"]
    assert store.get_validation("b1-1") == ValidationResult.model_validate(results[1])
    assert store.get_validation("loose") is None
    unknown = validate("--batch", "nope", "--no-grounding")
    assert unknown.exit_code == 2 and "no stored records in batch nope" in unknown.stderr


def test_without_arguments_every_stored_record_is_validated(clinsynth_env):
    store = store_records(clinsynth_env)
    result = validate("--no-grounding")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1].startswith("3 record(s): 2 passed, 1 failed")
    assert store.get_validation("loose") is not None


def test_grounding_against_an_empty_knowledge_store_fails_citations(clinsynth_env, tmp_path):
    result = validate(str(write(tmp_path, json.dumps(clean()))), "--format", "json")
    assert result.exit_code == 1
    assert "knowledge store is empty" in result.stderr
    [outcome] = json.loads(result.stdout)
    assert {f["rule_id"] for f in outcome["failures"]} == {"grounding.citation_exists"}
    assert outcome["grounding"] == {"items": 10, "verified": 0, "skipped": False}


def test_results_are_stored_as_json_in_postgresql(clinsynth_env, monkeypatch):
    from tests.conftest import fresh_database, postgres_or_skip

    url = postgres_or_skip()
    fresh_database(url).dispose()
    monkeypatch.setenv("CLINSYNTH_DATABASE_URL", url)
    engine = open_database(url)
    store = RecordStore(engine)
    data = planted("hsct.blood_group_allogeneic", 1)
    store.save_batch_item(PatientRecord(**data), batch_id="pg", batch_index=0)
    result = validate("--batch", "pg", "--format", "json", "--no-grounding")
    assert result.exit_code == 1, result.stderr
    [outcome] = json.loads(result.stdout)
    stored = store.get_validation("planted-01")
    engine.dispose()  # a pooled PostgreSQL connection left to the GC warns in a later test
    assert stored == ValidationResult.model_validate(outcome)
    assert outcome["failures"][0]["message"].startswith("blood group A+ after allogeneic HSCT")
