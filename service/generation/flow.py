"""The one way a patient is made: generate -> validate -> repair -> store.

``clinsynth generate``, ``POST /v1/patients`` and batch items all go through
``PatientFlow``, so a stored record always carries the validation of the attempt that was
kept, and a generation that fails is never lost: its raw output and the reason are kept
(``FailureLog`` for single records, the batch's failures table for batch items).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from service.generation.blocks.base import GenerationError
from service.generation.generator import GeneratedPatient, PatientGenerator
from service.generation.repair import RecordValidator, RepairLoop
from service.records import PatientRecord
from service.requests import ParsedRequest, seed_at
from service.storage.patients import RecordStore
from service.validation import ValidationResult

log = logging.getLogger(__name__)


@dataclass
class Checked:
    """A record as it is stored: the kept attempt and its validation (None: not validated)."""

    made: GeneratedPatient
    validation: ValidationResult | None
    rounds: int = 0

    @property
    def record(self) -> PatientRecord:
        return self.made.record


class FailureLog:
    """Failed generations kept as JSON files (prompt, seed, error, the model's raw output)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def keep(self, request: ParsedRequest, seed: int, exc: GenerationError) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-seed{seed}.json"
        content = {"prompt": request.prompt, "seed": seed, "error": str(exc), "raw": exc.raw}
        path.write_text(json.dumps(content, ensure_ascii=False, indent=2), encoding="utf-8")
        return path


class GenerationFailed(GenerationError):
    """A generation failure whose raw output and reason were kept in the file ``kept``."""

    def __init__(self, cause: GenerationError, kept: Path):
        super().__init__(str(cause), raw=cause.raw)
        self.kept = kept


class _ValidatorFailed(Exception):
    """The validator raised (a bug or a broken rules file), as opposed to a record failing."""


class _GuardedValidator:
    def __init__(self, validator: RecordValidator):
        self.validator = validator

    def validate(self, record: PatientRecord) -> ValidationResult:
        try:
            return self.validator.validate(record)
        except Exception as exc:
            raise _ValidatorFailed(str(exc)) from exc


class PatientFlow:
    """Generate, validate and repair (at most ``repair_rounds`` regenerations of a record
    failing an error rule), then store. Without a ``validator`` records are stored
    unvalidated. ``tolerate_validator_errors`` (batch items) keeps a record unvalidated
    when the validator itself raises, instead of losing the record."""

    def __init__(
        self,
        generator: PatientGenerator,
        records: RecordStore,
        *,
        validator: RecordValidator | None = None,
        repair_rounds: int = 0,
        failures: FailureLog | None = None,
        tolerate_validator_errors: bool = False,
    ):
        self.generator = generator
        self.records = records
        self.validator = validator
        self.repair_rounds = repair_rounds
        self.failures = failures
        self.tolerate_validator_errors = tolerate_validator_errors

    def make(self, request: ParsedRequest, *, seed: int, record_id: str | None = None) -> Checked:
        """One record, validated and repaired, not stored. GenerationError when the model's
        output cannot be turned into a record (raw output kept where a FailureLog is)."""
        try:
            return self._checked(request, seed, record_id)
        except GenerationError as exc:
            if self.failures is None:
                raise
            raise GenerationFailed(exc, self.failures.keep(request, seed, exc)) from exc

    def _checked(self, request: ParsedRequest, seed: int, record_id: str | None) -> Checked:
        if self.validator is None:
            return self._unvalidated(request, seed, record_id)
        validator: RecordValidator = self.validator
        if self.tolerate_validator_errors:
            validator = _GuardedValidator(validator)
        loop = RepairLoop(self.generator, validator.validate, max_rounds=self.repair_rounds)
        try:
            repaired = loop.generate(request, seed=seed, record_id=record_id)
        except _ValidatorFailed:
            log.exception("validating a record failed; the record is kept unvalidated")
            return self._unvalidated(request, seed, record_id)
        made = GeneratedPatient(repaired.made.record, repaired.seconds)
        return Checked(made, repaired.final, repaired.rounds)

    def _unvalidated(self, request: ParsedRequest, seed: int, record_id: str | None) -> Checked:
        made = self.generator.generate_one(request, seed=seed)
        if record_id is not None:
            made = GeneratedPatient(
                made.record.model_copy(update={"record_id": record_id}), made.seconds
            )
        return Checked(made, None)

    def create(self, request: ParsedRequest, *, seed: int) -> Checked:
        """Make one record and store it with its validation."""
        checked = self.make(request, seed=seed)
        self.store([checked])
        return checked

    def create_all(self, request: ParsedRequest, *, seed: int, count: int) -> list[Checked]:
        """Make ``count`` records (seeds ``seed``, ``seed + 1``...) and store them in one
        transaction, only when all of them were made."""
        made = [self.make(request, seed=seed_at(seed, index)) for index in range(count)]
        self.store(made)
        return made

    def store(self, checked: Sequence[Checked]) -> None:
        self.records.save_all(
            [(c.made.record, c.made.seconds) for c in checked],
            validations={c.record.record_id: c.validation for c in checked if c.validation},
        )

    def create_batch_item(
        self, request: ParsedRequest, *, seed: int, batch_id: str, batch_index: int, record_id: str
    ) -> bool:
        """Make a batch item under ``record_id`` and store it exactly once; False when the
        item was already stored (a restarted or concurrent worker did it)."""
        checked = self.make(request, seed=seed, record_id=record_id)
        return self.records.save_batch_item(
            checked.record,
            batch_id=batch_id,
            batch_index=batch_index,
            seconds=checked.made.seconds,
            validation=checked.validation,
        )
