"""Radiotherapy doses: totals, fractions, dose per fraction and boosts, in any of the
languages guidelines use ("54 Gy em 30 frações de 1,8 Gy", "dose total de 23,4 Gy",
"1.8 Gy/fraction", "5400 cGy")."""

from __future__ import annotations

import re
from typing import Any

from knowledge.facts.model import Fact
from knowledge.facts.numbers import NUMBER, RANGE_SEPARATOR, THRESHOLD, clean, parse_number
from knowledge.facts.text import mentions, sentences
from knowledge.vocabulary import radiotherapy_sites

GRAY = re.compile(
    rf"(?<![\w.,])(?P<dose>{NUMBER})(?:{RANGE_SEPARATOR}(?P<high>{NUMBER}))?\s?(?P<unit>c?Gy|[Gg]rays?)\b"
)
_PER_FRACTION_AFTER = re.compile(
    r"^\s*(?:/\s*(?:fr|fx|fraction|fração|fracção|fracción|dia|day|d)\b|"
    r"(?:per|por|each|cada|a)\s+(?:fr|fx|fraction|fração|fracção|fracción|sess|dia|day|día)|"
    r"daily|diári|diari)",
    re.IGNORECASE,
)
_PER_FRACTION_BEFORE = re.compile(
    r"(?:fra[cç](?:õ|o|ci)?(?:es|ões|ones|tions?)?|fractions?|fracties|[Ff]raktionen|frazioni|"
    r"fx|sess(?:ões|ions|iones))\s+(?:de|of|with|com|con|van|von|zu|à|da|di)\s*(?:\w+\s+){0,2}$"
    r"|(?:dose por fração|dose per fraction|dosis por fracción)\s*(?:de|of)?\s*$",
    re.IGNORECASE,
)
FRACTIONS = re.compile(
    r"(?<![\w.,])(?P<count>\d{1,2})\s?(?:fra[cç][õo]es|fracções|fracciones|fractions|fracties"
    r"|[Ff]raktionen|frazioni|fx|frs?\b"
    r"|sessões|sessions|sesiones|aplicações)",
    re.IGNORECASE,
)
_BOOST = re.compile(r"boost|reforço|sobreimpress|sobredosis|sobre-?dose|complemento", re.I)
WINDOW = 120  # characters of the same sentence searched for fractions after a total
# Survivorship follow-up guidelines state risk criteria as the dose "exposing" an organ
# ("RT >= 15 Gy to a vol exposing the heart", "Radiotherapy to a vol exposing the HP region
# < 30 Gy"): a criterion, not a course given, even where OCR of a multi-column page puts
# another column's words between the "<" and its figure.
_EXPOSURE = re.compile(
    r"\bexpos(?:ing|ed|ure)\b|\bexpuest[oa]s?\b|\bexposi[cç][aã]o\b|\bexpost[oa]s?\b|"
    r"\besposizione\b|\besposto\b|\bexponiert\b|\bexposition\b",
    re.IGNORECASE,
)
EXPOSURE_BEFORE = 160  # characters of the sentence before the figure
EXPOSURE_AFTER = 60  # ... and after it


def risk_criterion(sentence: str, start: int, end: int) -> bool:
    """Whether the figure at ``[start, end)`` of ``sentence`` is a threshold or an exposure
    criterion of follow-up advice rather than a dose given."""
    if THRESHOLD.search(sentence[max(0, start - 16) : start]):
        return True
    before = sentence[max(0, start - EXPOSURE_BEFORE) : start]
    return bool(_EXPOSURE.search(before) or _EXPOSURE.search(sentence[end : end + EXPOSURE_AFTER]))


def _gray(match: re.Match[str], *, decimal_comma: bool) -> float | None:
    value = parse_number(match.group("dose"), decimal_comma=decimal_comma)
    if value is None or value <= 0:
        return None
    return value / 100 if match.group("unit").lower() == "cgy" else value


def radiotherapy_facts(page: int, text: str, *, decimal_comma: bool = True) -> list[Fact]:
    """``radiotherapy`` facts of one page's exact text: one per total dose, with the
    fractions and dose per fraction of the same sentence."""
    facts: list[Fact] = []
    for begin, stop in sentences(text):
        sentence = text[begin:stop]
        doses = list(GRAY.finditer(sentence))
        if not doses:
            continue
        per_fraction = [
            m
            for m in doses
            if _PER_FRACTION_AFTER.match(sentence[m.end() :])
            or _PER_FRACTION_BEFORE.search(sentence[max(0, m.start() - 40) : m.start()])
        ]
        totals = [m for m in doses if m not in per_fraction]
        sites = mentions(sentence, radiotherapy_sites())
        used: set[int] = set()
        for total in totals:
            value = _gray(total, decimal_comma=decimal_comma)
            if value is None or value > 80:  # not a therapeutic course (a typo, a TBI cGy mix-up)
                continue
            if risk_criterion(sentence, total.start(), total.end()):
                continue
            end = total.end()
            fields: dict[str, Any] = {
                "site": None,
                "total_gy": clean(value),
                "fractions": None,
                "per_fraction_gy": None,
                "boost": _boost(sentence, total.start(), end, totals),
            }
            window = sentence[end : end + WINDOW]
            nearest_total = next((m.start() for m in totals if m.start() > end), len(sentence))
            count = FRACTIONS.search(window)
            if count and end + count.start() < nearest_total:
                fields["fractions"] = int(count.group("count"))
                end = max(end, end + count.end())
            for fraction in per_fraction:
                if total.end() <= fraction.start() < nearest_total and id(fraction) not in used:
                    gray = _gray(fraction, decimal_comma=decimal_comma)
                    if gray is not None and gray < value:
                        fields["per_fraction_gy"] = clean(gray)
                        used.add(id(fraction))
                        end = max(end, fraction.end())
                        break
            if fields["fractions"] is None and fields["per_fraction_gy"]:
                count_guess = value / float(fields["per_fraction_gy"])
                if abs(count_guess - round(count_guess)) < 0.01:
                    fields["fractions"] = round(count_guess)
            near = [s for s in sites if abs(s.start - total.start()) <= WINDOW]
            if near:
                fields["site"] = min(near, key=lambda s: abs(s.start - total.start())).term.term
            start = begin + total.start()
            stop_at = begin + end
            facts.append(Fact("radiotherapy", page, start, stop_at, text[start:stop_at], fields))
        for fraction in per_fraction:  # "1.8 Gy/fraction" alone: its course is elsewhere
            if id(fraction) in used:
                continue
            gray = _gray(fraction, decimal_comma=decimal_comma)
            if gray is None or gray > 20:
                continue
            fields = {
                "site": None,
                "total_gy": None,
                "fractions": None,
                "per_fraction_gy": clean(gray),
                "boost": False,
            }
            start, stop_at = begin + fraction.start(), begin + fraction.end()
            facts.append(Fact("radiotherapy", page, start, stop_at, text[start:stop_at], fields))
    return facts


BOOST_BEFORE = 120  # characters before a total in which "boost" may name it


def _boost(sentence: str, start: int, end: int, totals: list[re.Match[str]]) -> bool:
    """A boost: the word stands just after the total ("54 Gy with a boost"), or before it
    in its own clause, back to the previous total or clause break, however long the words
    between ("a boost to the residual mass that remains PET-positive at late response
    assessment: 10.8 Gy")."""
    left = max([0, start - BOOST_BEFORE, *(m.end() for m in totals if m.end() <= start)])
    left = max(left, sentence.rfind(";", 0, start) + 1)
    return bool(_BOOST.search(sentence[left : end + 20]))
