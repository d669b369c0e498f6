"""Facts extracted from retrieved passages, each tied to the chunk that states it.

The evidence sheet is what generation may use: the schema offered to the model is built
from these facts, so every drug, dose, radiotherapy dose, code, procedure and transplant
choice in a record has a passage behind it. Text in a passage is only ever matched against
patterns and vocabularies here; it is data, never an instruction.

Treatment facts (doses, radiotherapy, codes, intrathecal therapy, techniques) are found
here; the facts of the other record blocks (surgery, transplant, supportive care, course)
in ``knowledge.care_facts``, which builds on these.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Literal, get_args

from pydantic import BaseModel, Field

from knowledge.chunks import RetrievedChunk
from knowledge.facts.cycles import cycle_schedule
from knowledge.facts.doses import text_doses
from knowledge.facts.mentions import phases_named, tumour_terms
from knowledge.facts.radiotherapy import radiotherapy_facts
from knowledge.facts.text import mentions
from knowledge.regimen_rows import dose_groups, table_groups
from knowledge.text import sentence_around
from knowledge.vocabulary import (
    VOCAB_DIR,
    Term,
    drug_by_name,
    drugs,
    find_terms,
    morphologies,
    radiotherapy_sites,
    topographies,
    tumour_groups,
)

DoseUnit = Literal["mg/m2", "g/m2", "mg/kg", "microgram/kg", "IU/m2", "mg"]
DOSE_UNITS: tuple[str, ...] = get_args(DoseUnit)
Technique = Literal["proton", "brachytherapy", "metabolic"]
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
_MORPHOLOGY_CODE = re.compile(r"(?<![\w/.])\d{4}/\d(?![\w/])")
_TOPOGRAPHY_CODE = re.compile(r"\bC\d{2}\.\d\b")
# Words that make a sentence naming an organ a statement of where tumours arise.
_SITE_WORDS = re.compile(
    r"\b(?:primary|prim[aá]ri[oa]s?|sites?|s[ií]tios?|locali[sz]a\w*|located|arises?|arising"
    r"|origin|origem|origen|sede)\b",
    re.IGNORECASE,
)
# "glioma of the optic pathway", "tumor en el cerebelo": a site word right after one of these.
_LOCATIVE = re.compile(
    r"\b(?:in|of|at|em|no|na|nos|nas|do|da|dos|das|de|del|en)\s+"
    r"(?:the\s+|el\s+|la\s+|los\s+|las\s+|o\s+|a\s+|os\s+|as\s+)?$",
    re.IGNORECASE,
)
_METASTASIS = re.compile(r"met[aá]st|secund|late effect|efeitos? tardi|efectos? tard", re.I)
_PRIMARY = re.compile(r"\bprim[aá]r", re.IGNORECASE)
# "a total dose of 375 mg/m2": a bound, like a cumulative dose.
_TOTAL = re.compile(r"\btotal dose\b|\bdose total\b|\bdosis total\b", re.IGNORECASE)
_RT_WORD = re.compile(
    r"\b(?:radiotherapy|irradiation|boost|RT)\b(?:\s+(?:to|of)\s+(?:the\s+)?)?", re.IGNORECASE
)
_SITE_TRIM = " :;,-()"
_BOOST = re.compile(r"\bboost\b", re.IGNORECASE)
_SHIELDING = re.compile(r"\bwith (\w+) shielding\b", re.IGNORECASE)
_AGE_RANGE = re.compile(r"\baged (\d+) years? to under (\d+) years?", re.IGNORECASE)
_AGE_MIN = re.compile(r"\baged (\d+) years? or older\b", re.IGNORECASE)
_AGE_MAX = re.compile(r"\b(?:younger than|under) (\d+) years?\b", re.IGNORECASE)
_INTRATHECAL = re.compile(r"\bintrathecal\b", re.IGNORECASE)
_DAY_LIST = re.compile(r"\bdays?\s+(\d+(?:\s*(?:,|and)\s*\d+)*)\b", re.IGNORECASE)
_TECHNIQUES: dict[Technique, re.Pattern[str]] = {
    "proton": re.compile(r"\bproton\b", re.IGNORECASE),
    "brachytherapy": re.compile(r"\bbrachytherap", re.IGNORECASE),
    "metabolic": re.compile(r"\bMIBG\b|\bradionuclide therapy\b|\bradioiodine\b"),
}
CORTICOSTEROID_ATC = "H02"
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
    many cycles it gives and how far apart, where it states them (``knowledge.facts.cycles``).
    """

    drugs: list[DrugDoseFact]
    phase: str | None = None
    cycles: tuple[int, int] | None = None  # least and most: "six cycles" is (6, 6)
    interval_days: int | None = None  # "every 21 days": one cycle's day 1 to the next's


