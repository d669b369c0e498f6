"""What a generation request asks for, read from its plain-language prompt.

This first parser reads age, sex, the named tumour, the treatment blocks and the language
(English or Spanish). Structured request fields come with the full agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.vocabulary import Term, match_morphology
from service.records import Sex

_AGE = re.compile(
    r"(\d{1,2})\s*-?\s*(?:year|years|yr|yrs|y/o|año|años|anos)\b|\baged?\s+(\d{1,2})\b|"
    r"\bde\s+(\d{1,2})\s+años",
    re.IGNORECASE,
)
_MALE = re.compile(r"\b(boy|male|man|son|niño|nino|varón|varon|chico|masculino|hombre)\b", re.I)
_FEMALE = re.compile(r"\b(girl|female|woman|daughter|niña|nina|chica|femenino|mujer)\b", re.I)
_CHEMO = re.compile(r"chemo|quimio", re.I)
_RADIO = re.compile(r"radiotherap|radioterap|irradiat|radiaci", re.I)
_NOT_METASTATIC = re.compile(
    r"\b(non-?metastatic|locali[sz]ed|without metastas[ie]s|no metastas[ie]s|localizad[oa]|"
    r"sin metástasis|sin metastasis)\b",
    re.I,
)
_METASTATIC = re.compile(
    r"\b(metastatic|metastas[ie]s|metastásic[oa]|metástasis|metastasis)\b", re.I
)
_SPANISH = re.compile(r"\b(años|niño|niña|con|quimioterapia|radioterapia|y|de|el|la)\b", re.I)


class RequestError(ValueError):
    """A request that cannot be generated as asked; the message says what is wrong."""


@dataclass(frozen=True)
class ParsedRequest:
    """What to generate. Booleans say which treatment blocks the record must have; the
    generator may add what the diagnosis makes clinically usual only where a field is None."""

    prompt: str
    age: int | None
    sex: Sex | None
    morphology: Term | None
    chemotherapy: bool
    radiotherapy: bool
    metastatic: bool | None  # None: the model chooses
    language: str  # "en" or "es"
    surgery: bool = False
    hsct: bool = False
    others: bool = False
    relapse: bool | None = None  # relapse after first-line treatment; None: not asked
    second_tumour: Term | None = None  # the second tumour's morphology, when one is asked


def parse_request(prompt: str) -> ParsedRequest:
    text = prompt.strip()
    if not text:
        raise RequestError("the prompt is empty: describe the patient to generate")
    if len(text) > 2000:
        raise RequestError(f"the prompt is {len(text)} characters; the limit is 2000")
    age = None
    if match := _AGE.search(text):
        age = int(next(g for g in match.groups() if g is not None))
        if age > 25:
            raise RequestError(f"age {age} is outside paediatric and young-adult oncology (0-25)")
    sex: Sex | None = None
    if _MALE.search(text) and not _FEMALE.search(text):
        sex = "male"
    elif _FEMALE.search(text) and not _MALE.search(text):
        sex = "female"
    chemo, radio = bool(_CHEMO.search(text)), bool(_RADIO.search(text))
    if not chemo and not radio:
        chemo = radio = True  # no treatment named: the usual ones for the diagnosis
    metastatic = (
        False if _NOT_METASTATIC.search(text) else (True if _METASTATIC.search(text) else None)
    )
    spanish = len(_SPANISH.findall(text)) >= 2
    return ParsedRequest(
        prompt=text,
        age=age,
        sex=sex,
        morphology=match_morphology(text),
        chemotherapy=chemo,
        radiotherapy=radio,
        metastatic=metastatic,
        language="es" if spanish else "en",
    )
