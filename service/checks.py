"""Basic consistency checks of one record: a stop-gap until the validation rule engine.

Each check is a function that returns the problems it finds (none: passed). They test
what the generator is supposed to guarantee by construction, so a failure here is a bug
or a backend that escaped its constraints, not a clinical judgement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from service.identity import age_on
from service.records import PatientRecord


@dataclass(frozen=True)
class CheckResult:
    check: str
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


def _events(record: PatientRecord) -> list[tuple[str, date]]:
    return (
        [("diagnosis", record.diagnosis.diagnosis_date)]
        + [(f"chemotherapy {c.drug} cycle {c.cycle}", c.date) for c in record.chemotherapy]
        + [(f"radiotherapy {r.site}", r.start_date) for r in record.radiotherapy]
    )


def events_after_birth(record: PatientRecord) -> list[str]:
    birth = record.demographics.birth_date
    return [
        f"{name} on {day} is before birth ({birth})" for name, day in _events(record) if day < birth
    ]


def events_not_after_reference(record: PatientRecord) -> list[str]:
    today = record.provenance.reference_date
    return [
        f"{name} on {day} is after the reference date ({today})"
        for name, day in _events(record)
        if day > today
    ]


def treatment_after_diagnosis(record: PatientRecord) -> list[str]:
    diagnosed = record.diagnosis.diagnosis_date
    return [
        f"{name} on {day} is before the diagnosis ({diagnosed})"
        for name, day in _events(record)[1:]
        if day < diagnosed
    ]


def metastasis_sites_match(record: PatientRecord) -> list[str]:
    diagnosis = record.diagnosis
    if diagnosis.metastatic and not diagnosis.metastasis_sites:
        return ["metastatic but no metastasis site"]
    if not diagnosis.metastatic and diagnosis.metastasis_sites:
        return [f"not metastatic but metastasis sites {diagnosis.metastasis_sites}"]
    return []


def age_matches_birth_date(record: PatientRecord) -> list[str]:
    diagnosis = record.diagnosis
    actual = age_on(record.demographics.birth_date, diagnosis.diagnosis_date)
    if actual != diagnosis.age_at_diagnosis:
        return [f"age at diagnosis {diagnosis.age_at_diagnosis}, but birth date gives {actual}"]
    return []


def cycles_in_order(record: PatientRecord) -> list[str]:
    problems = []
    by_cycle: dict[int, date] = {}
    for item in record.chemotherapy:
        by_cycle.setdefault(item.cycle, item.date)
    cycles = sorted(by_cycle)
    for earlier, later in zip(cycles, cycles[1:], strict=False):
        if by_cycle[later] <= by_cycle[earlier]:
            problems.append(f"cycle {later} is not after cycle {earlier}")
    return problems


BASIC_CHECKS: dict[str, Callable[[PatientRecord], list[str]]] = {
    "events after birth": events_after_birth,
    "events not after the reference date": events_not_after_reference,
    "treatment after diagnosis": treatment_after_diagnosis,
    "metastatic implies sites": metastasis_sites_match,
    "age at diagnosis matches birth date": age_matches_birth_date,
    "chemotherapy cycles in date order": cycles_in_order,
}


def run_basic_checks(record: PatientRecord) -> list[CheckResult]:
    return [CheckResult(name, check(record)) for name, check in BASIC_CHECKS.items()]