class AgeLimited(Fact):
    """A fact the passage restricts to an age band ("aged 14 years or older")."""

    min_age: int | None = None
    max_age: int | None = None

    def fits(self, age: int) -> bool:
        return (self.min_age is None or age >= self.min_age) and (
            self.max_age is None or age <= self.max_age
        )


class RadiotherapyFact(AgeLimited):
    site: str
    dose: float
    fractions: int
    boost: bool = False  # "a boost to the residual mass: 10.8 Gy...": added to a course
    shielding: str | None = None  # "with lung shielding"


class CodeFact(Fact):
    code: str
    term: str


class IntrathecalFact(Fact):
    """Drugs a passage gives intrathecally, and the protocol days it names."""

    drugs: list[str]
    days: list[int] = Field(default_factory=list)


class TechniqueFact(Fact):
    """A radiotherapy technique other than external beam that a passage offers."""

    technique: Technique


def sentence_of(text: str, start: int, end: int) -> str:
    """The sentence holding ``text[start:end]``, also when the span opens the sentence.

    (``sentence_around`` only looks for a sentence break before ``start``, and the break
    just before a span that opens its sentence needs the span's first letter to be seen.)
    """
    return sentence_around(text, min(start + 1, end), end)


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Offsets of ``sentence_of(text, start, end)`` within ``text``."""
    sentence = sentence_of(text, start, end)
    left = text.rfind(sentence, 0, end + len(sentence))
    while left > start:  # the same sentence written twice: take the one holding the span
        left = text.rfind(sentence, 0, left)
    return left, left + len(sentence)


def sentences_matching(text: str, pattern: re.Pattern[str]) -> list[tuple[str, int, int]]:
    """Each distinct sentence holding a match, with the match's offsets in ``text``."""
    found: dict[str, tuple[str, int, int]] = {}
    for match in pattern.finditer(text):
        sentence = sentence_of(text, match.start(), match.end())
        found.setdefault(sentence, (sentence, match.start(), match.end()))
    return list(found.values())


def age_limits(sentence: str) -> tuple[int | None, int | None]:
    """The age band a sentence states: "aged 1 year to under 2 years" is (1, 1)."""
    if match := _AGE_RANGE.search(sentence):
        return int(match.group(1)), int(match.group(2)) - 1
    low = int(m.group(1)) if (m := _AGE_MIN.search(sentence)) else None
    high = int(m.group(1)) - 1 if (m := _AGE_MAX.search(sentence)) else None
    return low, high


@cache
def vocabulary_rows(name: str) -> tuple[dict[str, str], ...]:
    """The rows of a CSV of ``knowledge/vocab`` (empty cells as empty strings)."""
    with open(VOCAB_DIR / name, encoding="utf-8", newline="") as handle:
        return tuple(
            {k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)
        )


@cache
def intrathecal_drugs() -> frozenset[str]:
    """Drugs given intrathecally (``drugs.csv``, column ``intrathecal``)."""
    return frozenset(r["name"] for r in vocabulary_rows("drugs.csv") if r["intrathecal"] == "yes")


def decimal_comma(text: str) -> bool:
    """Whether a passage writes decimals with a comma ("1,5 mg/m2", "1,8 Gy"): read from
    the text itself, whatever its language."""
    return bool(_COMMA_DECIMAL.search(text))


def drug_doses_in(chunk: RetrievedChunk, vocabulary: tuple[Term, ...]) -> list[DrugDoseFact]:
    """Doses the fact extractor (``knowledge.facts``) reads in a passage, each with the
    sentence that states it; only drugs of ``vocabulary`` and units a record can carry."""
    return [fact for _, fact in _placed_doses(chunk, vocabulary)]


