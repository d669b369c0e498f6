"""The bounded repair loop: generate, validate, and regenerate what failed.

A record that fails an error-severity rule is generated again, at most ``max_rounds``
times, and the best attempt is kept (fewest error failures; the first one on a tie). The
validation messages of the failed attempt go to the generator with the retry, so a
backend that reads them (``PatientGenerator.generate_one(..., feedback=...)``) can steer
the blocks they name; every retry also gets a new seed derived from the original, so the
whole loop stays reproducible. Nothing is dropped: the first validation result is kept
next to the final one (eval reports both).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from service.generation import GeneratedPatient, PatientGenerator
from service.records import PatientRecord
from service.requests import ParsedRequest, seed_at
from service.validation import ValidationResult

# Seeds of repair attempts: far from the seed + index of a batch's neighbours.
REPAIR_SEED_STEP = 1_000_003


class RecordValidator(Protocol):
    """What the loop needs of ``service.validation.Validator``."""

    def validate(self, record: PatientRecord) -> ValidationResult: ...


@dataclass
class Repaired:
    made: GeneratedPatient
    first: ValidationResult
    final: ValidationResult
    rounds: int  # regenerations done (0: the first attempt passed or no repair allowed)
    seconds: float  # all attempts together


def errors_of(result: ValidationResult) -> int:
    return sum(f.severity == "error" for f in result.failures)


class RepairLoop:
    def __init__(
        self,
        generator: PatientGenerator,
        validate: Callable[..., ValidationResult],
        *,
        max_rounds: int = 2,
    ):
        self.generator = generator
        self.validate = validate
        self.max_rounds = max_rounds
        self._takes_feedback = "feedback" in inspect.signature(generator.generate_one).parameters

    def generate(self, request: ParsedRequest, *, seed: int) -> Repaired:
        made = self.generator.generate_one(request, seed=seed)
        first = best = self.validate(made.record)
        kept, seconds, rounds = made, made.seconds, 0
        while errors_of(best) and rounds < self.max_rounds:
            rounds += 1
            retry_seed = seed_at(seed, rounds * REPAIR_SEED_STEP)
            if self._takes_feedback:
                steer: Callable[..., GeneratedPatient] = self.generator.generate_one
                attempt = steer(
                    request, seed=retry_seed, feedback=[f.message for f in best.failures]
                )
            else:
                attempt = self.generator.generate_one(request, seed=retry_seed)
            seconds += attempt.seconds
            result = self.validate(attempt.record)
            if errors_of(result) < errors_of(best):
                kept, best = attempt, result
        # The kept record answers the original request and seed: its id must not change
        # with the attempt that produced it, or a reproducible record would get new ids.
        if kept is not made:
            record = kept.record.model_copy(update={"record_id": made.record.record_id})
            kept = GeneratedPatient(record, kept.seconds)
            best = best.model_copy(update={"record_id": record.record_id})
        return Repaired(kept, first, best, rounds, seconds)


@dataclass
class Checked:
    """A record as it is stored: the kept attempt and its validation (None: not validated)."""

    made: GeneratedPatient
    validation: ValidationResult | None
    rounds: int = 0

    @property
    def validation_json(self) -> dict[str, Any] | None:
        return self.validation.model_dump(mode="json") if self.validation else None


def generate_checked(
    generator: PatientGenerator,
    validator: RecordValidator | None,
    request: ParsedRequest,
    *,
    seed: int,
    max_rounds: int,
) -> Checked:
    """One record, validated and repaired when a validator is configured.

    What ``POST /v1/patients``, ``clinsynth generate`` and batch items all do, so a stored
    record always carries the validation of the attempt that was kept."""
    if validator is None:
        return Checked(generator.generate_one(request, seed=seed), None)
    repaired = RepairLoop(generator, validator.validate, max_rounds=max_rounds).generate(
        request, seed=seed
    )
    made = GeneratedPatient(repaired.made.record, repaired.seconds)
    return Checked(made, repaired.final, repaired.rounds)
