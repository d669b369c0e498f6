"""The bounded repair loop: generate, validate, and regenerate what failed.

A record that fails an error-severity rule is generated again, at most ``max_rounds``
times, and the best attempt is kept (fewest error failures; the first one on a tie). The
validation messages of the failed attempt go to the generator with the retry
(``PatientGenerator.generate_one(..., feedback=...)``), which steers the blocks they
name; every retry also gets a new seed derived from the original, so the whole loop stays
reproducible. Nothing is dropped: the first validation result is kept
next to the final one (eval reports both).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from service.generation.generator import GeneratedPatient, PatientGenerator
from service.generation.options import DEFAULT_REPAIR_ROUNDS
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
        max_rounds: int = DEFAULT_REPAIR_ROUNDS,
    ):
        self.generator = generator
        self.validate = validate
        self.max_rounds = max_rounds

    def generate(
        self, request: ParsedRequest, *, seed: int, record_id: str | None = None
    ) -> Repaired:
        """The best attempt, under ``record_id`` (default: the first attempt's id, which
        derives from the request and seed, so a reproducible record keeps its id whichever
        attempt was kept)."""
        made = self.generator.generate_one(request, seed=seed)
        first = best = self.validate(made.record)
        kept, seconds, rounds = made, made.seconds, 0
        while errors_of(best) and rounds < self.max_rounds:
            rounds += 1
            retry_seed = seed_at(seed, rounds * REPAIR_SEED_STEP)
            attempt = self.generator.generate_one(
                request, seed=retry_seed, feedback=[f.message for f in best.failures]
            )
            seconds += attempt.seconds
            result = self.validate(attempt.record)
            if errors_of(result) < errors_of(best):
                kept, best = attempt, result
        record_id = record_id or made.record.record_id
        if kept.record.record_id != record_id:
            kept = GeneratedPatient(
                kept.record.model_copy(update={"record_id": record_id}), kept.seconds
            )
            best = best.model_copy(update={"record_id": record_id})
        return Repaired(kept, first, best, rounds, seconds)
