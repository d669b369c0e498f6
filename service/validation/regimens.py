"""Regimen structure: chemotherapy in protocol order, and each dose where it belongs.

A record's chemotherapy items carry no phase or purpose of their own; what they are is read
from the passages they cite: "Induction ... consisted of six cycles of VIDE: vincristine
1.5 mg/m2 ..." makes vincristine an induction dose, "Triple intrathecal therapy ... combines
methotrexate 12 mg" makes methotrexate 12 mg an intrathecal one, "Autologous HSCT ... uses
the BuMel regimen: ... melphalan 140 mg/m2" makes melphalan conditioning, and so does a
quote standing, on the cited page, under the heading "7. High-dose chemotherapy with
autologous stem cell rescue" (headings read by sections.py). The words are data
(regimens.toml); the drug roles come from knowledge/vocab/drugs.csv and the conditioning
regimen names from conditioning_regimens.csv. Nothing here reuses the generator's or the
fact extractor's reading of the same passages, only the grounding verifier's reading of
which dose a sentence gives which drug.

An item whose quotes say nothing, or contradict each other, is not judged.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from knowledge.vocabulary import VOCAB_DIR, drug_records
from service.records import ChemotherapyAdministration
from service.validation.context import (
    CheckContext,
    Offending,
    check,
    chemotherapy_items,
    chemotherapy_label,
)
from service.validation.regimen_terms import RegimenTerms
from service.validation.sections import CitedPages
from service.validation.verifier import drug_entry, fold, plain, stated_doses

_SHORT = 3  # names this short match only in capitals
_ROUTE_AFTER = 25  # characters after a dose in which its route may be written ("IV")


@dataclass(frozen=True)
class _Finder:
    """Whole-word names in folded text (short names in capitals), each mapped to a label."""

    long: re.Pattern[str] | None
    short: re.Pattern[str] | None
    label: dict[str, str]

    @classmethod
    def of(cls, names: Sequence[tuple[str, str]]) -> _Finder:
        label = {fold(n): of for n, of in names}
        long = sorted((n for n in label if len(n) > _SHORT), key=len, reverse=True)
        short = sorted((n for n in label if len(n) <= _SHORT), key=len, reverse=True)

        def pattern(found: list[str], upper: bool) -> re.Pattern[str] | None:
            if not found:
                return None
            names = [re.escape(n.upper() if upper else n) for n in found]
            return re.compile(rf"(?<![\w.])(?:{'|'.join(names)})(?!\w)")

        return cls(pattern(long, False), pattern(short, True), label)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, label) of every name in ``text`` (accents already dropped)."""
        found = []
        if self.long:
            found += [(m.start(), m.end(), m.group()) for m in self.long.finditer(text.lower())]
        if self.short:
            found += [(m.start(), m.end(), m.group().lower()) for m in self.short.finditer(text)]
        return sorted((s, e, self.label[name]) for s, e, name in found)

    def __call__(self, text: str) -> bool:
        return bool(self.find(text))


@dataclass(frozen=True)
class _Reader:
    terms: RegimenTerms
    phases: _Finder
    order: dict[str, int]
    relapse: _Finder
    conditioning: _Finder
    organ_transplant: _Finder
    supportive: _Finder
    routes: _Finder


@cache
def _reader() -> _Reader:
    terms = RegimenTerms.load()
    words = terms.words
    regimens = [
        name
        for row in _conditioning_regimens()
        for name in (row["name"], *row["aliases"].split("|"))
        if name.strip()
    ]
    return _Reader(
        terms=terms,
        phases=_Finder.of([(n, p.name) for p in terms.phase for n in p.names]),
        order={p.name: p.order for p in terms.phase},
        relapse=_Finder.of([(n, "relapse") for n in words.relapse]),
        conditioning=_Finder.of([(n, "conditioning") for n in (*words.conditioning, *regimens)]),
        organ_transplant=_Finder.of([(n, "organ") for n in words.organ_transplant]),
        supportive=_Finder.of([(n, "supportive") for n in words.supportive]),
        routes=_Finder.of(
            [(n, "intrathecal") for n in words.intrathecal]
            + [(n, "systemic") for n in words.systemic]
        ),
    )


def regimen_terms() -> RegimenTerms:
    """The words and numbers of regimens.toml."""
    return _reader().terms


