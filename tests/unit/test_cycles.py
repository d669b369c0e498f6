"""A regimen's cycle count and interval, read from its own sentence (issue 15: "with the
cycle counts and intervals the guideline gives"), in the ways guidelines write them, and
never from a number that says something else."""

from __future__ import annotations

import pytest

from ingest.chunking import chunk_pages, make_splitter
from ingest.pdf import iter_pages, open_pdf
from knowledge.chunks import RetrievedChunk
from knowledge.evidence import build_evidence_sheet
from knowledge.facts.cycles import CycleSchedule, cycle_schedule
from service.validation.cycles import StatedCycles, stated_cycles
from tests.conftest import CORPUS_PDF_DIR
from tests.fakes import chunk
from tests.unit.test_procedures import REAL

STATED = [
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
    # a range of intervals: the shortest, which the schedule keeps at least
    ("Carboplatina 560 mg/m2 D1 cada 14-21 dias, 6 ciclos", (6, 6), 14),
    ("vinblastine 6 mg/m2 every 14 to 21 days", None, 14),
    ("every 2-3 weeks: vinblastine 6 mg/m2", None, 14),
    ("ciclofosfamida 1200 mg/m2 a cada 21 a 28 dias", None, 21),
]
NOT_STATED = [
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
    "cytarabine 75 mg/m2 per day IV in four blocks of four days",
    "COPDAC-28 comprises cyclophosphamide 500 mg/m2 on days 1 and 8",
    "Um total de 74 pacientes recebeu 92 ciclos de HD-ICE",  # no regimen has 92 cycles
]


@pytest.mark.parametrize(("sentence", "cycles", "interval"), STATED)
def test_stated_counts_and_intervals_are_read(sentence, cycles, interval):
    assert cycle_schedule(sentence) == CycleSchedule(cycles, interval)


@pytest.mark.parametrize("sentence", NOT_STATED)
def test_numbers_that_are_no_count_or_interval_of_the_regimen_are_not_read(sentence):
    assert cycle_schedule(sentence) == CycleSchedule(), sentence


# The validator reads the same sentences its own way (service/validation/cycles.py).


@pytest.mark.parametrize(("sentence", "cycles", "interval"), STATED)
def test_the_validator_reads_stated_counts_and_intervals(sentence, cycles, interval):
    least, most = cycles or (None, None)
    assert stated_cycles(sentence) == StatedCycles(least, most, interval)


@pytest.mark.parametrize("sentence", NOT_STATED)
def test_the_validator_reads_no_count_or_interval_where_none_is_stated(sentence):
    assert stated_cycles(sentence) == StatedCycles(), sentence


def corpus_dose_sentences() -> dict[str, set[str]]:
    """Every sentence giving a dose in the bundled corpus and the real CPC-NEURO manual
    (where ../shared/corpus/real is present), chunked as ingestion chunks them, and every
    sentence a regimen takes its cycles from (its items cite it)."""
    folders = [CORPUS_PDF_DIR, REAL / "cpc-neuro"]
    found: dict[str, set[str]] = {}
    for pdf in sorted(p for folder in folders if folder.exists() for p in folder.glob("*.pdf")):
        document, reader = open_pdf(pdf)
        chunks = chunk_pages(document, list(iter_pages(pdf, reader)), make_splitter(700, 80))
        sheet = build_evidence_sheet([RetrievedChunk(**c.model_dump(), score=1.0) for c in chunks])
        lead_ins = {r.lead_in.quote for r in sheet.regimens() if r.lead_in}
        found[pdf.name] = {d.quote for d in sheet.drug_doses} | lead_ins
    return found


def test_generator_and_validator_read_every_corpus_sentence_alike():
    """Where they differed, a generated record would break a rule it was built to keep (or
    the rule would miss a fault): the two readings agree on every dosed sentence of real
    guideline text, and find counts and intervals in it."""
    stated = 0
    for name, sentences in corpus_dose_sentences().items():
        for sentence in sentences:
            ours, theirs = cycle_schedule(sentence), stated_cycles(sentence)
            least, most = ours.cycles or (None, None)
            assert theirs == StatedCycles(least, most, ours.interval_days), (name, sentence)
            stated += ours != CycleSchedule()
    assert stated >= 20


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