def _placed_doses(
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


@lru_cache(maxsize=1024)
def _regimen_doses(chunk_json: str) -> tuple[tuple[str, tuple[DrugDoseFact, ...]], ...]:
    """A passage's doses grouped as regimens (``knowledge.regimen_rows``), each group with
    its quote; every dose carries the group's quote (what its items cite)."""
    chunk = RetrievedChunk.model_validate_json(chunk_json)
    placed = sorted(_placed_doses(chunk, drugs()), key=lambda pair: pair[0])
    spans = [span for span, _ in placed]
    if chunk.kind == "table":
        groups = table_groups(chunk.text, spans)
    else:
        sentences = [_sentence_bounds(chunk.text, s, e) for s, e in spans]
        groups = dose_groups(chunk.text, spans, sentences)
    found = []
    for group in groups:
        quote = chunk.text[group.start : group.end]
        doses = tuple(placed[i][1].model_copy(update={"quote": quote}) for i in group.doses)
        found.append((quote, doses))
    return tuple(found)


def _route(text: str, start: int, end: int) -> str | None:
    """The route ("intrathecal" or "systemic") written nearest the dose at ``start:end``."""
    left, right = _sentence_bounds(text, start, end)
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


def cycle_dose(dose: DrugDoseFact) -> bool:
    """Whether a dose may be a chemotherapy cycle's: a chemotherapy drug (``is_chemotherapy``)
    given systemically, not in a passage on a transplant (conditioning, GvHD prophylaxis) or,
    for a drug that is not mainly antineoplastic (dexamethasone), on supportive care."""
    if dose.cumulative or dose.intrathecal or not is_chemotherapy(dose.drug):
        return False
    if _transplant_context().search(dose.quote):
        return False
    record = drug_by_name(dose.drug)
    mainly_antineoplastic = bool(record and record.roles and record.roles[0] == "antineoplastic")
    return mainly_antineoplastic or not _SUPPORTIVE_CONTEXT.search(dose.quote)


def regimen_phase(quote: str) -> str | None:
    """The one treatment phase a passage names, or None (none, or several)."""
    named = phases_named(quote)
    return named[0] if len(named) == 1 else None


def radiotherapy_in(chunk: RetrievedChunk) -> list[RadiotherapyFact]:
    """Courses with a total dose and a number of fractions (stated, or the total over the
    dose per fraction), read by ``knowledge.facts``; the site is the vocabulary's, else
    the clause before the dose."""
    facts = []
    text = chunk.text
    for found in radiotherapy_facts(chunk.page, text, decimal_comma=decimal_comma(text)):
        total, fractions = found.fields.get("total_gy"), found.fields.get("fractions")
        if total is None or not fractions:
            continue
        # The clause before a colon names the site ("Radiotherapy to the primary tumour
        # site: 54 Gy in 30 fractions"), so the quote keeps it.
        quote = sentence_around(text, found.start, found.end)
        shielding = _SHIELDING.search(quote)
        min_age, max_age = age_limits(quote)
        facts.append(
            RadiotherapyFact(
                chunk_id=chunk.chunk_id,
                quote=quote,
                site=found.fields.get("site") or _site_before(quote, found.quote),
                dose=float(total),
                fractions=int(fractions),
                boost=bool(found.fields.get("boost")),
                shielding=shielding.group(1).lower() if shielding else None,
                min_age=min_age,
                max_age=max_age,
            )
        )
    return facts


def _site_before(sentence: str, dose_text: str) -> str:
    """The irradiated site the sentence names before the dose.

    The first site term of the vocabulary wins ("Whole-lung irradiation for pulmonary
    metastases: 15 Gy..." gives "whole lung"); without one, the clause just before the
    dose, minus the words "radiotherapy to the", stands for the site.
    """
    prefix = sentence[: sentence.find(dose_text)] if dose_text in sentence else sentence
    named = find_terms(prefix, radiotherapy_sites())
    if named:
        return named[0][0].term
    words = list(_RT_WORD.finditer(prefix))
    site = prefix[words[-1].end() :] if words else prefix
    site = site.split(",")[-1].split(";")[-1].strip(_SITE_TRIM)
    return (site or "tumour site")[:60]


def tumours_in(chunk: RetrievedChunk) -> list[CodeFact]:
    """The tumours a passage names, under any vocabulary name in any language, or by an
    ICD-O-3 code it prints: the code and preferred term are the vocabulary's, the quote the
    passage's sentence. A tumour group ("glioma de baixo grau") is a fact whose code is the
    group's name."""
    named = [
        CodeFact(
            chunk_id=chunk.chunk_id,
            quote=sentence_of(chunk.text, m.start, m.end),
            code=m.term.code,
            term=m.term.term,
        )
        for m in mentions(chunk.text, tumour_terms())
    ]
    return named + printed_codes(chunk, _MORPHOLOGY_CODE, morphologies())


def printed_codes(
    chunk: RetrievedChunk, pattern: re.Pattern[str], terms: tuple[Term, ...]
) -> list[CodeFact]:
    """Codes of the vocabulary a passage prints ("9364/3", "C71.9"), however it words them."""
    by_code = {t.code: t for t in terms}
    return [
        CodeFact(
            chunk_id=chunk.chunk_id,
            quote=sentence_of(chunk.text, m.start(), m.end()),
            code=m.group(),
            term=by_code[m.group()].term,
        )
        for m in pattern.finditer(chunk.text)
        if m.group() in by_code
    ]


def sites_in(chunk: RetrievedChunk) -> list[CodeFact]:
    """The ICD-O-3 topographies a passage names as where a tumour is (vocabulary names, any
    language): in a sentence that names a tumour or speaks of sites ("primary sites",
    "localização"), not "lung" in a sentence on metastases or late effects."""
    found = []
    for m in mentions(chunk.text, topographies()):
        quote = sentence_of(chunk.text, m.start, m.end)
        if _METASTASIS.search(quote) and not _PRIMARY.search(quote):
            continue
        located = _LOCATIVE.search(chunk.text[max(0, m.start - 12) : m.start])
        if _SITE_WORDS.search(quote) or (located and mentions(quote, tumour_terms())):
            found.append(
                CodeFact(chunk_id=chunk.chunk_id, quote=quote, code=m.term.code, term=m.term.term)
            )
    return found + printed_codes(chunk, _TOPOGRAPHY_CODE, topographies())


def intrathecal_in(chunk: RetrievedChunk, vocabulary: tuple[Term, ...]) -> list[IntrathecalFact]:
    """Intrathecal drugs named after the word "intrathecal", with the days listed there."""
    allowed = intrathecal_drugs()
    facts = []
    for quote, start, _ in sentences_matching(chunk.text, _INTRATHECAL):
        _, right = _sentence_bounds(chunk.text, start, start)
        after = chunk.text[start:right]
        named = [t.term for t, _ in find_terms(after, vocabulary) if t.term in allowed]
        if not named:
            continue
        days = _DAY_LIST.search(after)
        facts.append(
            IntrathecalFact(
                chunk_id=chunk.chunk_id,
                quote=quote,
                drugs=list(dict.fromkeys(named)),
                days=[int(d) for d in re.findall(r"\d+", days.group(1))] if days else [],
            )
        )
    return facts


def techniques_in(chunk: RetrievedChunk) -> list[TechniqueFact]:
    return [
        TechniqueFact(chunk_id=chunk.chunk_id, quote=quote, technique=technique)
        for technique, pattern in _TECHNIQUES.items()
        for quote, _, _ in sentences_matching(chunk.text, pattern)
    ]


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


class EvidenceSheet(BaseModel):
    """Retrieved passages and the facts found in them."""

    chunks: list[RetrievedChunk]
    drug_doses: list[DrugDoseFact]
    radiotherapy: list[RadiotherapyFact]
    morphologies: list[CodeFact]
    groups: list[CodeFact] = Field(default_factory=list)  # tumour groups named (by name)
    topographies: list[CodeFact]
    intrathecal: list[IntrathecalFact] = Field(default_factory=list)
    techniques: list[TechniqueFact] = Field(default_factory=list)

    def doses_given(self) -> list[DrugDoseFact]:
        """Per-administration systemic doses: what a chemotherapy item (a cycle's, a
        conditioning or second-line dose) may be written with; intrathecal doses are
        intrathecal therapy's."""
        return [d for d in self.drug_doses if not d.cumulative and not d.intrathecal]

    def regimens(self) -> list[Regimen]:
        """Doses given, grouped by the sentence that states them (a table's rows apart from
        the prose around them, a course of a table apart from the others:
        ``knowledge.regimen_rows``); repeated regimens once. Only a cycle's doses
        (``cycle_dose``): a supportive drug (mesna, filgrastim), a conditioning agent
        (busulfan, treosulfan), a dose in a passage on a transplant (BuMel melphalan) or on
        supportive care (antiemetic dexamethasone), and an intrathecal dose are not a
        cycle's drugs."""
        regimens: dict[tuple[tuple[str, float, str], ...], Regimen] = {}
        for chunk in self.chunks:
            for quote, doses in _regimen_doses(chunk.model_dump_json()):
                given = [
                    d for d in doses if not d.cumulative and not d.intrathecal and cycle_dose(d)
                ]
                if not given:
                    continue
                unique = list({d.drug: d for d in reversed(given)}.values())[::-1]
                key = tuple((d.drug, d.dose, d.unit) for d in unique)
                schedule = cycle_schedule(quote)
                regimens.setdefault(
                    key,
                    Regimen(
                        chunk_id=chunk.chunk_id,
                        quote=quote,
                        drugs=unique,
                        phase=regimen_phase(quote),
                        cycles=schedule.cycles,
                        interval_days=schedule.interval_days,
                    ),
                )
        return list(regimens.values())

    def courses(self) -> list[RadiotherapyFact]:
        """Radiotherapy a course may be written with (boosts are added to a course)."""
        return [r for r in self.radiotherapy if not r.boost]

    def boosts(self) -> list[RadiotherapyFact]:
        return [r for r in self.radiotherapy if r.boost]

    def group_members(self) -> list[CodeFact]:
        """Each morphology of each tumour group named, cited to the group's sentence."""
        by_code = {t.code: t for t in morphologies()}
        held = {g.code: g for g in tumour_groups()}
        return [
            CodeFact(chunk_id=g.chunk_id, quote=g.quote, code=code, term=by_code[code].term)
            for g in self.groups
            for code in held[g.code].members
            if code in by_code
        ]

    def chunk(self, chunk_id: str) -> RetrievedChunk:
        for chunk in self.chunks:
            if chunk.chunk_id == chunk_id:
                return chunk
        raise KeyError(chunk_id)


def build_evidence_sheet(chunks: Iterable[RetrievedChunk]) -> EvidenceSheet:
    """Extract every fact from the passages, one fact per distinct value.

    Drug doses are kept per sentence, so each regimen stays whole. A code stated by
    several documents is attributed to the document with the most retrieved passages: an
    HSCT guideline that lists "Ewing sarcoma" among its indications does not become the
    Ewing guideline.
    """
    unique = list({c.chunk_id: c for c in chunks}.values())
    weight = Counter(c.document_sha256 for c in unique)
    document = {c.chunk_id: c.document_sha256 for c in unique}
    vocabulary = drugs()
    doses: dict[tuple[str, float, str, bool, str, str], DrugDoseFact] = {}
    radiotherapy: dict[tuple[str, float, int], RadiotherapyFact] = {}
    morphologies: dict[str, CodeFact] = {}
    groups: dict[str, CodeFact] = {}
    group_names = {g.code for g in tumour_groups()}
    topographies: dict[str, CodeFact] = {}
    intrathecal: dict[str, IntrathecalFact] = {}
    techniques: dict[Technique, TechniqueFact] = {}

    def keep_code(found: dict[str, CodeFact], fact: CodeFact) -> None:
        held = found.get(fact.code)
        if held is None or weight[document[fact.chunk_id]] > weight[document[held.chunk_id]]:
            found[fact.code] = fact

    for chunk in unique:
        for d in drug_doses_in(chunk, vocabulary):
            doses.setdefault((d.drug, d.dose, d.unit, d.cumulative, d.chunk_id, d.quote), d)
        for r in radiotherapy_in(chunk):
            radiotherapy.setdefault((r.site.lower(), r.dose, r.fractions), r)
        for m in tumours_in(chunk):
            keep_code(groups if m.code in group_names else morphologies, m)
        for t in sites_in(chunk):  # each document's own sites: one per code and document
            topographies.setdefault(f"{chunk.document_sha256}:{t.code}", t)
        for i in intrathecal_in(chunk, vocabulary):
            intrathecal.setdefault(i.quote, i)
        for technique in techniques_in(chunk):
            techniques.setdefault(technique.technique, technique)
    return EvidenceSheet(
        chunks=unique,
        drug_doses=list(doses.values()),
        radiotherapy=list(radiotherapy.values()),
        morphologies=list(morphologies.values()),
        groups=list(groups.values()),
        topographies=list(topographies.values()),
        intrathecal=list(intrathecal.values()),
        techniques=list(techniques.values()),
    )
