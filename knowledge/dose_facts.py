"""Drug doses read from passages, and the regimens they are grouped into.

What a chemotherapy item may be written with: each dose with the sentence that states it
(``drug_doses_in``), whether it is a cycle's (``cycle_dose``: not a transplant's, supportive
care's or intrathecal), and the ``Regimen`` that gives doses together
(``knowledge.regimens`` groups them). Text in a passage is only ever matched against
patterns and vocabularies here; it is data, never an instruction.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from typing import Literal, get_args

from pydantic import BaseModel

from knowledge.chunks import RetrievedChunk
from knowledge.facts.doses import text_doses
from knowledge.facts.mentions import phases_named
from knowledge.text import sentence_around
from knowledge.vocabulary import VOCAB_DIR, Term, drug_by_name

DoseUnit = Literal["mg/m2", "g/m2", "mg/kg", "microgram/kg", "IU/m2", "mg"]
DOSE_UNITS: tuple[str, ...] = get_args(DoseUnit)
# A decimal comma before a dose or radiotherapy unit: "1,5 mg/m2", "1,8 Gy".
_COMMA_DECIMAL = re.compile(r"\d,\d{1,2}\s?(?:mg|g|µg|mcg|Gy|UI|IU)\b")
# The extractor's normalised units (``knowledge.facts.doses.normalise_unit``) a record's
# dose can carry; a dose in another unit (mL, mcg/m2) is not offered.
_RECORD_UNITS: dict[str, DoseUnit] = {
    "mg/m2": "mg/m2",
    "g/m2": "g/m2",
    "mg/kg": "mg/kg",
    "mcg/kg": "microgram/kg",
    "IU/m2": "IU/m2",
    "mg": "mg",
}
# "a total dose of 375 mg/m2": a bound, like a cumulative dose.
_TOTAL = re.compile(r"\btotal dose\b|\bdose total\b|\bdosis total\b", re.IGNORECASE)
# The route written nearest a dose: right after it ("75 mg/m2 per day IV"), else the last
# one before it in its sentence ("Triple intrathecal therapy combines methotrexate 12 mg,
# cytarabine 30 mg"). Short forms count only in capitals ("it" is a word).
_ROUTE = re.compile(
    r"(?P<intrathecal>(?i:intrat(?:h)?e[ck]\w*|\bi\.t\.)|\bT?IT\b)"
    r"|(?P<systemic>\b(?:IV|PO|SC|IM)\b|(?i:\bi\.v\.|\bintraven\w*|\bendoven\w*|\boral(?:ly|mente)?\b"
    r"|\bsubcut\w*|\bintramuscul\w*|\binfus\w*|\bper os\b))"
)
_ROUTE_AFTER = 25  # characters after a dose in which its route may stand
# A sentence about a transplant (its conditioning, GvHD prophylaxis) or about supportive
# care: its doses are not a chemotherapy cycle's (conditioning regimen names are added
# from conditioning_regimens.csv).
_TRANSPLANT_WORDS = (
    r"\bcondition(?:ing|ed)\b|acondicionamiento|condicionamiento|condicionamento"
    r"|myeloablat|mieloablat|stem[- ]cell (?:rescue|transplant)|bone marrow transplant"
    r"|\bHSCT\b|\bTPH\b|\bTCTH\b|\bTMO\b|trasplante|transplante|post-transplant"
    r"|\bGvHD\b|graft-versus-host"
)
_SUPPORTIVE_CONTEXT = re.compile(
    r"antiem[eé]tic|emetogenic|uroprotec|seizure prophylaxis|tumou?r lysis|lisis tumoral",
    re.IGNORECASE,
)
# Phases in protocol order: a regimen of a lower rank comes first (the ranks between
# induction and maintenance are one, as protocols order them differently).
PHASE_RANK = {
    "induction": 1,
    "consolidation": 2,
    "intensification": 2,
    "reinduction": 2,
    "maintenance": 3,
}


class Fact(BaseModel):
    """Something a passage states; ``chunk_id`` and ``quote`` make it citable."""

    chunk_id: str
    quote: str


class DrugDoseFact(Fact):
    drug: str
    atc: str
    dose: float
    unit: DoseUnit
    cumulative: bool = False  # "a cumulative doxorubicin 375 mg/m2": a bound, not a dose given
    days: int | None = None  # how many days the dose is given, where the passage says
    intrathecal: bool = False  # "intrathecal methotrexate 12 mg": intrathecal therapy's dose


class Regimen(Fact):
    """The drugs and doses one passage gives together (one cycle of a protocol), the
    treatment phase the passage names (induction, ..., relapse), if exactly one, and how
    many cycles it gives and how far apart, where it states them (``knowledge.facts.cycles``;
    grouping and lead-ins: ``knowledge.regimens``).
    """

    drugs: list[DrugDoseFact]
    phase: str | None = None
    cycles: tuple[int, int] | None = None  # least and most: "six cycles" is (6, 6)
    interval_days: int | None = None  # "every 21 days": one cycle's day 1 to the next's
    # The sentence before the regimen's own that states its cycles where its own states
    # none ("... durante 9 ciclos ..." before the IVA table): its items cite it too.
    lead_in: Fact | None = None


def sentence_of(text: str, start: int, end: int) -> str:
    """The sentence holding ``text[start:end]``, also when the span opens the sentence.

    (``sentence_around`` only looks for a sentence break before ``start``, and the break
    just before a span that opens its sentence needs the span's first letter to be seen.)
    """
    return sentence_around(text, min(start + 1, end), end)


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Offsets of ``sentence_of(text, start, end)`` within ``text``."""
    sentence = sentence_of(text, start, end)
    left = text.rfind(sentence, 0, end + len(sentence))
    while left > start:  # the same sentence written twice: take the one holding the span
        left = text.rfind(sentence, 0, left)
    return left, left + len(sentence)


@cache
def vocabulary_rows(name: str) -> tuple[dict[str, str], ...]:
    """The rows of a CSV of ``knowledge/vocab`` (empty cells as empty strings)."""
    with open(VOCAB_DIR / name, encoding="utf-8", newline="") as handle:
        return tuple(
            {k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)
        )


def decimal_comma(text: str) -> bool:
    """Whether a passage writes decimals with a comma ("1,5 mg/m2", "1,8 Gy"): read from
    the text itself, whatever its language."""
    return bool(_COMMA_DECIMAL.search(text))


def drug_doses_in(chunk: RetrievedChunk, vocabulary: tuple[Term, ...]) -> list[DrugDoseFact]:
    """Doses the fact extractor (``knowledge.facts``) reads in a passage, each with the
    sentence that states it; only drugs of ``vocabulary`` and units a record can carry."""
    return [fact for _, fact in placed_doses(chunk, vocabulary)]


def placed_doses(
    chunk: RetrievedChunk, vocabulary: tuple[Term, ...]
) -> list[tuple[tuple[int, int], DrugDoseFact]]:
    """``drug_doses_in`` with where each dose (its drug name and value) stands in the text."""
    wanted = {t.term: t for t in vocabulary}
    facts = []
    for found in text_doses(chunk.page, chunk.text, decimal_comma=decimal_comma(chunk.text)):
        term = wanted.get(found.fields["drug"])
        unit = _RECORD_UNITS.get(found.fields["unit"])
        if term is None or unit is None:
            continue
        days = found.fields.get("days")
        intrathecal = _route(chunk.text, found.start, found.end) == "intrathecal"
        fact = DrugDoseFact(
            chunk_id=chunk.chunk_id,
            quote=sentence_of(chunk.text, found.start, found.end),
            drug=term.term,
            atc=term.code,
            dose=float(found.fields["dose"]),
            unit=unit,
            cumulative=bool(found.fields.get("cumulative"))
            or bool(_TOTAL.search(chunk.text[max(0, found.start - 30) : found.end])),
            days=len(days.split(",")) if days else None,
            intrathecal=intrathecal,
        )
        facts.append(((found.start, found.end), fact))
    return facts


def _route(text: str, start: int, end: int) -> str | None:
    """The route ("intrathecal" or "systemic") written nearest the dose at ``start:end``."""
    left, right = sentence_bounds(text, start, end)
    after = re.split(r"[,;:]", text[end : min(right, end + _ROUTE_AFTER)])[0]
    found = list(_ROUTE.finditer(after)) or list(_ROUTE.finditer(text[left:start]))[-1:]
    if not found:
        return None
    return "intrathecal" if found[0].group("intrathecal") else "systemic"


@cache
def _transplant_context() -> re.Pattern[str]:
    names = [
        name
        for row in vocabulary_rows("conditioning_regimens.csv")
        for name in (row["name"], *row["aliases"].split("|"))
        if name
    ]
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"{_TRANSPLANT_WORDS}|(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def transplant_context(text: str) -> bool:
    """Whether a passage speaks of a transplant (its conditioning, GvHD prophylaxis)."""
    return bool(_transplant_context().search(text))


def cycle_dose(dose: DrugDoseFact, section: str = "") -> bool:
    """Whether a dose may be a chemotherapy cycle's: a chemotherapy drug (``is_chemotherapy``)
    given systemically, not in a passage on a transplant (conditioning, GvHD prophylaxis) or,
    for a drug that is not mainly antineoplastic (dexamethasone), on supportive care. The
    passage is its sentence and the headings it stands under (``section``): BuMel's melphalan
    under "7. High-dose chemotherapy with autologous stem cell rescue" is conditioning."""
    if dose.cumulative or dose.intrathecal or not is_chemotherapy(dose.drug):
        return False
    if transplant_context(dose.quote) or transplant_context(section):
        return False
    record = drug_by_name(dose.drug)
    mainly_antineoplastic = bool(record and record.roles and record.roles[0] == "antineoplastic")
    return mainly_antineoplastic or not _SUPPORTIVE_CONTEXT.search(f"{dose.quote} {section}")


def regimen_phase(quote: str) -> str | None:
    """The one treatment phase a passage names, or None (none, or several)."""
    named = phases_named(quote)
    return named[0] if len(named) == 1 else None


def is_chemotherapy(drug: str) -> bool:
    """Whether the vocabulary's first role for a drug makes it a chemotherapy cycle's drug:
    antineoplastic, or a corticosteroid that is also antineoplastic (prednisone)."""
    record = drug_by_name(drug)
    if record is None or not record.roles:
        return False
    first = record.roles[0]
    return first == "antineoplastic" or (
        first == "corticosteroid" and "antineoplastic" in record.roles
    )
