"""What a rule check sees, and the registry that binds check names (in rules.toml) to code.

A check is a function of a ``CheckContext`` that yields one dict of offending values per
problem it finds (nothing: the rule passed). The rule's message template in rules.toml is
formatted with those values, so every message names what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from service.records import (
    ChemotherapyAdministration,
    Diagnosis,
    PatientRecord,
    RadiotherapyCourse,
    Surgery,
)

if TYPE_CHECKING:
    from service.validation.bounds import Bounds
    from service.validation.codes import Vocabulary
    from service.validation.grounding import ChunkLookup, GroundingReport

Offending = dict[str, Any]
CheckFunction = Callable[["CheckContext"], Iterable[Offending]]


@dataclass(frozen=True)
class CheckSpec:
    name: str
    function: CheckFunction
    needs_chunks: bool  # grounding checks: skipped when no chunk lookup is configured


CHECKS: dict[str, CheckSpec] = {}


def check(*, needs_chunks: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under its function name (the ``check`` key of a rule)."""

    def register(function: CheckFunction) -> CheckFunction:
        name = function.__name__
        if name in CHECKS:
            raise ValueError(f"check {name!r} is registered twice")
        CHECKS[name] = CheckSpec(name, function, needs_chunks)
        return function

    return register


@dataclass
class CheckContext:
    record: PatientRecord
    vocabulary: Vocabulary
    bounds: Bounds
    reference_date: date
    chunks: ChunkLookup | None
    # Verified once per record by ``grounding.grounding_of`` and shared by the grounding
    # checks (kept here so this module needs nothing of grounding's).
    grounding: GroundingReport | None = field(default=None, repr=False)


# -- walking the record ---------------------------------------------------------------


def chemotherapy_items(record: PatientRecord) -> Iterator[tuple[str, ChemotherapyAdministration]]:
    """Every administration with its path: first line, second line, second tumour."""
    for i, c in enumerate(record.chemotherapy):
        yield f"chemotherapy[{i}]", c
    if record.relapse:
        for i, c in enumerate(record.relapse.second_line):
            yield f"relapse.second_line[{i}]", c
    if record.second_tumour:
        for i, c in enumerate(record.second_tumour.chemotherapy):
            yield f"second_tumour.chemotherapy[{i}]", c


def radiotherapy_items(record: PatientRecord) -> Iterator[tuple[str, RadiotherapyCourse]]:
    for i, r in enumerate(record.radiotherapy):
        yield f"radiotherapy[{i}]", r
    if record.relapse:
        for i, r in enumerate(record.relapse.second_line_radiotherapy):
            yield f"relapse.second_line_radiotherapy[{i}]", r
    if record.second_tumour:
        for i, r in enumerate(record.second_tumour.radiotherapy):
            yield f"second_tumour.radiotherapy[{i}]", r


def surgery_items(record: PatientRecord) -> Iterator[tuple[str, Surgery]]:
    for i, s in enumerate(record.surgery):
        yield f"surgery[{i}]", s
    if record.second_tumour:
        for i, s in enumerate(record.second_tumour.surgery):
            yield f"second_tumour.surgery[{i}]", s


def diagnoses(record: PatientRecord) -> Iterator[tuple[str, Diagnosis]]:
    yield "diagnosis", record.diagnosis
    if record.second_tumour:
        yield "second_tumour.diagnosis", record.second_tumour.diagnosis


def chemotherapy_label(c: ChemotherapyAdministration) -> str:
    return f"{c.drug} {c.dose:g} {c.unit} (cycle {c.cycle}, {c.date})"


def radiotherapy_label(r: RadiotherapyCourse) -> str:
    return f"{r.site} {r.given()} ({r.start_date})"
