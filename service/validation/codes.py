"""Code checks against the vocabularies shipped in knowledge/vocab/ (sources in its README):
ICD-O-3 morphology and topography codes against the tumour name and site, drug names
against the drug list and its WHO ATC codes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass

from knowledge import vocabulary as vocab
from knowledge.vocabulary import Term, find_terms
from service.validation.context import (
    CheckContext,
    Offending,
    check,
    chemotherapy_items,
    chemotherapy_label,
    diagnoses,
)

SOURCES = (
    "WHO ICD-O-3.2 (morphology, topography); WHO Collaborating Centre for Drug Statistics "
    "Methodology ATC/DDD Index (drugs); partial subsets, see knowledge/vocab/README.md"
)


@dataclass(frozen=True)
class Vocabulary:
    """The code systems a record is checked against."""

    drugs: tuple[Term, ...]
    morphologies: tuple[Term, ...]
    topographies: tuple[Term, ...]
    radiotherapy_sites: tuple[Term, ...]
    intrathecal: frozenset[str]  # generic names of drugs given intrathecally
    anthracyclines: frozenset[str]
    groups: tuple[vocab.TumourGroup, ...] = ()  # "low-grade glioma": names for many codes
    source: str = SOURCES

    @classmethod
    def bundled(cls) -> Vocabulary:
        """The CSV files of knowledge/vocab/ (drug flags read from drugs.csv's own columns)."""
        with open(vocab.VOCAB_DIR / "drugs.csv", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        flagged = {
            column: frozenset(r["name"].strip() for r in rows if r[column].strip() == "yes")
            for column in ("intrathecal", "anthracycline")
        }
        return cls(
            drugs=vocab.drugs(),
            morphologies=vocab.morphologies(),
            topographies=vocab.topographies(),
            radiotherapy_sites=vocab.radiotherapy_sites(),
            intrathecal=flagged["intrathecal"],
            anthracyclines=flagged["anthracycline"],
            groups=vocab.tumour_groups(),
        )

    def drug(self, name: str) -> Term | None:
        """The drug a name (generic, alias, brand) denotes, matched whole and without case."""
        return _exact(name, self.drugs)

    def morphology(self, code: str) -> Term | None:
        return next((t for t in self.morphologies if t.code == code), None)

    def topography(self, code: str) -> Term | None:
        return next((t for t in self.topographies if t.code == code), None)

    def radiotherapy_site(self, name: str) -> Term | None:
        return _exact(name, self.radiotherapy_sites)


def _exact(name: str, terms: tuple[Term, ...]) -> Term | None:
    wanted = " ".join(name.split()).casefold()
    return next((t for t in terms if wanted in (n.casefold() for n in t.names)), None)


def names_code(text: str, term: Term, terms: tuple[Term, ...]) -> bool | None:
    """Whether ``text`` (a tumour name or site) denotes ``term``'s code.

    True when it is the code's term or an alias, starts like the term's head ("osteosarcoma"
    for "osteosarcoma, NOS"), or mentions a name of that code; False when it only mentions
    names of other codes; None when it names no code at all (cannot be judged).
    """
    folded = " ".join(text.split()).casefold()
    head = term.term.split(",")[0].casefold()
    if folded in (n.casefold() for n in term.names) or folded == head:
        return True
    found = {t.code for t, _ in find_terms(text, terms)}
    if not found:
        return None
    return term.code in found


@check()
def morphology_known(ctx: CheckContext) -> Iterator[Offending]:
    for path, d in diagnoses(ctx.record):
        if ctx.vocabulary.morphology(d.icdo3_morphology) is None:
            yield {"path": path, "code": d.icdo3_morphology, "tumour": d.tumour}


@check()
def morphology_matches_tumour(ctx: CheckContext) -> Iterator[Offending]:
    for path, d in diagnoses(ctx.record):
        term = ctx.vocabulary.morphology(d.icdo3_morphology)
        if term and names_code(d.tumour, term, ctx.vocabulary.morphologies) is False:
            yield {"path": path, "code": d.icdo3_morphology, "term": term.term, "tumour": d.tumour}


@check()
def tumour_recognised(ctx: CheckContext) -> Iterator[Offending]:
    for path, d in diagnoses(ctx.record):
        if not find_terms(d.tumour, ctx.vocabulary.morphologies) and not _exact(
            d.tumour, ctx.vocabulary.morphologies
        ):
            yield {"path": path, "tumour": d.tumour}


@check()
def topography_known(ctx: CheckContext) -> Iterator[Offending]:
    for path, d in diagnoses(ctx.record):
        code = d.icdo3_topography
        if code is not None and ctx.vocabulary.topography(code) is None:
            yield {"path": path, "code": code, "site": d.site}


@check()
def topography_matches_site(ctx: CheckContext) -> Iterator[Offending]:
    for path, d in diagnoses(ctx.record):
        term = ctx.vocabulary.topography(d.icdo3_topography) if d.icdo3_topography else None
        if term and names_code(d.site, term, ctx.vocabulary.topographies) is False:
            yield {"path": path, "code": term.code, "term": term.term, "site": d.site}


@check()
def drug_known(ctx: CheckContext) -> Iterator[Offending]:
    for path, c in chemotherapy_items(ctx.record):
        if ctx.vocabulary.drug(c.drug) is None:
            yield {"path": path, "drug": c.drug, "item": chemotherapy_label(c)}


@check()
def drug_atc(ctx: CheckContext) -> Iterator[Offending]:
    for path, c in chemotherapy_items(ctx.record):
        term = ctx.vocabulary.drug(c.drug)
        if term is not None and c.atc is not None and c.atc.strip().upper() != term.code:
            yield {"path": path, "drug": c.drug, "atc": c.atc, "expected": term.code}
