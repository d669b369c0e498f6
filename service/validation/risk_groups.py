"""Which protocol risk groups a text names, and which a cited passage is for, read for the
risk-group rules apart from the generator's reader (``knowledge.risk``): nothing here calls
it or its heading records, so a mistake there is not repeated here.

A text names a group where a level word stands next to a risk noun: "high-risk", "low and
intermediate risk", "standard-risk, medium-risk or high-risk groups", "riesgo estándar y
alto", "de alto risco". "Average" is standard, "medium" (AIEOP-BFM) intermediate, "very high"
high. A hazard ("a high risk of breast cancer", "riesgo de infección") names no group.

A cited passage is for the groups its sentence on the cited page names, else for those the
heading above it names ("5. High-risk induction" over the COJEC table), the heading read
from the page's stored text by the validator's own heading reader (sections.py). A passage
that names no group is for every group.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from service.records import (
    ChemotherapyAdministration,
    Citation,
    PatientRecord,
    RadiotherapyCourse,
)
from service.validation.context import (
    CheckContext,
    Offending,
    check,
    chemotherapy_label,
    diagnoses,
    radiotherapy_label,
)
from service.validation.sections import NUMBERED, CitedPages, headings_above, is_heading, locate
from service.validation.verifier import fold

_LEVEL_WORDS: dict[str, str] = {
    "low": "low",
    "bajo": "low",
    "baixo": "low",
    "standard": "standard",
    "average": "standard",
    "estandar": "standard",
    "padrao": "standard",
    "habitual": "standard",
    "intermediate": "intermediate",
    "medium": "intermediate",
    "intermedio": "intermediate",
    "intermediario": "intermediate",
    "medio": "intermediate",
    "high": "high",
    "alto": "high",
}
_NOUNS = frozenset({"risk", "riesgo", "risco"})
_JOINERS = frozenset({"and", "or", "y", "o", "e", "ou", ",", "/", "-", "very", "muy", "muito"})
_HAZARD = frozenset({"of", "de", "do", "da", "for", "para"})  # "risk of", "riesgo de"
_WORD = re.compile(r"[a-z]+|[,/-]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\d\s])|\n[ \t]*\n")
_REACH = 400  # a sentence reaches at most this far beyond its quote on either side


def groups_named(text: str) -> frozenset[str]:
    """The risk groups ``text`` names (``service.records.RiskGroup`` values)."""
    words = _WORD.findall(fold(text))
    found: set[str] = set()
    for i, word in enumerate(words):
        if word not in _NOUNS:
            continue
        before = _levels(reversed(words[:i]))
        after = _levels(words[i + 1 :])
        if before and (i + 1 >= len(words) or words[i + 1] not in _HAZARD):
            found |= before
        if after and not before:
            found |= after
    return frozenset(found)


def _levels(words: Iterable[str]) -> set[str]:
    """The level words next to a risk noun, across joiners ("low and intermediate")."""
    levels: set[str] = set()
    for word in words:
        if word in _LEVEL_WORDS:
            levels.add(_LEVEL_WORDS[word])
        elif word == "group" and not levels:
            continue  # "risk group high"
        elif word not in _JOINERS:
            break
    return levels


@dataclass(frozen=True)
class PassageScope:
    """The groups a cited passage is for (empty: every group), and where they are named."""

    groups: frozenset[str] = frozenset()
    heading: str | None = None  # the heading naming them; None: the sentence or nothing


def scope_of(quote: str, page_text: str | None) -> PassageScope:
    """The groups ``quote`` is for: its sentence's on the page, else its heading's."""
    named = groups_named(quote)
    if named or page_text is None:
        return PassageScope(named)
    span = locate(quote, page_text)
    if span is None:
        return PassageScope()
    if named := groups_named(_sentence(page_text, *span)):
        return PassageScope(named)
    heading = heading_above(page_text, span[0])
    return PassageScope(groups_named(heading), heading) if heading else PassageScope()


def heading_above(page_text: str, position: int) -> str | None:
    """The heading a statement at ``position`` of the page stands under: the nearest heading
    line above it that names a risk group, looking past unnumbered ones that name none (a
    table's header row, a subheading) up to the first numbered one ("5. High-risk
    induction"), its section's."""
    for heading in headings_above(page_text, position):
        if groups_named(heading) or NUMBERED.match(heading):
            return heading
    return None


def _sentence(page_text: str, start: int, end: int) -> str:
    """The sentence of the page holding ``page_text[start:end]`` (headings end one)."""
    low = max(0, start - _REACH)
    high = min(len(page_text), end + _REACH)
    before = [m.end() for m in _SENTENCE_END.finditer(page_text, low, start)]
    after = [m.start() for m in _SENTENCE_END.finditer(page_text, end, high)]
    first = max(before, default=low)
    last = min(after, default=high)
    lines = page_text[first:last].split("\n")
    at = first
    kept_from, kept_to = first, last
    for line in lines:  # a heading line above or below the quote bounds its sentence
        line_end = at + len(line)
        if is_heading(line):
            if line_end <= start:
                kept_from = max(kept_from, line_end)
            elif at >= end:
                kept_to = min(kept_to, at)
        at = line_end + 1
    return page_text[kept_from:kept_to]


# -- the risk-group rules (rules.toml) ---------------------------------------------------


@check()
def risk_group_cited(ctx: CheckContext) -> Iterator[Offending]:
    """A diagnosis with a risk group cites a quote naming that group."""
    for path, diagnosis in diagnoses(ctx.record):
        group = diagnosis.risk_group
        if group is None or any(group in groups_named(c.quote) for c in diagnosis.citations):
            continue
        quotes = "; ".join(f"'{_short(c.quote)}'" for c in diagnosis.citations) or "none"
        yield {"path": path, "risk_group": group, "quotes": quotes}


@check()
def regimen_for_risk_group(ctx: CheckContext) -> Iterator[Offending]:
    """No chemotherapy item cites only passages for other risk groups than its tumour's."""
    for path, item, group, scope, quote in _misfits(ctx, ChemotherapyAdministration):
        assert isinstance(item, ChemotherapyAdministration)
        yield _offending(path, chemotherapy_label(item), group, scope, quote)


@check()
def course_for_risk_group(ctx: CheckContext) -> Iterator[Offending]:
    """No radiotherapy course cites only passages for other risk groups than its tumour's."""
    for path, item, group, scope, quote in _misfits(ctx, RadiotherapyCourse):
        assert isinstance(item, RadiotherapyCourse)
        yield _offending(path, radiotherapy_label(item), group, scope, quote)


def _offending(path: str, item: str, group: str, scope: PassageScope, quote: str) -> Offending:
    named = " and ".join(sorted(scope.groups, key=_ORDER.index))
    where = f" under the heading '{scope.heading}'" if scope.heading else ""
    return {
        "path": path,
        "item": item,
        "risk_group": group,
        "groups": named,
        "quote": _short(quote),
        "where": where,
    }


_ORDER = ("low", "standard", "intermediate", "high")


def _short(quote: str) -> str:
    return quote if len(quote) <= 100 else quote[:97] + "..."


def _misfits(ctx: CheckContext, kind: type) -> Iterator[tuple[str, object, str, PassageScope, str]]:
    """Items of ``kind`` whose every citation is for other groups only: (path, item, the
    tumour's group, the first citation's scope, its quote). Without a knowledge store (or
    the cited page's text) a quote is read alone, with no sentence around it or heading."""
    judged = [j for j in _judged(ctx.record) if isinstance(j[1], kind)]
    if not judged:
        return
    pages = CitedPages(ctx.chunks, (c for _, _, cites, _ in judged for c in cites))
    for path, item, citations, group in judged:
        scopes = [scope_of(c.quote, pages.text(c)) for c in citations]
        if scopes and all(s.groups and group not in s.groups for s in scopes):
            yield path, item, group, scopes[0], citations[0].quote


def _judged(record: PatientRecord) -> Iterator[tuple[str, object, list[Citation], str]]:
    """(path, item, citations, risk group) of each first-line chemotherapy item and
    radiotherapy course of a tumour with a risk group, the second tumour's by its own. A
    relapse's treatment is not judged: relapses are stratified anew, not by this group."""
    tumours = [(record.diagnosis, "", record.chemotherapy, record.radiotherapy)]
    if second := record.second_tumour:
        tumours.append(
            (second.diagnosis, "second_tumour.", second.chemotherapy, second.radiotherapy)
        )
    for diagnosis, prefix, chemotherapy, radiotherapy in tumours:
        if (group := diagnosis.risk_group) is None:
            continue
        for i, c in enumerate(chemotherapy):
            yield f"{prefix}chemotherapy[{i}]", c, c.citations, group
        for i, r in enumerate(radiotherapy):
            yield f"{prefix}radiotherapy[{i}]", r, r.citations, group
