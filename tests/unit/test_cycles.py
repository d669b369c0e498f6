"""A regimen's cycle count and interval, read from its own sentence (issue 15: "with the
cycle counts and intervals the guideline gives"), in the ways guidelines write them, and
never from a number that says something else."""

from __future__ import annotations

import pytest

from knowledge.chunks import RetrievedChunk
from knowledge.evidence import build_evidence_sheet
from knowledge.facts.cycles import CycleSchedule, cycle_schedule
from tests.fakes import chunk


@pytest.mark.parametrize(
    ("sentence", "cycles", "interval"),
    [
        # the bundled corpus
        (
            "Induction in EURO-EWING 99 and Ewing 2008 consisted of six cycles of VIDE given "
            "every 21 days: vincristine 1.5 mg/m2 (maximum 2 mg) IV on day 1",
            (6, 6),
            21,
        ),
        (
            "All patients receive two cycles of OEPA, repeated on day 29: vincristine 1.5 mg/m2",
            (2, 2),
            28,
        ),
        (
            "Isotretinoin 160 mg/m² per day orally on days 1-14 of each 28-day cycle, for six "
            "cycles; children weighing 12 kg or less receive 5.33 mg/kg per day.",
            (6, 6),
            28,
        ),
        (
            "IVA (ifosfamida, vincristina y actinomicina D), en ciclos de 21 días administrados "
            "cada 3 semanas durante 9 ciclos en el riesgo estándar y alto.",
            (9, 9),
            21,
        ),
        ("| vinorelbina | 25 mg/m² IV | días 1, 8 y 15 de cada ciclo de 28 días |", None, 28),
        ("| A (preoperatorio, 3 ciclos) | cisplatino | 70 mg/m² IV en 24 horas |", (3, 3), None),
        # other ways protocols write them
        ("VIDE x 6 cycles q3w: vincristine 1.5 mg/m2 on day 1", (6, 6), 21),
        ("Carboplatina 560 mg/m2 D1 a cada 21 dias, 6 ciclos", (6, 6), 21),
        ("Vincristina 1,5 mg/m2 cada tres semanas, de 4 a 6 ciclos", (4, 6), 21),
        ("cisplatin 80 mg/m2 q21d for up to six courses", (1, 6), 21),
        ("08 ciclos de vincristina 1,5 mg/m2 semanal", (8, 8), None),
        ("Dois ciclos - repetir no D29: ifosfamida 3000 mg/m2", (2, 2), 28),
        ("carboplatin 175 mg/m2 at 28-day intervals", None, 28),
        ("doxorubicin 50 mg/m² every 6 weeks, five doses in all", None, 42),
        ("temozolomide 200 mg/m2 3-weekly", None, 21),
    ],
)
def test_stated_counts_and_intervals_are_read(sentence, cycles, interval):
    assert cycle_schedule(sentence) == CycleSchedule(cycles, interval)


@pytest.mark.parametrize(
    "sentence",
    [
        # when something happens, a floor, a trial's result, how often something else is done
        "Early response assessment by PET after two cycles of OEPA: vincristine 1.5 mg/m2",
        "La cirugía se planifica tras 4 ciclos de quimioterapia: cisplatino 80 mg/m2",
        "at least four cycles of carboplatin 550 mg/m2",
        "receberam uma mediana de 4 ciclos de ifosfamida 2,0 g/m2/d",
        "imagem a cada 3 ciclos: temozolomida 200 mg/m2",
        "Cycles 1 and 2: topotecan 1.2 mg/m² per day on days 1-5",
        # two counts: whose?
        "TG2 patients two cycles and TG3 patients four cycles of COPDAC-28",
        "Three different courses are alternated; the doses per course are shown below",
        # a drug's own rhythm, a duration, a rest, a dose interval in hours
        "calcium folinate 15 mg/m2 every 6 hours, vincristine weekly for 8 weeks",
        "dexamethasone 10 mg/m2 per day as a 5-day course",
        "a 14-day course of prednisone 60 mg/m2",
        "Temozolomida 200 mg/m2 D1-D5. Intervalo de 14 dias.",
        "every 2-3 weeks: vinblastine 6 mg/m2",
        "cytarabine 75 mg/m2 per day IV in four blocks of four days",
        "COPDAC-28 comprises cyclophosphamide 500 mg/m2 on days 1 and 8",
        "Um total de 74 pacientes recebeu 92 ciclos de HD-ICE",  # no regimen has 92 cycles
    ],
)
def test_numbers_that_are_no_count_or_interval_of_the_regimen_are_not_read(sentence):
    assert cycle_schedule(sentence) == CycleSchedule(), sentence


def retrieved(text: str) -> RetrievedChunk:
    return RetrievedChunk(**chunk(text).model_dump(), score=0.5)


def test_a_regimen_carries_what_its_own_sentence_states():
    sheet = build_evidence_sheet(
        [
            retrieved(
                "Induction consisted of six cycles of VIDE given every 21 days: vincristine "
                "1.5 mg/m2 on day 1, ifosfamide 3 g/m2 per day and doxorubicin 20 mg/m2 per "
                "day on days 1-3. Consolidation was given as cycles of VAI: vincristine "
                "1.5 mg/m2 on day 1 and dactinomycin 0.75 mg/m2 per day on days 1-2."
            )
        ]
    )
    vide, vai = sheet.regimens()
    assert (vide.phase, vide.cycles, vide.interval_days) == ("induction", (6, 6), 21)
    # the next sentence's regimen takes nothing from the one before it
    assert (vai.phase, vai.cycles, vai.interval_days) == ("consolidation", None, None)
