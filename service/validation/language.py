"""Language checks: a Spanish record speaks Spanish where the vocabulary can.

It reads the vocabularies' data files itself (English name and ``es`` column of each row)
and shares no code with the generator's translation (``service.generation.localise``), so a
field that code forgets, or a name it looks up wrongly, is caught here. An English name is
flagged only where its Spanish name differs (accents and case aside: "pleura", "BEAM" and
"osteosarcoma, NOS"/"osteosarcoma, SAI" in their plain forms are the same word) and only
where it is not part of a Spanish name found in the same text. Quotes are never read: they
are the guideline's own words.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from knowledge.vocabulary import VOCAB_DIR
from service.records import (
    ChemotherapyAdministration,
    Diagnosis,
    PatientRecord,
    RadiotherapyCourse,
    Surgery,
)
from service.validation.context import CheckContext, Offending, check

# File -> the column holding the English name (each also has an ``es`` column).
_NAMED = {
    "drugs.csv": "name",
    "icdo3_morphology.csv": "term",
    "icdo3_topography.csv": "term",
    "body_sites.csv": "site",
    "radiotherapy_sites.csv": "site",
    "surgical_procedures.csv": "procedure",
    "supportive_care.csv": "term",
    "conditioning_regimens.csv": "name",
    "predisposition_syndromes.csv": "syndrome",
}
# "Not otherwise specified", in either language.
_QUALIFIER = re.compile(r",\s*(?:nos|sai)$", re.IGNORECASE)


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFD", text)
    return " ".join("".join(c for c in plain if not unicodedata.combining(c)).lower().split())


@dataclass(frozen=True)
class Translations:
    """English vocabulary names with a different Spanish name, and every Spanish name."""

    spanish_of: dict[str, tuple[str, str]]  # folded English name -> (English, Spanish)
    english: re.Pattern[str]
    spanish: re.Pattern[str]

    def english_in(self, text: str) -> list[tuple[str, str]]:
        """(English name, its Spanish name) for each English name in ``text`` that is not
        inside a Spanish name there."""
        folded = _fold(text)
        inside = [m.span() for m in self.spanish.finditer(folded)]
        found = []
        for m in self.english.finditer(folded):
            if not any(start <= m.start() and m.end() <= end for start, end in inside):
                found.append(self.spanish_of[m.group()])
        return found


def _pattern(names: Iterable[str]) -> re.Pattern[str]:
    ordered = sorted(set(names), key=len, reverse=True)  # the longest name at a place wins
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, ordered)) + r")(?!\w)")


@cache
def translations() -> Translations:
    pairs: dict[str, tuple[str, str]] = {}
    for file, column in _NAMED.items():
        with open(VOCAB_DIR / file, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                english, spanish = row[column].strip(), (row.get("es") or "").strip()
                if not spanish:
                    continue  # no Spanish name: the English one is what a Spanish record says
                for en, es in ((english, spanish), (_strip(english), _strip(spanish))):
                    if _fold(en) != _fold(es) and len(en) > 3:
                        pairs.setdefault(_fold(en), (en, es))
    spanish_names = {_fold(es) for _, es in pairs.values()}
    return Translations(pairs, _pattern(pairs), _pattern(spanish_names))


def _strip(name: str) -> str:
    return _QUALIFIER.sub("", name)


# -- the record's clinical text fields ------------------------------------------------


def _diagnosis(path: str, d: Diagnosis) -> Iterator[tuple[str, str]]:
    yield f"{path}.tumour", d.tumour
    yield f"{path}.site", d.site
    yield from ((f"{path}.metastasis_sites", s) for s in d.metastasis_sites)
    yield from ((f"{path}.genetic_conditions", g) for g in d.genetic_conditions)


def _chemotherapy(path: str, items: list[ChemotherapyAdministration]) -> Iterator[tuple[str, str]]:
    for i, c in enumerate(items):
        yield f"{path}[{i}].drug", c.drug


def _radiotherapy(path: str, courses: list[RadiotherapyCourse]) -> Iterator[tuple[str, str]]:
    for i, r in enumerate(courses):
        yield f"{path}[{i}].site", r.site
        if r.boost:
            yield f"{path}[{i}].boost.site", r.boost.site
        if r.shielding_block_site:
            yield f"{path}[{i}].shielding_block_site", r.shielding_block_site


def _surgery(path: str, items: list[Surgery]) -> Iterator[tuple[str, str]]:
    for i, s in enumerate(items):
        yield f"{path}[{i}].description", s.description
        for organ in [*s.organs_affected, *s.organs_removed]:
            yield f"{path}[{i}].organs", organ
        if s.shunt:
            yield f"{path}[{i}].shunt.type", s.shunt.type


def clinical_texts(record: PatientRecord) -> Iterator[tuple[str, str]]:
    """(path, text) of every field holding clinical words, and the summary."""
    yield "summary", record.summary
    yield from _diagnosis("diagnosis", record.diagnosis)
    yield from _chemotherapy("chemotherapy", record.chemotherapy)
    if record.intrathecal:
        yield from (("intrathecal.drugs", d) for d in record.intrathecal.drugs)
    yield from _radiotherapy("radiotherapy", record.radiotherapy)
    yield from _surgery("surgery", record.surgery)
    for i, h in enumerate(record.hsct):
        if h.conditioning:
            yield f"hsct[{i}].conditioning", h.conditioning
        yield from ((f"hsct[{i}].immunosuppression", d) for d in h.immunosuppression)
        yield from ((f"hsct[{i}].gvhd.organs", o) for g in h.gvhd for o in g.organs)
    if others := record.others:
        yield from (
            (f"others.intoxications[{i}].agent", x.agent)
            for i, x in enumerate(others.intoxications)
        )
        if cvc := others.central_venous_catheter:
            yield "others.central_venous_catheter.type", cvc.type
            yield from (
                ("others.central_venous_catheter.complications", c) for c in cvc.complications
            )
        if (fertility := others.fertility_preservation) and fertility.method:
            yield "others.fertility_preservation.method", fertility.method
    if relapse := record.relapse:
        yield "relapse.site", relapse.site
        if relapse.second_line_regimen:
            yield "relapse.second_line_regimen", relapse.second_line_regimen
        yield from _chemotherapy("relapse.second_line", relapse.second_line)
        yield from _radiotherapy(
            "relapse.second_line_radiotherapy", relapse.second_line_radiotherapy
        )
    if second := record.second_tumour:
        yield from _diagnosis("second_tumour.diagnosis", second.diagnosis)
        yield from _chemotherapy("second_tumour.chemotherapy", second.chemotherapy)
        yield from _radiotherapy("second_tumour.radiotherapy", second.radiotherapy)
        yield from _surgery("second_tumour.surgery", second.surgery)


@check()
def spanish_terms(ctx: CheckContext) -> Iterator[Offending]:
    if not ctx.record.provenance.language.startswith("es"):
        return
    names = translations()
    for path, text in clinical_texts(ctx.record):
        for english, spanish in names.english_in(text):
            yield {"path": path, "english": english, "spanish": spanish}