def opens_a_line(phase: str) -> bool:
    """Whether a first line may begin with this phase (regimens.toml)."""
    return next(p.opens_a_line for p in _reader().terms.phase if p.name == phase)


def opens_a_line_in(phase: str) -> frozenset[str]:
    """The ICCC-3 main groups whose first line may begin with this phase where nothing
    else in the line opens one (regimens.toml ``opens_a_line_in``)."""
    return frozenset(next(p.opens_a_line_in for p in _reader().terms.phase if p.name == phase))


def _conditioning_regimens() -> list[dict[str, str]]:
    with open(VOCAB_DIR / "conditioning_regimens.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@cache
def _roles() -> dict[str, tuple[str, ...]]:
    """Each drug's vocabulary roles, the main one first."""
    return {d.term: tuple(d.roles) for d in drug_records()}


def roles_of(drug: str) -> tuple[str, ...]:
    entry = drug_entry(drug)
    return _roles().get(entry, ()) if entry else ()


# -- what an item is, read from its quotes --------------------------------------------------


def phase_of(item: ChemotherapyAdministration) -> str | None:
    """The one phase the item's quotes name; None when they name none or several."""
    reader = _reader()
    named = {label for c in item.citations for _, _, label in reader.phases.find(plain(c.quote))}
    orders = {reader.order[p] for p in named}
    if len(orders) != 1:
        return None
    return min(named, key=lambda p: (reader.order[p], p))


def _relapse_quote(quote: str) -> bool:
    """A passage on relapsed or refractory disease that names no first-line phase."""
    reader = _reader()
    text = plain(quote)
    return reader.relapse(text) and not reader.phases(text)


def is_conditioning(item: ChemotherapyAdministration, pages: CitedPages | None = None) -> bool:
    """A transplant's dose: a quote speaks of conditioning or the transplant (or names a
    conditioning regimen) or stands under a heading that does (on its page in ``pages``),
    or the drug is mainly a conditioning agent (busulfan, treosulfan) and no quote names a
    chemotherapy phase."""
    reader = _reader()
    quotes = [plain(c.quote) for c in item.citations]
    if any(_speaks_of_conditioning(q) for q in quotes):
        return True
    if pages is not None and _under_heading(item, pages, reader.conditioning):
        return True
    roles = roles_of(item.drug)
    return bool(roles) and roles[0] == "conditioning" and not any(map(reader.phases, quotes))


def _speaks_of_conditioning(quote: str) -> bool:
    """A quote names conditioning or the transplant other than as what its doses come
    before ("two courses of TVD before high-dose chemotherapy" is induction)."""
    reader = _reader()
    before = tuple(fold(w) for w in reader.terms.words.before_conditioning)
    return any(
        not quote[:start].lower().rstrip().endswith(before)
        for start, _, _ in reader.conditioning.find(quote)
    )


def supportive_reason(
    item: ChemotherapyAdministration, pages: CitedPages | None = None
) -> str | None:
    """Why the item is supportive care rather than chemotherapy, or None: a drug with no
    antineoplastic role, or one not mainly antineoplastic cited to a passage on supportive
    care or standing under a heading on it (on its page in ``pages``)."""
    roles = roles_of(item.drug)
    if not roles:
        return None  # unknown drugs are codes.drug_known's
    if not {"antineoplastic", "conditioning"} & set(roles):
        return f"a {roles[0]} drug ({'|'.join(roles)} in drugs.csv)"
    if roles[0] == "antineoplastic":
        return None
    supportive = _reader().supportive
    if any(supportive(plain(c.quote)) for c in item.citations):
        return f"a {roles[0]} given as supportive care in its cited passage"
    if pages is not None and (heading := _under_heading(item, pages, supportive)):
        return f"a {roles[0]} given as supportive care (its passage stands under '{heading}')"
    return None


def _under_heading(
    item: ChemotherapyAdministration, pages: CitedPages, says: _Finder
) -> str | None:
    """The heading a cited quote stands under on its page that ``says`` finds words of, or
    None. A nearer heading naming a chemotherapy phase ("Induction" below "7. High-dose
    chemotherapy ...") or a solid-organ transplant ends the search upwards."""
    reader = _reader()
    for citation in item.citations:
        for heading in pages.headings(citation):
            text = plain(heading)
            if reader.organ_transplant(text):
                break
            if says(text):
                return heading
            if reader.phases(text):
                break
    return None


def intrathecal_quote(item: ChemotherapyAdministration) -> str | None:
    """A cited quote that gives the item's drug at the item's dose intrathecally: the route
    written right after the dose, else the last one written before it in its sentence."""
    routes = _reader().routes
    for citation in item.citations:
        for sentence, dose in stated_doses(citation.quote, item.drug, item.dose, item.unit):
            end = dose.at + len(dose.text)
            after = re.split(r"[,;:]", sentence[end : end + _ROUTE_AFTER])[0]
            found = routes.find(after)
            route = found[0][2] if found else None
            if route is None:
                before = routes.find(sentence[: dose.at])
                route = before[-1][2] if before else None
            if route == "intrathecal":
                return citation.quote
    return None


# -- checks ----------------------------------------------------------------------------------


def _lines(ctx: CheckContext) -> dict[str, list[ChemotherapyAdministration]]:
    lines: dict[str, list[ChemotherapyAdministration]] = {}
    for path, item in chemotherapy_items(ctx.record):
        lines.setdefault(path.rsplit("[", 1)[0], []).append(item)
    return lines


@check()
def phase_order(ctx: CheckContext) -> Iterator[Offending]:
    """In each line, no dose of an earlier phase after a later phase has begun."""
    order = _reader().order
    for line, items in _lines(ctx).items():
        phased = [(i, p) for i in items if (p := phase_of(i)) and not is_conditioning(i)]
        reported: set[tuple[str, str]] = set()
        for item, phase in sorted(phased, key=lambda pair: pair[0].date):
            later = [
                (other, p)
                for other, p in phased
                if order[p] > order[phase] and other.date < item.date
            ]
            if not later:
                continue
            first, started = min(later, key=lambda pair: pair[0].date)
            if (phase, started) in reported:
                continue
            reported.add((phase, started))
            yield {
                "line": line,
                "phase": phase,
                "item": chemotherapy_label(item),
                "later": started,
                "first": chemotherapy_label(first),
            }


@check()
def relapse_regimen_in_relapse(ctx: CheckContext) -> Iterator[Offending]:
    """A regimen cited from a passage on relapsed disease is not first-line chemotherapy."""
    relapse = ctx.record.relapse
    where = (
        f"the relapse on {relapse.date} has its own second-line treatment"
        if relapse
        else "the record has no relapse"
    )
    for item in ctx.record.chemotherapy:
        quote = next((c.quote for c in item.citations if _relapse_quote(c.quote)), None)
        if quote is not None:
            yield {"item": chemotherapy_label(item), "quote": quote, "where": where}


def _cited_pages(ctx: CheckContext) -> CitedPages:
    """The pages the record's chemotherapy cites (none without a knowledge store)."""
    items = [item for _, item in chemotherapy_items(ctx.record)]
    return CitedPages(ctx.chunks, (c for item in items for c in item.citations))


@check()
def conditioning_with_hsct(ctx: CheckContext) -> Iterator[Offending]:
    """A conditioning dose falls in the days before a transplant of the record."""
    window = _reader().terms.conditioning_to_hsct_max_days
    transplants = [h.date for h in ctx.record.hsct]
    pages = _cited_pages(ctx)
    for path, item in chemotherapy_items(ctx.record):
        if not is_conditioning(item, pages):
            continue
        if any(0 <= (day - item.date).days <= window for day in transplants):
            continue
        yield {
            "path": path,
            "item": chemotherapy_label(item),
            "days": window,
            "transplants": ", ".join(map(str, transplants)) or "none",
        }


@check()
def not_supportive(ctx: CheckContext) -> Iterator[Offending]:
    pages = _cited_pages(ctx)
    for path, item in chemotherapy_items(ctx.record):
        reason = supportive_reason(item, pages)
        if reason is not None:
            yield {"path": path, "item": chemotherapy_label(item), "reason": reason}


@check()
def intrathecal_in_block(ctx: CheckContext) -> Iterator[Offending]:
    """An intrathecal dose is intrathecal therapy, not a systemic chemotherapy item."""
    for path, item in chemotherapy_items(ctx.record):
        quote = intrathecal_quote(item)
        if quote is not None:
            yield {"path": path, "item": chemotherapy_label(item), "quote": quote}
