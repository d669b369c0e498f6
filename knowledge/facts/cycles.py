"""How many cycles a regimen's sentence gives it, and how far apart they start.

"six cycles of VIDE given every 21 days", "4-6 cycles", "hasta 6 ciclos", "ciclos de 21
días administrados cada 3 semanas durante 9 ciclos", "a cada 3 semanas", "q3w", "of each
28-day cycle", "repeated on day 29". Read conservatively: a number counts only when a cycle
word (cycles, courses, ciclos, cursos) follows it, and not when it says when something
happens ("after two cycles", "tras 4 ciclos") or sets a floor ("at least 4 cycles"); an
interval only in days or weeks (never "every 6 hours", never "weekly", a drug's own rhythm
within a cycle), and not "intervalo de 14 dias" (a rest after a cycle, in manuals that
write it); of a range of intervals ("cada 14-21 dias") the shortest, the one the schedule
keeps at least. A sentence stating two different counts or intervals ("TG2 patients two
cycles and TG3 patients four cycles") states none for its regimen.

English, Spanish and Portuguese; patterns run on the sentence as written (any case).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORDS = {
    # English
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    # Spanish
    "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12,
    # Portuguese
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "três": 3, "quatro": 4, "sete": 7,
    "oito": 8, "nove": 9, "dez": 10, "onze": 11, "doze": 12,
}  # fmt: skip
_NUM = r"(?:\d{1,2}|" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")"
_CYCLE = r"(?:cycles?|courses?|ciclos?|cursos?)"
_DAYS = r"(?:days?|d[ií]as?)"
_WEEKS = r"(?:weeks?|wks?|semanas?)"
_UNIT = rf"(?P<unit>{_DAYS}|{_WEEKS})"
_RANGE = r"\s*(?:-|–|—|to|or|a|o|ou)\s*"

# "6 cycles", "six induction cycles", "4-6 ciclos", "× 6 cycles", "cuatro primeros ciclos".
_COUNT = re.compile(
    rf"(?<![\w.,/-])(?:[x×]\s?)?(?P<low>{_NUM})(?:{_RANGE}(?P<high>{_NUM}))?"
    rf"\s+(?:(?P<word>[^\W\d_][\w-]*)\s+)?{_CYCLE}\b",
    re.IGNORECASE,
)
# A count that is not the regimen's: when ("after two cycles"), a floor, how often something
# else happens ("imagem a cada 3 ciclos"), or what a trial's patients got ("a median of 4").
_NOT_A_COUNT = re.compile(
    r"(?:\b(?:after|following|before|prior to|until|tras|despu[eé]s de|antes de|ap[oó]s|"
    r"depois de|at least|a minimum of|al menos|como m[ií]nimo|pelo menos|no m[ií]nimo|"
    r"more than|fewer than|less than|m[aá]s de|menos de|mais de|end of|final de|fim de|"
    r"within|every|each|cada|median|mean|average|mediana|media|média|promedio)"
    r"(?:\s+(?:of|de|the|first|last|el|la|los|las|o|a|os|as|primeros|primeiros))*\s*)$",
    re.IGNORECASE,
)
_UP_TO = re.compile(
    r"\b(?:up to|a maximum of|no more than|hasta|m[aá]ximo de|at[eé]|no m[aá]ximo)\s*$",
    re.IGNORECASE,
)
# A word between the number and "cycles" that makes the number something else: a cycle's
# length ("21 day cycles"), or kinds of cycle ("three different courses are alternated").
_NOT_A_MODIFIER = re.compile(
    rf"^(?:{_DAYS}|{_WEEKS}|hours?|horas?|months?|mes(?:es)?|of|de|different|distinct|"
    r"diferentes|distint[oa]s|types?|kinds?|tipos?)$",
    re.IGNORECASE,
)

_INTERVALS = (
    # "every 21 days", "cada 3 semanas", "a cada 21 dias"; a range ("cada 14-21 dias",
    # "every 2 to 3 weeks") gives its shortest: what the schedule keeps at least
    re.compile(rf"\b(?:every|cada)\s+(?P<n>{_NUM})(?:{_RANGE}{_NUM})?\s*{_UNIT}\b", re.IGNORECASE),
    # "q21d", "q3w", "Q 3 weeks"
    re.compile(rf"\bq\s?(?P<n>\d{{1,2}})\s?(?P<unit>d|w|{_DAYS}|{_WEEKS})\b", re.IGNORECASE),
    # "28-day cycle", "3-week cycles" (not "a 5-day course": how long a drug is given)
    re.compile(rf"\b(?P<n>{_NUM})[-\s]{_UNIT}\s+(?:cycles?|ciclos?)\b", re.IGNORECASE),
    # "cycles of 21 days", "ciclos de 21 días", "ciclo de 4 semanas"
    re.compile(rf"\b(?:cycles?|ciclos?)\s+(?:of|de)\s+(?P<n>{_NUM})\s*{_UNIT}\b", re.IGNORECASE),
    # "at 21-day intervals" (not "intervalo de 14 dias": a manual's rest after a cycle)
    re.compile(rf"\b(?P<n>{_NUM})-{_UNIT}\s+intervals?\b", re.IGNORECASE),
    # "3-weekly", "three-weekly"
    re.compile(rf"\b(?P<n>{_NUM})-(?P<unit>weekly)\b", re.IGNORECASE),
)
# "repeated on day 29", "repetir el día 22", "repete-se no D22": the next cycle's day 1.
_REPEAT = re.compile(
    r"\b(?:repeat(?:ed|ing)?|restart(?:ed|ing)?|repetir|repetid[oa]s?|se repite|repite|"
    r"repete(?:-se)?|repetindo|reiniciar)\s+(?:(?:on|no|el|en|em|from|a partir del?)\s+)?"
    r"(?:day|d[ií]a|D)\s?(?P<day>\d{1,2})\b",
    re.IGNORECASE,
)
MIN_INTERVAL_DAYS = 7  # a shorter "interval" is a drug's rhythm within a cycle
MAX_INTERVAL_DAYS = 91
MAX_CYCLES = 30


@dataclass(frozen=True)
class CycleSchedule:
    """What a sentence states of its regimen's cycles; None where it states nothing."""

    cycles: tuple[int, int] | None = None  # least and most: "6 cycles" is (6, 6)
    interval_days: int | None = None  # from one cycle's day 1 to the next's


