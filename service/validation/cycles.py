"""Cycles as the cited passage states them.

"Induction ... consisted of six cycles of VIDE given every 21 days: vincristine 1.5 mg/m2
..." gives the items citing it at most six cycles, each starting at least 21 days after the
one before (a delay is usual, an earlier start is not what the guideline says). What a quote
says of its cycles is read here word by word, with the words of regimens.toml
(``[cycles]``); nothing is shared with the generator's reading of the same sentences
(``knowledge.facts.cycles``). A quote that says nothing, or two different things, is not
judged; fewer cycles than stated are allowed (the anthracycline bound may cut them). Which
phase may open a first line is ``service.validation.line_opening``'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

from service.records import ChemotherapyAdministration, PatientRecord
from service.validation.context import (
    CheckContext,
    Offending,
    check,
    chemotherapy_items,
)
from service.validation.regimens import is_conditioning, regimen_terms
from service.validation.verifier import fold

_TOKEN = re.compile(r"\d+|[^\W\d_]+|-")
_BARE = ".,/-"  # a number right after one of these is part of something else ("COPDAC-28")


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int


Phrase = tuple[str, ...]


@dataclass(frozen=True)
class _Words:
    """regimens.toml's ``[cycles]`` as token sets and phrases."""

    max_cycles: int
    interval_days: tuple[int, int]
    nouns: frozenset[str]
    length_nouns: frozenset[str]
    range_words: frozenset[str]
    ceiling: tuple[Phrase, ...]
    not_a_count: tuple[Phrase, ...]
    connectors: frozenset[str]
    not_a_modifier: frozenset[str]
    every: frozenset[str]
    days: frozenset[str]
    weeks: frozenset[str]
    short_days: frozenset[str]
    short_weeks: frozenset[str]
    intervals: frozenset[str]
    weekly: frozenset[str]
    repeat: tuple[Phrase, ...]
    repeat_connectors: tuple[Phrase, ...]
    repeat_day: frozenset[str]
    numbers: dict[str, int]


def _phrases(names: Sequence[str]) -> tuple[Phrase, ...]:
    return tuple(tuple(_TOKEN.findall(fold(n))) for n in names)


@cache
def _words() -> _Words:
    w = regimen_terms().cycles
    return _Words(
        max_cycles=w.max_cycles,
        interval_days=(w.min_interval_days, w.max_interval_days),
        nouns=frozenset(w.nouns),
        length_nouns=frozenset(w.length_nouns),
        range_words=frozenset(w.range_words),
        ceiling=_phrases(w.ceiling),
        not_a_count=_phrases(w.not_a_count),
        connectors=frozenset(w.connectors),
        not_a_modifier=frozenset(w.not_a_modifier) | frozenset(w.days) | frozenset(w.weeks),
        every=frozenset(w.every),
        days=frozenset(w.days),
        weeks=frozenset(w.weeks),
        short_days=frozenset(w.short_days),
        short_weeks=frozenset(w.short_weeks),
        intervals=frozenset(w.intervals),
        weekly=frozenset(w.weekly),
        repeat=_phrases(w.repeat),
        repeat_connectors=_phrases(w.repeat_connectors),
        repeat_day=frozenset(w.repeat_day),
        numbers={fold(k): v for k, v in w.numbers.items()},
    )


@dataclass(frozen=True)
class StatedCycles:
    """What a quote states of its regimen's cycles (None: nothing, or two things)."""

    least: int | None = None
    most: int | None = None
    interval_days: int | None = None  # from one cycle's first day to the next's


