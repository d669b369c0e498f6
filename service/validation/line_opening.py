"""A first line opens as protocols do: with induction or a regimen whose passage names no
phase, never with consolidation ("Consolidation ... VAI ..."), and with maintenance only in a
CNS tumour whose line gives nothing else that opens it (CNS protocols give maintenance after
radiotherapy with no induction). The phase of an item is the regimen rules' reading of its
quotes (regimens.toml).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from knowledge.vocabulary import tumour_records
from service.records import ChemotherapyAdministration, Diagnosis, PatientRecord
from service.validation.context import CheckContext, Offending, check, chemotherapy_label
from service.validation.cycles import chemotherapy_lines
from service.validation.regimens import opens_a_line, opens_a_line_in, phase_of

_FIRST_LINES = ("chemotherapy", "second_tumour.chemotherapy")


@check()
def induction_first(ctx: CheckContext) -> Iterator[Offending]:
    """A first line (the first tumour's, the second's) does not open with a phase that
    follows an induction (consolidation, intensification, reinduction, maintenance), except
    maintenance in a CNS tumour whose line gives no induction and no regimen of unnamed
    phase (regimens.toml ``opens_a_line_in``)."""
    record = ctx.record
    for line, items in chemotherapy_lines(record).items():
        if line not in _FIRST_LINES or not items:
            continue
        diagnosis = record.diagnosis if line == "chemotherapy" else _second(record)
        opening = min(i.date for i in items)
        for item in (i for i in items if i.date == opening):
            phase = phase_of(item)
            if phase is None or opens_a_line(phase):
                continue
            why = _why_not_opening(phase, diagnosis, items)
            if why is not None:
                yield {
                    "line": line,
                    "date": opening,
                    "phase": phase,
                    "item": chemotherapy_label(item),
                    "why": why,
                }
                break


def _second(record: PatientRecord) -> Diagnosis | None:
    return record.second_tumour.diagnosis if record.second_tumour else None


def _why_not_opening(
    phase: str, diagnosis: Diagnosis | None, items: list[ChemotherapyAdministration]
) -> str | None:
    """Why a line may not open with ``phase`` (a phase that follows an induction), or None
    where the tumour's protocols open with it and nothing in the line opens it instead."""
    allowed = opens_a_line_in(phase)
    groups = _iccc_groups(diagnosis.icdo3_morphology) if diagnosis else frozenset()
    if not allowed & groups:
        return f"{phase} follows an induction"
    opener = next((i for i in items if (p := phase_of(i)) is None or opens_a_line(p)), None)
    if opener is None:
        return None
    return (
        f"{phase} opens only a line that gives no induction and no regimen of unnamed phase, "
        f"and this one gives {chemotherapy_label(opener)}"
    )


@cache
def _iccc_groups(morphology: str) -> frozenset[str]:
    """The ICCC-3 main groups of a morphology code (the vocabulary's; none if unknown)."""
    return frozenset(g for t in tumour_records() if t.code == morphology for g in t.iccc_groups)