def _number(text: str) -> int:
    return int(text) if text.isdigit() else _WORDS[text.lower()]


def _counts(sentence: str) -> set[tuple[int, int]]:
    found = set()
    for m in _COUNT.finditer(sentence):
        if m.group("word") and _NOT_A_MODIFIER.match(m.group("word")):
            continue
        before = sentence[max(0, m.start() - 30) : m.start()]
        if _NOT_A_COUNT.search(before):
            continue
        low = _number(m.group("low"))
        high = _number(m.group("high")) if m.group("high") else low
        if _UP_TO.search(before):
            low = 1
        if 1 <= low <= high <= MAX_CYCLES:
            found.add((low, high))
    return found


def _intervals(sentence: str) -> set[int]:
    found = set()
    for pattern in _INTERVALS:
        for m in pattern.finditer(sentence):
            unit = m.group("unit").lower()
            weeks = unit.startswith(("w", "s"))  # week(s), wk(s), weekly, semana(s)
            found.add(_number(m.group("n")) * (7 if weeks else 1))
    found |= {int(m.group("day")) - 1 for m in _REPEAT.finditer(sentence)}
    return {days for days in found if MIN_INTERVAL_DAYS <= days <= MAX_INTERVAL_DAYS}


def cycle_schedule(sentence: str) -> CycleSchedule:
    """The cycle count (or range) and interval one regimen's sentence states, each only
    where the sentence states exactly one."""
    counts, intervals = _counts(sentence), _intervals(sentence)
    return CycleSchedule(
        cycles=next(iter(counts)) if len(counts) == 1 else None,
        interval_days=next(iter(intervals)) if len(intervals) == 1 else None,
    )