class _Quote:
    """A folded quote as tokens, with the readings of counts and intervals."""

    def __init__(self, quote: str):
        self.text = fold(quote)
        self.tokens = [_Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(self.text)]
        self.words = _words()

    def at(self, i: int) -> str:
        return self.tokens[i].text if 0 <= i < len(self.tokens) else ""

    def number(self, i: int, *, digits_only: bool = False) -> int | None:
        text = self.at(i)
        if text.isdigit():
            return int(text)
        return None if digits_only else self.words.numbers.get(text)

    def spaced(self, i: int) -> bool:
        """Whether space separates token ``i`` from the one before it."""
        return i > 0 and self.tokens[i].start > self.tokens[i - 1].end

    def ends_with(self, i: int, phrases: tuple[Phrase, ...]) -> bool:
        """Whether the tokens up to ``i`` (inclusive) end with one of ``phrases``."""
        return any(
            i + 1 >= len(p) and tuple(t.text for t in self.tokens[i + 1 - len(p) : i + 1]) == p
            for p in phrases
        )

    def phrase_at(self, i: int, phrases: tuple[Phrase, ...]) -> int | None:
        """The index after the longest of ``phrases`` starting at token ``i``, or None."""
        found = [
            i + len(p) for p in phrases if tuple(t.text for t in self.tokens[i : i + len(p)]) == p
        ]
        return max(found, default=None)

    # -- counts --------------------------------------------------------------------------

    def counts(self) -> set[tuple[int, int]]:
        found, i = set(), 0
        while i < len(self.tokens):
            count, i = self._count_at(i)
            if count is not None:
                found.add(count)
        return found

    def _count_at(self, i: int) -> tuple[tuple[int, int] | None, int]:
        """The count stated from token ``i`` ("4 a 6 ciclos" is one), and where to read on."""
        low = self.number(i)
        if low is None or not self._stands_alone(i):
            return None, i + 1
        high, j = low, i + 1
        upper = self.number(j + 1) if self.at(j) in self.words.range_words else None
        if upper is not None:
            high, j = upper, j + 2
        noun = j if self.at(j) in self.words.nouns else self._after_modifier(j)
        if noun is None or self.at(noun) not in self.words.nouns or not self.spaced(noun):
            return None, i + 1
        before = i - 1 if self.at(i - 1) != "x" else i - 2
        if self._not_a_count(before):
            return None, noun + 1
        if self.ends_with(before, self.words.ceiling):
            low = 1
        return ((low, high) if 1 <= low <= high <= self.words.max_cycles else None), noun + 1

    def _stands_alone(self, i: int) -> bool:
        """A number not glued to a word or another number ("COPDAC-28", "1.5"), but "x6"."""
        start = self.tokens[i].start
        if start == 0:
            return True
        previous = self.text[start - 1]
        if previous == "x":
            return self.at(i - 1) == "x"
        return not (previous.isalnum() or previous in _BARE)

    def _after_modifier(self, j: int) -> int | None:
        """The token after one word ("induction", "low-dose") standing before a cycle word."""
        if not self.at(j) or self.at(j)[0].isdigit() or self.at(j) == "-" or not self.spaced(j):
            return None
        k = j
        while k + 1 < len(self.tokens) and not self.spaced(k + 1):
            k += 1
        if self.text[self.tokens[j].start : self.tokens[k].end] in self.words.not_a_modifier:
            return None
        return k + 1

    def _not_a_count(self, i: int) -> bool:
        while i >= 0 and self.at(i) in self.words.connectors:
            if self.ends_with(i, self.words.not_a_count):
                return True
            i -= 1
        return i >= 0 and self.ends_with(i, self.words.not_a_count)

    # -- intervals ------------------------------------------------------------------------

    def intervals(self) -> set[int]:
        found = set()
        for i in range(len(self.tokens)):
            found |= self._intervals_at(i)
        low, high = self.words.interval_days
        return {d for d in found if low <= d <= high}

    def _unit(self, i: int, *, short: bool = False) -> int | None:
        """Days in one of token ``i``'s unit (1 for days, 7 for weeks), or None."""
        text, w = self.at(i), self.words
        if text in w.days or (short and text in w.short_days):
            return 1
        if text in w.weeks or (short and text in w.short_weeks):
            return 7
        return None

    def _intervals_at(self, i: int) -> set[int]:
        found = {self._every(i), self._q(i), self._repeated(i), self._cycles_of(i)}
        return {days for days in found | self._lengths(i) if days is not None}

    def _every(self, i: int) -> int | None:
        """every 21 days, cada 3 semanas; of "cada 14-21 dias" the shortest, 14"""
        if self.at(i) not in self.words.every:
            return None
        n, j = self.number(i + 1), i + 2
        if self.at(j) in self.words.range_words and self.number(j + 1) is not None:
            j += 2
        unit = self._unit(j)
        return n * unit if n and unit else None

    def _q(self, i: int) -> int | None:
        """q21d, q3w"""
        if self.at(i) != "q":
            return None
        n, unit = self.number(i + 1, digits_only=True), self._unit(i + 2, short=True)
        return n * unit if n and unit else None

    def _lengths(self, i: int) -> set[int | None]:
        """28-day cycle, 21-day intervals, 3-weekly"""
        n, w = self.number(i), self.words
        if n is None or not self._stands_alone(i):
            return set()
        hyphen = self.at(i + 1) == "-"
        j = i + 2 if hyphen else i + 1
        unit = self._unit(j)
        found: set[int | None] = set()
        if unit and self.at(j + 1) in w.length_nouns:
            found.add(n * unit)
        if unit and hyphen and self.at(j + 1) in w.intervals:
            found.add(n * unit)
        if hyphen and self.at(i + 2) in w.weekly:
            found.add(n * 7)
        return found

    def _cycles_of(self, i: int) -> int | None:
        """ciclos de 21 dias, cycles of 3 weeks"""
        if self.at(i) not in self.words.length_nouns or self.at(i + 1) not in ("of", "de"):
            return None
        n, unit = self.number(i + 2), self._unit(i + 3)
        return n * unit if n and unit else None

    def _repeated(self, i: int) -> int | None:
        """repeated on day 29 (the next cycle's day 1: 28 days)"""
        if not self.ends_with(i, self.words.repeat):
            return None
        j = self.phrase_at(i + 1, self.words.repeat_connectors) or i + 1
        day = self.number(j + 1, digits_only=True)
        return day - 1 if self.at(j) in self.words.repeat_day and day else None


