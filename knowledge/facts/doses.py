"""Drug doses: a number and unit attached to the drug the vocabulary finds before it in the
same sentence or table row (or right after it: "1.5 mg/m2 of vincristine").

"Cyclophosphamide and vincristine 1.5 mg/m2" gives vincristine 1.5 only: a dose goes to the
nearest drug before it, and never across another dose."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from knowledge.facts.model import Fact
from knowledge.facts.numbers import NUMBER, RANGE_SEPARATOR, THRESHOLD, clean, parse_number
from knowledge.facts.text import Mention, mentions, sentences, within
from knowledge.vocabulary import Term, drugs

MAX_GAP = 60  # characters between a drug's name and its dose
PAGE_GAP = 160  # ... when the dose's own sentence names no drug
TIGHT = re.compile(r"^\s*[:=]?\s*$")  # a drug's name, then straight its dose
AFTER_GAP = re.compile(r"^\s*(?:\(|de|of|do|da|del|of the)?\s*$", re.IGNORECASE)

_MASS = r"(?:mg|mcg|µg|μg|ug|g|gram(?:o|a)?s?|UI|IU|U|units?|unidades|mL|ml)"
_BASIS = r"(?:m\s?2|m²|m\^2|kg|m[lL])"
_UNIT = rf"(?:{_MASS}\s?/\s?{_BASIS}|{_MASS})"
_PER = (
    r"(?:\s?/\s?(?P<per_slash>dia|día|day|d|dose|semana|week|wk|ciclo|cycle)\b"
    r"|\s+(?:por|per|ao|al|a|by)\s+(?P<per_word>dia|día|day|dose|semana|week|ciclo|cycle)\b"
    r"|\s+(?P<per_daily>daily|diariamente|di[aá]ri[oa]s?|diaria|weekly|semanal))"
)
_EVERY = (
    r"(?:\s*,?\s*(?:every|a cada|cada|q)\s*(?P<every>\d+)\s*"
    r"(?P<every_unit>hours|horas|h|weeks|semanas|days|dias|días|wk)\b)"
)
DOSE = re.compile(
    rf"(?<![\w.,])(?P<dose>{NUMBER})(?:{RANGE_SEPARATOR}(?P<high>{NUMBER}))?"
    rf"(?:\s*\((?=[^()]*[Dd]os)[^()]{{0,30}}\))?"  # "5438.77 (Dose given) mg/m2": a passport
    rf"\s?(?P<unit>{_UNIT})(?![A-Za-z²])(?:{_PER})?(?:{_EVERY})?",
)
_PER_WORDS = {
    "dia": "day",
    "día": "day",
    "day": "day",
    "d": "day",
    "daily": "day",
    "diariamente": "day",
    "diaria": "day",
    "dose": "dose",
    "semana": "week",
    "week": "week",
    "wk": "week",
    "weekly": "week",
    "semanal": "week",
    "ciclo": "cycle",
    "cycle": "cycle",
}
_ROUTES = (
    (re.compile(r"\b(?:IV|EV|i\.v\.|e\.v\.)(?!\w)|intraven|endoven", re.IGNORECASE), "iv"),
    (re.compile(r"\b(?:VO|PO|p\.o\.|v\.o\.)(?!\w)"), "oral"),
    (
        re.compile(r"\b(?:oral|orally|oralmente|by mouth|via oral|por boca)\b", re.IGNORECASE),
        "oral",
    ),
    (re.compile(r"\bIT\b|intrat[eé]c|intrathec", re.IGNORECASE), "it"),
    (re.compile(r"\bIM\b|intramuscular", re.IGNORECASE), "im"),
    (re.compile(r"\bSC\b|subcut[aâá]ne|subcutaneous", re.IGNORECASE), "sc"),
)
_DAYS = re.compile(
    r"(?:\bD(?=\d)|\b(?:dias?|días?|days?|J)\s+)"
    r"(?P<list>\d{1,3}(?:\s*(?:,|e|y|and|et|-|–|a|to|al|até|&)\s*D?\d{1,3}(?![\d,.]\d))*)",
    re.IGNORECASE,
)
_MAX = re.compile(
    rf"(?:m[aá]x(?:imum|imo|ima)?\.?|dose m[aá]xima(?: de)?|maximum dose(?: of)?|"
    rf"m[aá]ximo de|not to exceed|no exceder)\s*:?\s*(?P<dose>{NUMBER})\s?(?P<unit>{_UNIT})",
    re.IGNORECASE,
)
_CUMULATIVE = re.compile(r"cumulat|acumulad|acumulativ", re.IGNORECASE)
# A strength, not a dose: "Capsule: 20 mg; 30 mg", "cápsulas de 100mg", "Injection: 1 mg/mL".
_FORMULATION = re.compile(
    r"c[aá]?psulas?|capsules?|comprimidos?|tablets?|injection|inje[cç][aã]o|inyectable|"
    r"suspension|suspens[aã]o|suspensi[oó]n|dosage form|powder|vials?|frascos?|ampolas?|"
    r"ampollas?|contains|cont[eé]m|contiene|strengths?|apresenta[cç][aã]o|presentaci[oó]n",
    re.IGNORECASE,
)
_FREQUENCY = re.compile(
    r"\s*(?:\w+ times (?:a |per )?day|twice|once|three times|BID|TID|QID|q\d+h|"
    r"\d+\s*(?:x|vezes|veces)\b)",
    re.IGNORECASE,
)
FORMULATION_REACH = 40  # characters before a figure where a formulation word makes it one


def normalise_unit(unit: str) -> str:
    """ASCII and one spelling: ``mg/m²`` -> ``mg/m2``, ``µg/kg`` -> ``mcg/kg``, ``UI`` -> ``IU``."""
    text = "".join(unit.split()).replace("²", "2").replace("^2", "2")
    mass, _, basis = text.partition("/")
    mass = {"µg": "mcg", "μg": "mcg", "ug": "mcg", "UI": "IU", "U": "IU", "ml": "mL"}.get(
        mass, mass
    )
    if mass.lower() in ("unit", "units", "unidades"):
        mass = "IU"
    if mass.lower().startswith("gram"):
        mass = "g"
    basis = basis.lower() if basis.lower().startswith("ml") else basis
    return f"{mass}/{basis}" if basis else mass


def parse_days(text: str) -> str | None:
    """``D1, D8 e D15`` -> ``1,8,15``; ``dias 1 a 5`` -> ``1,2,3,4,5``."""
    match = _DAYS.search(text)
    if match is None:
        return None
    days: list[int] = []
    # Whole words only: the "a" of "and" is not the Portuguese range "1 a 5".
    tokens = re.findall(r"\d+|-|–|\b(?:a|to|al|até)\b", match.group("list"))
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.isdigit():
            if index + 2 < len(tokens) and not tokens[index + 1].isdigit():
                low, high = int(token), int(tokens[index + 2]) if tokens[index + 2].isdigit() else 0
                if low < high <= low + 60:
                    days.extend(range(low, high + 1))
                    index += 3
                    continue
            days.append(int(token))
        index += 1
    return ",".join(str(d) for d in dict.fromkeys(days)) if days else None


def _route(text: str) -> str | None:
    """The route written first in ``text``."""
    found = [(m.start(), route) for pattern, route in _ROUTES if (m := pattern.search(text))]
    return min(found)[1] if found else None


def dose_fields(
    drug: Term, match: re.Match[str], context: str, before: str, *, decimal_comma: bool
) -> dict[str, Any] | None:
    """The fields of a ``drug_dose`` fact; ``context`` is the rest of its sentence or row,
    ``before`` the text between the drug's name and its dose (and before the name)."""
    value = parse_number(match.group("dose"), decimal_comma=decimal_comma)
    if value is None or value <= 0:
        return None
    high = match.group("high")
    per = match.group("per_slash") or match.group("per_word") or match.group("per_daily")
    fields: dict[str, Any] = {
        "drug": drug.term,
        "dose": clean(value),
        "dose_high": None,
        "unit": normalise_unit(match.group("unit")),
        "per": _PER_WORDS.get((per or "").lower()) if per else None,
        "days": parse_days(before) or parse_days(context),
        "route": _route(context) or _route(before),
        "max_dose": None,
        "max_unit": None,
        "cumulative": bool(_CUMULATIVE.search(before + " " + context)),
    }
    if high is not None:
        top = parse_number(high, decimal_comma=decimal_comma)
        fields["dose_high"] = clean(top) if top and top > value else None
    if match.group("every"):
        every_unit = match.group("every_unit").lower()
        fields["every"] = f"{match.group('every')} {every_unit}"
        if fields["per"] is None:
            weeks = every_unit.startswith(("week", "semana", "wk"))
            fields["per"] = "cycle" if weeks else "dose"
    if limit := _MAX.search(context):
        top = parse_number(limit.group("dose"), decimal_comma=decimal_comma)
        if top is not None:
            fields["max_dose"], fields["max_unit"] = clean(top), normalise_unit(limit.group("unit"))
    return fields


