"""Records give a regimen the cycles its guideline passage states, as far apart as it says
(a few days later for delays, never sooner), and open with induction where the guideline
gives one (issue 15); where a passage states nothing, the dates are those of before."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from knowledge.evidence import DrugDoseFact
from models.fake import FakeModel
from service.generation.blocks.relapse import second_line_schedule
from service.generation.blocks.timeline import (
    CYCLE_DAYS,
    INTERVAL_SLACK,
    cycle_dates,
    schedule_first_line,
)
from service.generation.generator import GenerationError, GenerationOptions, PatientGenerator
from service.requests import request_from
from service.settings import Settings
from service.validation.rules import build_validator
from tests.fakes import StaticIndex, chunk
from tests.unit.test_blocks import SchemaModel
from tests.unit.test_generation import EWING, diagnosis_answer

TODAY = date(2026, 6, 1)
DAY0 = date(2024, 1, 1)


def gaps(days: list[date]) -> list[int]:
    return [(b - a).days for a, b in zip(days, days[1:], strict=False)]


def test_a_stated_interval_spaces_cycles_by_it_plus_at_most_a_few_days():
    rng = random.Random(3)
    dates = schedule_first_line(
        rng,
        DAY0,
        cycles=[(21, 21 + INTERVAL_SLACK)] * 6 + [(28, 28 + INTERVAL_SLACK)] * 3,
        induction_cycles=6,
        surgery=None,
        fractions=[],
    )
    between = gaps(dates.cycles)
    assert all(21 <= g <= 21 + INTERVAL_SLACK for g in between[:6])  # VIDE, then into VAI
    assert all(28 <= g <= 28 + INTERVAL_SLACK for g in between[6:])
    assert len(set(between)) > 1  # delays vary
    assert dates.end >= dates.cycles[-1] + timedelta(days=28)  # the last cycle runs its course


def test_without_a_stated_interval_cycles_are_three_weeks_apart_and_draw_nothing():
    rng = random.Random(3)
    state = rng.getstate()
    starts = cycle_dates(rng, DAY0, 4, (CYCLE_DAYS, CYCLE_DAYS))
    assert gaps(starts) == [CYCLE_DAYS] * 3
    assert rng.getstate() == state  # seeded records keep the dates they had


def test_local_control_surgery_still_comes_after_the_induction_cycles():
    dates = schedule_first_line(
        random.Random(1),
        DAY0,
        cycles=[(21, 24)] * 6 + [(21, 24)] * 2,
        induction_cycles=6,
        surgery="local_control",
        fractions=[],
    )
    assert dates.surgery is not None
    assert dates.cycles[5] < dates.surgery < dates.cycles[6]


def dose(quote: str, drug: str = "ifosfamide") -> DrugDoseFact:
    return DrugDoseFact(chunk_id="c", quote=quote, drug=drug, atc="L01AA06", dose=3, unit="g/m2")


def test_second_line_cycles_follow_every_dose_passage():
    stated = dose("Two cycles of ICE every 28 days: ifosfamide 3 g/m2 per day")
    silent = dose("etoposide 100 mg/m2 per day", drug="etoposide")
    assert second_line_schedule([stated, silent]) == ((2, 2), (28, 28 + INTERVAL_SLACK))
    # nothing stated: two to four cycles three weeks apart, as before
    assert second_line_schedule([silent]) == ((2, 4), (CYCLE_DAYS, CYCLE_DAYS))
    # a long interval leaves room for fewer cycles
    long = dose("ifosfamide 3 g/m2 every 6 weeks, 4 cycles")
    assert second_line_schedule([long]) == ((2, 2), (42, 42 + INTERVAL_SLACK))


# -- a record from a guideline that states them ---------------------------------------------

PROTOCOL = chunk(
    "Induction consisted of six cycles of VIDE given every 21 days: vincristine 1.5 mg/m2 on "
    "day 1, ifosfamide 3 g/m2 per day and doxorubicin 20 mg/m2 per day on days 1-3. "
    "Consolidation was given as cycles of VAI every 28 days: vincristine 1.5 mg/m2 on day 1 "
    "and dactinomycin 0.75 mg/m2 per day on days 1-2.",
    page=2,
    index=0,
)
VIDE = "ifosfamide"  # a drug of VIDE only
VAI = "dactinomycin"  # a drug of VAI only


def starts(record, drug: str) -> list[date]:
    return [c.date for c in record.chemotherapy if c.drug == drug]


@pytest.mark.parametrize("seed", range(6))
def test_records_open_with_induction_and_keep_its_stated_cycles_and_interval(seed):
    index = StaticIndex([EWING[0], PROTOCOL])
    model = SchemaModel()
    generator = PatientGenerator(index, model, GenerationOptions(reference_date=TODAY))
    request = request_from(diagnosis="Ewing sarcoma", age=10, blocks=["chemotherapy"])
    record = generator.generate_one(request, seed=seed).record
    schema = next(c.schema for c in model.calls if "first_regimen" in c.schema["properties"])
    first = schema["properties"]["first_regimen"]["properties"]
    assert first["cycles"] == {"enum": [6]}  # the stated count is the only choice
    # the model may add VAI after it, never put it first
    assert record.chemotherapy[0].date == min(starts(record, VIDE))
    assert len(starts(record, VIDE)) == 6
    assert all(21 <= g <= 21 + INTERVAL_SLACK for g in gaps(starts(record, VIDE)))
    assert all(28 <= g <= 28 + INTERVAL_SLACK for g in gaps(starts(record, VAI)))
    assert not starts(record, VAI) or min(starts(record, VAI)) > max(starts(record, VIDE))
    validator = build_validator(Settings(reference_date=TODAY), index)
    assert [f.message for f in validator.validate(record).failures if f.severity == "error"] == []


class OpensWithConsolidation(FakeModel):
    """Answers the treatment schema with VAI first, as a backend ignoring the schema may."""

    def complete_json(self, messages, schema, *, seed, max_tokens, temperature):
        if "first_regimen" in schema["properties"]:
            induction = schema["properties"]["first_regimen"]["properties"]["regimen"]["const"]
            branches = schema["properties"]["chemotherapy"]["items"]["anyOf"]
            vai = next(
                b["properties"]
                for b in branches
                if b["properties"]["regimen"]["const"] != induction
            )
            first = {"regimen": vai["regimen"]["const"], "source": vai["source"]["const"]}
            self.enqueue({"first_regimen": {**first, "cycles": 2}, "chemotherapy": []})
        return super().complete_json(
            messages, schema, seed=seed, max_tokens=max_tokens, temperature=temperature
        )


def test_an_answer_that_does_not_open_with_induction_is_rejected():
    model = OpensWithConsolidation().enqueue(diagnosis_answer(metastasis={"metastatic": False}))
    generator = PatientGenerator(
        StaticIndex([EWING[0], PROTOCOL]), model, GenerationOptions(reference_date=TODAY)
    )
    request = request_from(diagnosis="Ewing sarcoma", age=10, blocks=["chemotherapy"])
    with pytest.raises(GenerationError, match="must start with one of R"):
        generator.generate_one(request, seed=1)
