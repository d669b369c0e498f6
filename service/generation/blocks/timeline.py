"""Dates of a record's events: code decides them all, in clinical order.

Chemotherapy starts days after diagnosis and repeats every cycle (at the interval its
guideline passage states, or up to a few days later, as delays are usual; every three weeks
where the passage states none); local-control surgery
comes after the induction cycles and before the rest; radiotherapy follows chemotherapy and
surgery; a transplant follows the treatment it consolidates, its conditioning in the days
before it; a relapse comes months after the first line, and a second tumour years after.
The diagnosis date is chosen far enough back that every event fits before the reference
date, whatever the model chooses.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

from service.generation.identity import years_before

CYCLE_DAYS = 21  # from one cycle to the next where the guideline states no interval
INTERVAL_SLACK = 3  # days a cycle may start after its stated interval (count recovery)
FIRST_LINE_CHEMOTHERAPY_DAYS = 480  # room for every first-line cycle (cut to fit)
SECOND_LINE_MAX_CYCLES = 4
SECOND_LINE_DAYS = SECOND_LINE_MAX_CYCLES * CYCLE_DAYS  # room for second-line cycles
MAX_AGE = 25
# Gaps in days, (least, most).
START = (5, 21)  # diagnosis to first cycle
BEFORE_SURGERY = (21, 35)  # last induction cycle to surgery
AFTER_SURGERY = (14, 28)  # surgery to the next cycle
BEFORE_RADIOTHERAPY = (7, 28)  # end of chemotherapy or surgery to radiotherapy
BEFORE_TRANSPLANT = (21, 56)  # end of the treatment it consolidates to the transplant
CONDITIONING_DAYS = 7  # conditioning starts on day -7
RELAPSE_AFTER = (120, 720)  # end of first line to relapse
SECOND_LINE_START = (7, 21)
SECOND_TUMOUR_AFTER = (365, 1460)
CATHETER = (1, 4)  # diagnosis to central line (before the first cycle)
MAX_FRACTIONS = 40

_RADIOTHERAPY_DAYS = math.ceil(MAX_FRACTIONS / 5) * 7
FIRST_LINE_MAX = (
    START[1]
    + FIRST_LINE_CHEMOTHERAPY_DAYS
    + BEFORE_SURGERY[1]
    + AFTER_SURGERY[1]
    + BEFORE_RADIOTHERAPY[1]
    + _RADIOTHERAPY_DAYS
    + BEFORE_TRANSPLANT[1]
)
SECOND_LINE_MAX = SECOND_LINE_START[1] + SECOND_LINE_DAYS
RELAPSE_MAX = RELAPSE_AFTER[1] + SECOND_LINE_MAX + BEFORE_TRANSPLANT[1]


def days(rng: random.Random, span: tuple[int, int]) -> timedelta:
    return timedelta(days=rng.randint(*span))


def cycle_gap(rng: random.Random, span: tuple[int, int]) -> timedelta:
    """Days from a cycle to the next, within ``span``; a fixed span draws nothing, so a
    record whose guideline states no interval keeps the dates it had before intervals."""
    return timedelta(days=span[0]) if span[0] == span[1] else days(rng, span)


def lookback_days(rng: random.Random, *, relapse: bool, second_tumour: bool) -> int:
    """How long before the reference date the first diagnosis is: room for every event."""
    need = FIRST_LINE_MAX
    if relapse:
        need += RELAPSE_MAX
    if second_tumour:
        need += SECOND_TUMOUR_AFTER[1] + FIRST_LINE_MAX
    return rng.randint(need + 30, need + 700)


def years_back(age_now: int | None, age: int, lookback: int) -> list[int]:
    """Days between diagnosis and today to try: ``lookback`` alone, or, for a patient aged
    ``age_now`` today who was ``age`` at diagnosis, every fortnight of that many years (the
    first whose birthday gives ``age_now`` is kept)."""
    if age_now is None:
        return [lookback]
    return [(age_now - age) * 365 + offset for offset in range(0, 380, 14)]


def radiotherapy_days(fractions: int) -> timedelta:
    """Five fractions a week."""
    return timedelta(days=math.ceil(fractions / 5) * 7)


@dataclass(frozen=True)
class FirstLineDates:
    cycles: list[date]  # start of each cycle, in order
    surgery: date | None
    radiotherapy: date | None
    end: date  # the last first-line event ends


def schedule_first_line(
    rng: random.Random,
    diagnosis: date,
    *,
    cycles: list[tuple[int, int]],
    induction_cycles: int,
    surgery: str | None,
    fractions: list[int],
) -> FirstLineDates:
    """``cycles``: each cycle's least and most days to the next treatment. ``surgery`` is
    None, "diagnosis" (a biopsy on the diagnosis day) or "local_control" (after
    ``induction_cycles`` cycles, or after all of them)."""
    starts: list[date] = []
    surgery_day = diagnosis if surgery == "diagnosis" else None
    day = diagnosis + days(rng, START)
    chemotherapy_end = diagnosis
    for index, span in enumerate(cycles):
        if surgery == "local_control" and index == induction_cycles and starts:
            surgery_day = starts[-1] + days(rng, BEFORE_SURGERY)
            day = surgery_day + days(rng, AFTER_SURGERY)
        starts.append(day)
        day += cycle_gap(rng, span)
        chemotherapy_end = day
    if surgery == "local_control" and surgery_day is None:
        surgery_day = (
            starts[-1] + days(rng, BEFORE_SURGERY) if starts else diagnosis + days(rng, (14, 42))
        )
    after = max(chemotherapy_end, surgery_day or diagnosis)
    radiotherapy = after + days(rng, BEFORE_RADIOTHERAPY) if fractions else None
    end = after
    if radiotherapy is not None:
        end = radiotherapy + radiotherapy_days(max(fractions))
    return FirstLineDates(starts, surgery_day, radiotherapy, end)


def induction_cycles(cycles_per_regimen: list[int]) -> int:
    """Cycles before local control: the first regimen's when there are several, else half."""
    if len(cycles_per_regimen) > 1:
        return cycles_per_regimen[0]
    return math.ceil(sum(cycles_per_regimen) / 2)


def cycle_dates(rng: random.Random, start: date, cycles: int, span: tuple[int, int]) -> list[date]:
    """``cycles`` start dates from ``start``, each within ``span`` days of the one before."""
    starts = [start]
    for _ in range(cycles - 1):
        starts.append(starts[-1] + cycle_gap(rng, span))
    return starts[:cycles]


def transplant_date(rng: random.Random, after: date) -> date:
    return after + days(rng, BEFORE_TRANSPLANT)


def conditioning_day(transplant: date, index: int) -> date:
    """Day -7 for the first conditioning element, one day later for each next one."""
    return transplant - timedelta(days=CONDITIONING_DAYS - min(index, CONDITIONING_DAYS - 1))


def second_tumour_date(rng: random.Random, after: date, birth: date) -> date | None:
    """A diagnosis years after ``after`` while the patient is at most 25; None if none fits."""
    earliest = after + timedelta(days=SECOND_TUMOUR_AFTER[0])
    latest = min(
        after + timedelta(days=SECOND_TUMOUR_AFTER[1]),
        years_before(birth, -(MAX_AGE + 1)) - timedelta(days=1),
    )
    if latest < earliest:
        return None
    return earliest + timedelta(days=rng.randint(0, (latest - earliest).days))