def _drug_for(
    found: Sequence[Mention], text: str, floor: int, match: re.Match[str], claimed: set[int]
) -> Mention | None:
    """The drug named right after the dose on its line ("500 mg clarithromycin, and 30 mg
    lansoprazole"), else the nearest one before it (after ``floor``: the previous dose) that
    no earlier dose took as its following name."""
    before = [
        m for m in found if floor <= m.start and m.end <= match.start() and m.start not in claimed
    ]
    if before and TIGHT.match(text[before[-1].end : match.start()]):
        return before[-1]  # "Vincristina: 0,05 mg/kg", "vincristine 1.5 mg/m2"
    after = [m for m in found if m.start >= match.end()]
    if after:
        gap = text[match.end() : after[0].start]
        if "\n" not in gap and AFTER_GAP.match(gap):
            return after[0]
    if before and match.start() - before[-1].end <= MAX_GAP:
        return before[-1]
    return None


def _page_drug(named: Sequence[Mention], text: str, match_start: int) -> Mention | None:
    """For a dose whose sentence names no drug ("reduzir dose para 5mg/m2"): the drug named
    last before it on the page, if close and no other dose stands between them."""
    before = [m for m in named if m.end <= match_start]
    if not before or match_start - before[-1].end > PAGE_GAP:
        return None
    if DOSE.search(text, before[-1].end, match_start):
        return None
    return before[-1]