@cache
def stated_cycles(quote: str) -> StatedCycles:
    """The cycle count (or range) and interval a quote states, each where it states one."""
    read = _Quote(quote)
    counts, intervals = read.counts(), read.intervals()
    low, high = next(iter(counts)) if len(counts) == 1 else (None, None)
    interval = next(iter(intervals)) if len(intervals) == 1 else None
    return StatedCycles(least=low, most=high, interval_days=interval)


# -- checks ----------------------------------------------------------------------------------


def chemotherapy_lines(record: PatientRecord) -> dict[str, list[ChemotherapyAdministration]]:
    """Each line's items, conditioning left out (a transplant's, not a cycle's)."""
    lines: dict[str, list[ChemotherapyAdministration]] = {}
    for path, item in chemotherapy_items(record):
        if not is_conditioning(item):
            lines.setdefault(path.rsplit("[", 1)[0], []).append(item)
    return lines


def _by_quote(
    items: list[ChemotherapyAdministration],
) -> dict[str, list[ChemotherapyAdministration]]:
    cited: dict[str, list[ChemotherapyAdministration]] = {}
    for item in items:
        for quote in dict.fromkeys(c.quote for c in item.citations):
            cited.setdefault(quote, []).append(item)
    return cited


def _drugs(items: list[ChemotherapyAdministration]) -> str:
    return ", ".join(sorted({i.drug for i in items}))


def _starts(items: list[ChemotherapyAdministration]) -> list[tuple[int, date]]:
    """(cycle, first date) of each cycle the items give, in order."""
    first: dict[int, date] = {}
    for item in items:
        first[item.cycle] = min(item.date, first.get(item.cycle, item.date))
    return sorted(first.items(), key=lambda pair: (pair[1], pair[0]))


@check()
def cycles_as_stated(ctx: CheckContext) -> Iterator[Offending]:
    """No more cycles of a regimen than its cited passage gives it."""
    for line, items in chemotherapy_lines(ctx.record).items():
        for quote, cited in _by_quote(items).items():
            stated = stated_cycles(quote)
            cycles = len({i.cycle for i in cited})
            if stated.most is not None and cycles > stated.most:
                yield {
                    "line": line,
                    "cycles": cycles,
                    "drugs": _drugs(cited),
                    "stated": stated.most
                    if stated.least == stated.most
                    else f"{stated.least} to {stated.most}",
                    "quote": quote,
                }


@check()
def interval_as_stated(ctx: CheckContext) -> Iterator[Offending]:
    """A regimen's cycles start no sooner after each other than its cited passage says."""
    for line, items in chemotherapy_lines(ctx.record).items():
        for quote, cited in _by_quote(items).items():
            interval = stated_cycles(quote).interval_days
            if interval is None:
                continue
            starts = _starts(cited)
            for (_, previous), (cycle, day) in zip(starts, starts[1:], strict=False):
                if (day - previous).days < interval:
                    yield {
                        "line": line,
                        "cycle": cycle,
                        "drugs": _drugs(cited),
                        "date": day,
                        "days": (day - previous).days,
                        "stated": interval,
                        "quote": quote,
                    }
                    break  # one message per regimen
