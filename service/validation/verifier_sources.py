"""The independent verifier's checks of the items a diagnosis and a radiotherapy course
carry beyond codes and doses: a predisposition syndrome, a brachytherapy's source,
applicator and dose rate, a metabolic therapy's radiopharmaceutical and activity.

Like ``verifier``, it reads the vocabularies' data files itself
(``predisposition_syndromes.csv``, ``radiation_sources.csv``) and shares no code with the
extractors generation reads these items with (``knowledge.predisposition``,
``knowledge.radionuclides``).
"""

from __future__ import annotations

import csv
import re
from functools import cache

from knowledge.vocabulary import VOCAB_DIR
from service.validation.verifier import _NUMBER, _compact, _Names, _sentences, _values, fold, plain

# -- predisposition syndromes -------------------------------------------------------------


def _vocabulary_rows(name: str) -> list[dict[str, str]]:
    with open(VOCAB_DIR / name, encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


@cache
def _syndromes() -> _Names:
    return _Names.of(
        (name, row["syndrome"])
        for row in _vocabulary_rows("predisposition_syndromes.csv")
        for name in (row["syndrome"], row["es"], row["pt"], *row["aliases"].split("|"))
        if name
    )


@cache
def _syndrome_genes() -> dict[str, tuple[str, ...]]:
    return {
        row["syndrome"]: tuple(g for g in row["genes"].split("|") if g)
        for row in _vocabulary_rows("predisposition_syndromes.csv")
    }


_GERMLINE = re.compile(r"germ-?line|constitution|herit|heredit|inherit|familia|germina|heredad")


def names_syndrome(quote: str, syndrome: str) -> bool:
    """The quote names the syndrome (any vocabulary name, any language), or says a variant
    of a gene that is the syndrome is germline ("germline TP53 variants")."""
    wanted = _syndromes().entry.get(_compact(syndrome))
    if wanted is None:
        return False
    if any(of == wanted for _, of in _syndromes().find(quote)):
        return True
    text = plain(quote)
    return bool(_GERMLINE.search(text.lower())) and any(
        re.search(rf"(?<![\w-]){re.escape(gene)}(?!\w)", text)
        for gene in _syndrome_genes().get(wanted, ())
    )


# -- brachytherapy and metabolic therapy ----------------------------------------------


@cache
def _radiation(kind: str) -> _Names:
    return _Names.of(
        (name, row["name"])
        for row in _vocabulary_rows("radiation_sources.csv")
        if row["kind"] == kind
        for name in (row["name"], row["es"], row["pt"], *row["aliases"].split("|"))
        if name
    )


_BRACHYTHERAPY = re.compile(r"(?<!\w)(?:brachyther|braquiter|curiether|curieter)")


def brachytherapy_unnamed(
    quote: str, source: str, applicator: str | None, dose_rate: str | None
) -> list[str]:
    """What of a brachytherapy course the quote does not name: brachytherapy itself, its
    source, its applicator, its dose rate (empty: the quote names them all)."""
    missing = [] if _BRACHYTHERAPY.search(fold(quote)) else ["brachytherapy"]
    for kind, value in (
        ("brachytherapy_source", source),
        ("applicator", applicator),
        ("dose_rate", dose_rate),
    ):
        if value is None:
            continue
        names = _radiation(kind)
        wanted = names.entry.get(_compact(value), value)
        if not any(of == wanted for _, of in names.find(quote)):
            missing.append(value)
    return missing


_ACTIVITY_UNITS = {"mbq": 1.0, "gbq": 1000.0, "mci": 37.0}
_ACTIVITY = re.compile(rf"(?<![\w.,])({_NUMBER})\s*(mbq|gbq|mci)(\s*(?:/|per|por)\s*kg)?(?!\w)")


def states_activity(quote: str, radiopharmaceutical: str, activity: float, unit: str) -> bool:
    """One sentence of the quote names the radiopharmaceutical and states this activity in
    this unit (per kg or not); the same activity written in another unit ("18 mCi/kg",
    "666 MBq/kg") counts, as 1 mCi is 37 MBq."""
    names = _radiation("radiopharmaceutical")
    wanted = names.entry.get(_compact(radiopharmaceutical))
    if wanted is None:
        return False
    base, _, per = unit.lower().partition("/")
    megabecquerel = activity * _ACTIVITY_UNITS[base]
    for raw in _sentences(quote):
        if not any(of == wanted for _, of in names.find(raw)):
            continue
        for m in _ACTIVITY.finditer(fold(raw)):
            if bool(m.group(3)) != bool(per):
                continue
            stated = {v * _ACTIVITY_UNITS[m.group(2)] for v in _values(m.group(1))}
            if any(abs(megabecquerel - s) <= 0.02 * s for s in stated):
                return True
    return False
