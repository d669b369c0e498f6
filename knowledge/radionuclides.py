"""Brachytherapy and metabolic (radionuclide) therapy as a guideline states them.

A brachytherapy fact is a sentence that names brachytherapy ("braquiterapia") and its
sealed source (an isotope of ``radiation_sources.csv``: "iridio-192", "Ir-192"), with the
applicator and dose rate where it names them and the course where it states one (total
dose in Gy and fractions, read by ``knowledge.evidence.radiotherapy_in``): "Braquiterapia
intersticial de alta tasa de dosis (HDR) con iridio-192 ...: 27,5 Gy en 5 fracciones". A
sentence that names brachytherapy without a source ("brachytherapy in experienced
centres") says too little to write one.

A metabolic fact is a sentence that gives a radiopharmaceutical of the vocabulary
("131I-MIBG", never the diagnostic 123I-MIBG) as therapy with an administered activity and
its unit ("131I-MIBG 18 mCi/kg (666 MBq/kg)"): the first activity after the name.

Both note whether their sentence speaks of relapsed or refractory disease (not first-line
treatment) and whether it restricts itself to high-risk or metastatic disease.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from knowledge.chunks import RetrievedChunk
from knowledge.evidence import Fact, RadiotherapyFact, radiotherapy_in
from knowledge.facts.text import mentions, sentences
from knowledge.vocabulary import Term, find_terms, radiation_terms, topographies

DoseRate = Literal["LDR", "HDR", "PDR"]
ActivityUnit = Literal["MBq", "GBq", "mCi", "MBq/kg", "mCi/kg"]
ACTIVITY_UNITS: tuple[ActivityUnit, ...] = ("MBq/kg", "mCi/kg", "GBq", "MBq", "mCi")

_BRACHYTHERAPY = re.compile(r"brachytherap|braquiterap|curietherap|curieterap", re.IGNORECASE)
_THERAPY = re.compile(
    r"therap|terap|treat|trat|administ|given|infus|dose|dosis|activit|actividad|atividade",
    re.IGNORECASE,
)
_ACTIVITY = re.compile(
    r"(?<![\w.,])(?P<value>\d+(?:[.,]\d+)?)\s?(?P<unit>MBq|GBq|mCi)"
    r"(?:\s?(?:/|per|por)\s?(?P<kg>kg))?(?![\w/])"
)
_RELAPSE = re.compile(
    r"relaps|refractor|recurr|reca[ií]d|recidiv|refrat|rescate|resgate|salvage", re.IGNORECASE
)
_HIGH_RISK = re.compile(
    r"high[- ]risk|alto riesgo|riesgo alto|alto risco|risco alto|metasta|met[aá]st|stage (?:4|M)\b",
    re.IGNORECASE,
)


class RadionuclideFact(Fact):
    """What both kinds share: the tumours the sentence names (ICD-O-3 codes or groups; read
    by the caller's applicability rules), and whom it restricts itself to."""

    relapse: bool  # the sentence speaks of relapsed or refractory disease
    high_risk: bool  # the sentence restricts itself to high-risk or metastatic disease


class BrachytherapyFact(RadionuclideFact):
    source: str  # the isotope, as the vocabulary names it ("Ir-192")
    applicator: str | None = None  # "interstitial", "intracavitary", ...
    dose_rate: DoseRate | None = None
    course: RadiotherapyFact | None = None  # the total dose and fractions it states
    topographies: list[str] = Field(
        default_factory=list
    )  # ICD-O-3 topography codes of the sites it names

    def fits_site(self, topography: str | None) -> bool:
        """Whether the record's primary site is one the sentence names (any site where it
        names none, or the record has no topography code to compare)."""
        if not self.topographies or topography is None:
            return True
        return any(topography[:3] == code[:3] for code in self.topographies)


class MetabolicFact(RadionuclideFact):
    radiopharmaceutical: str  # as the vocabulary names it ("131I-MIBG")
    activity: float
    activity_unit: ActivityUnit


def _first(terms: tuple[Term, ...], text: str) -> str | None:
    found = mentions(text, terms)
    return found[0].term.term if found else None


def _sentences(chunk: RetrievedChunk, pattern: re.Pattern[str]) -> list[str]:
    """The passage's sentences (a colon does not end one) holding a match, spaces folded."""
    text = chunk.text
    return [
        " ".join(text[begin:stop].split())
        for begin, stop in sentences(text)
        if pattern.search(text[begin:stop])
    ]


def brachytherapy_in(chunk: RetrievedChunk) -> list[BrachytherapyFact]:
    facts = []
    for sentence in _sentences(chunk, _BRACHYTHERAPY):
        source = _first(radiation_terms("brachytherapy_source"), sentence)
        if source is None:
            continue
        rate = _first(radiation_terms("dose_rate"), sentence)
        courses = radiotherapy_in(chunk.model_copy(update={"text": sentence}))
        facts.append(
            BrachytherapyFact(
                chunk_id=chunk.chunk_id,
                quote=sentence,
                source=source,
                applicator=_first(radiation_terms("applicator"), sentence),
                dose_rate=rate if rate in ("LDR", "HDR", "PDR") else None,
                course=next((c for c in courses if not c.boost), None),
                topographies=list(
                    dict.fromkeys(t.code for t, _ in find_terms(sentence, topographies()))
                ),
                relapse=bool(_RELAPSE.search(sentence)),
                high_risk=bool(_HIGH_RISK.search(sentence)),
            )
        )
    return facts


def _activity(sentence: str, after: int) -> tuple[float, ActivityUnit] | None:
    match = _ACTIVITY.search(sentence, after)
    if match is None:
        return None
    value = float(match.group("value").replace(",", "."))
    unit = match.group("unit") + ("/kg" if match.group("kg") else "")
    if value <= 0 or unit not in ACTIVITY_UNITS:  # GBq/kg: no record unit
        return None
    return value, unit


def metabolic_in(chunk: RetrievedChunk) -> list[MetabolicFact]:
    facts = []
    terms = radiation_terms("radiopharmaceutical")
    for sentence in _sentences(chunk, _ACTIVITY):
        if not _THERAPY.search(sentence):
            continue
        for mention in mentions(sentence, terms):
            activity = _activity(sentence, mention.end)
            if activity is None:
                continue
            facts.append(
                MetabolicFact(
                    chunk_id=chunk.chunk_id,
                    quote=sentence,
                    radiopharmaceutical=mention.term.term,
                    activity=activity[0],
                    activity_unit=activity[1],
                    relapse=bool(_RELAPSE.search(sentence)),
                    high_risk=bool(_HIGH_RISK.search(sentence)),
                )
            )
            break  # one therapy per sentence: the first radiopharmaceutical with an activity
    return facts


def states_radionuclide_course(quote: str) -> bool:
    """Whether a radiotherapy sentence is a brachytherapy or metabolic therapy statement (its
    Gy are not an external-beam course)."""
    if _BRACHYTHERAPY.search(quote) and mentions(quote, radiation_terms("brachytherapy_source")):
        return True
    return bool(mentions(quote, radiation_terms("radiopharmaceutical")))
