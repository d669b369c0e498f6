"""Reference vocabularies shipped as CSV data files (drugs with ATC, ICD-O-3 codes)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

VOCAB_DIR = Path(__file__).parent / "vocab"
SHORT_NAME = 4


@dataclass(frozen=True)
class Term:
    """A vocabulary entry: a code, its preferred term and lower-case aliases."""

    code: str
    term: str
    aliases: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return (self.term.lower(), *self.aliases)


def _read(name: str, code_column: str, term_column: str) -> tuple[Term, ...]:
    path = VOCAB_DIR / name
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return tuple(
        Term(
            code=row[code_column].strip(),
            term=row[term_column].strip(),
            aliases=tuple(a.strip().lower() for a in (row.get("aliases") or "").split("|") if a),
        )
        for row in rows
    )


@cache
def drugs() -> tuple[Term, ...]:
    """Drugs: code is the ATC code, term the lower-case generic name."""
    return _read("drugs.csv", "atc", "name")


@cache
def morphologies() -> tuple[Term, ...]:
    return _read("icdo3_morphology.csv", "code", "term")


@cache
def topographies() -> tuple[Term, ...]:
    return _read("icdo3_topography.csv", "code", "term")


@cache
def radiotherapy_sites() -> tuple[Term, ...]:
    """Irradiated sites: code and term are both the preferred site name."""
    return _read("radiotherapy_sites.csv", "site", "site")


@cache
def _name_pattern(name: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive; names of up to 4 characters are acronyms and must be
    written in capitals ("ALL" the leukaemia, not "all" the word)."""
    if len(name) <= SHORT_NAME:
        return re.compile(rf"(?<!\w){re.escape(name.upper())}(?!\w)")
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE)


def find_terms(text: str, terms: tuple[Term, ...]) -> list[tuple[Term, re.Match[str]]]:
    """Every mention of any term's name in ``text`` (case-insensitive, whole words)."""
    found = []
    for term in terms:
        for name in term.names:
            for match in _name_pattern(name).finditer(text):
                found.append((term, match))
    return sorted(found, key=lambda pair: pair[1].start())


def match_morphology(request: str) -> Term | None:
    """The tumour a request names, longest name first ("nodular sclerosis" over "hodgkin")."""
    best: tuple[int, Term] | None = None
    for term, match in find_terms(request, morphologies()):
        length = match.end() - match.start()
        if best is None or length > best[0]:
            best = (length, term)
    return best[1] if best else None
