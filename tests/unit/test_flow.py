"""The one patient flow (generate -> validate -> repair -> store) with a scripted generator."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from service.generation.flow import FailureLog, GenerationFailed, PatientFlow
from service.generation.generator import GenerationError
from service.records import PatientRecord
from service.storage.database import open_database
from service.storage.patients import RecordStore
from service.validation import ValidationResult
from tests.unit.test_repair import REQUEST, ScriptedGenerator, fake_validate


class Validator:
    validate = staticmethod(fake_validate)


class BrokenValidator:
    def validate(self, record: PatientRecord) -> ValidationResult:
        raise RuntimeError("rules file unreadable")


@pytest.fixture
def records(tmp_path: Path) -> RecordStore:
    return RecordStore(open_database(f"sqlite:///{tmp_path / 'flow.db'}"))


def test_without_a_validator_the_record_is_stored_unvalidated(records):
    checked = PatientFlow(ScriptedGenerator(), records, repair_rounds=2).create(REQUEST, seed=1)
    assert checked.validation is None
    assert records.get(checked.record.record_id) == checked.record
    assert records.get_validation(checked.record.record_id) is None


def test_the_kept_attempt_is_stored_with_its_own_validation(records):
    flow = PatientFlow(ScriptedGenerator(bad={3}), records, validator=Validator(), repair_rounds=1)
    checked = flow.create(REQUEST, seed=3)
    assert checked.rounds == 1 and checked.validation is not None and checked.validation.passed
    # the record keeps the id of the request and seed, whichever attempt was kept
    assert checked.record.record_id == "id-3" == checked.validation.record_id
    stored = records.get_validation("id-3")
    assert stored is not None and stored.passed and stored.record_id == "id-3"


def test_a_given_record_id_is_set_once_on_record_and_validation(records):
    flow = PatientFlow(ScriptedGenerator(bad={4}), records, validator=Validator(), repair_rounds=1)
    checked = flow.make(REQUEST, seed=4, record_id="item-7")
    assert checked.record.record_id == "item-7"
    assert checked.validation is not None and checked.validation.record_id == "item-7"
    unvalidated = PatientFlow(ScriptedGenerator(), records).make(REQUEST, seed=4, record_id="x")
    assert unvalidated.record.record_id == "x"


def test_create_all_stores_nothing_unless_every_record_was_made(records, tmp_path):
    flow = PatientFlow(
        ScriptedGenerator(broken={11}), records, failures=FailureLog(tmp_path / "failures")
    )
    with pytest.raises(GenerationFailed):
        flow.create_all(REQUEST, seed=10, count=3)
    assert records.count() == 0
    made = flow.create_all(REQUEST, seed=20, count=2)
    assert [c.record.provenance.seed for c in made] == [20, 21] and records.count() == 2


def test_a_failed_generation_keeps_its_raw_output_and_reason(records, tmp_path):
    flow = PatientFlow(
        ScriptedGenerator(broken={5}), records, failures=FailureLog(tmp_path / "failures")
    )
    with pytest.raises(GenerationFailed) as failed:
        flow.create(REQUEST, seed=5)
    kept = json.loads(failed.value.kept.read_text(encoding="utf-8"))
    assert kept["seed"] == 5 and kept["raw"] == "{" and "no JSON" in kept["error"]
    assert kept["prompt"] == REQUEST.prompt and failed.value.raw == "{"
    assert records.count() == 0


def test_without_a_failure_log_the_generation_error_is_raised_as_is(records):
    with pytest.raises(GenerationError) as failed:
        PatientFlow(ScriptedGenerator(broken={5}), records).make(REQUEST, seed=5)
    assert not isinstance(failed.value, GenerationFailed)


def test_a_broken_validator_fails_the_record_unless_tolerated(records, caplog):
    strict = PatientFlow(ScriptedGenerator(), records, validator=BrokenValidator())
    with pytest.raises(RuntimeError, match="rules file"):
        strict.make(REQUEST, seed=1)
    tolerant = PatientFlow(
        ScriptedGenerator(), records, validator=BrokenValidator(), tolerate_validator_errors=True
    )
    with caplog.at_level(logging.ERROR):
        checked = tolerant.make(REQUEST, seed=1)
    assert checked.validation is None and "kept unvalidated" in caplog.text