def is_maximum(text: str, match: re.Match[str]) -> bool:
    """Whether the figure is the cap written after a dose ("1.5 mg/m2 (max 2 mg)",
    "1,5 mg/m² (máx. 2 mg)") rather than a dose of its own."""
    cap = _MAX.search(text, max(0, match.start() - 30), match.end())
    return cap is not None and cap.end() == match.end()


def is_formulation(sentence: str, match: re.Match[str]) -> bool:
    """Whether the figure is a strength or a concentration rather than a dose."""
    unit = normalise_unit(match.group("unit")).lower()
    if unit == "ml":
        return True  # a volume
    if THRESHOLD.search(sentence[max(0, match.start() - 16) : match.start()]):
        return True  # ">= 250 mg/m2" in follow-up advice: a risk threshold, not a dose
    per_body = unit.endswith(("/kg", "/m2"))
    timed = match.group("per_slash") or match.group("per_word") or match.group("per_daily")
    following = sentence[match.end() : match.end() + 30]
    if per_body or timed or match.group("every") or _FREQUENCY.match(following):
        return False  # per kg or m², per day, every n hours: given, not a strength
    reach = sentence[max(0, match.start() - FORMULATION_REACH) : match.start()]
    return bool(_FORMULATION.search(reach))


def text_doses(page: int, text: str, *, decimal_comma: bool = True) -> list[Fact]:
    """``drug_dose`` facts of one page's exact text."""
    facts = []
    named = mentions(text, drugs())
    for begin, stop in sentences(text):
        sentence = text[begin:stop]
        found = within(named, begin, stop)
        floor = 0
        claimed: set[int] = set()
        for match in DOSE.finditer(sentence):
            mention = _drug_for(found, sentence, floor, match, claimed)
            floor = match.end()
            if mention is None and not found:
                mention = _page_drug(named, text, begin + match.start())
                if mention is not None:  # re-based on the sentence like the others
                    mention = Mention(mention.term, mention.start - begin, mention.end - begin)
            if mention is None:
                continue
            if mention.start >= match.end():
                claimed.add(mention.start)
            if is_formulation(sentence, match):
                continue
            line_start = sentence.rfind("\n", 0, min(mention.start, match.start())) + 1
            first = min(mention.start, match.start())
            before = sentence[line_start:first] + " " + sentence[mention.end : match.start()]
            context = sentence[match.end() : match.end() + 120]
            fields = dose_fields(mention.term, match, context, before, decimal_comma=decimal_comma)
            if fields is None:
                continue
            start = begin + first
            end = begin + max(mention.end, match.end())
            facts.append(Fact("drug_dose", page, start, end, text[start:end], fields))
    return facts
