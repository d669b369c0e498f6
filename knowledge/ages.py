"""How usual each tumour is at each age: published ICCC-3 age-specific incidence rates.

``vocab/iccc_age_incidence.csv`` holds, per ICCC-3 main group or subgroup, the incidence
per million person-years in the age bands 0-4, 5-9, 10-14 and 15-19, transcribed from a
population registry's published table (the source of each row is in ``vocab/README.md``).
Only groups I-VI could be transcribed so far; tumours of groups VII-XII (liver, bone, soft
tissue, germ cell, epithelial) have no rate, and age does not judge them.
A tumour's rate is its first ICCC-3 subgroup's row (the usual paediatric site), else its
main group's; a request without a diagnosis then draws among the tumours its evidence
supports in proportion to these rates (``service/generation/blocks/diagnosis.py``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from knowledge.vocabulary import VOCAB_DIR, iccc_group, tumour_records

AGE_BANDS = ((0, 4), (5, 9), (10, 14), (15, 19))
USUAL = 1.0  # per million person-years: below it a tumour is not usual at that age


@dataclass(frozen=True)
class AgeIncidence:
    """One row: an ICCC-3 group or subgroup's rates by age band and where they come from."""

    iccc: str  # "IVa", "IIb|IIc|IId" (several subgroups the source reports together)
    name: str
    rates: tuple[float | None, ...]  # per AGE_BANDS; None where the source gives none
    source: str

    def rate(self, age: int) -> float | None:
        return self.rates[band_of(age)]


def band_of(age: int) -> int:
    """The index in ``AGE_BANDS`` of an age in years (20 and over: the last band)."""
    if age < 0:
        raise ValueError(f"age {age} is negative")
    return min(age // 5, len(AGE_BANDS) - 1)


def _keys(code: str) -> tuple[str, ...]:
    """The groups or subgroups a row stands for: "IIb|IIc|IId", "IV"; each must be ICCC-3."""
    keys = tuple(k.strip() for k in code.split("|") if k.strip())
    for key in keys:
        iccc_group(key)  # a ValueError names a malformed code
    return keys


@cache
def age_table() -> dict[str, AgeIncidence]:
    """Rows by key (main group "VIII", subgroup "VIIIc")."""
    table: dict[str, AgeIncidence] = {}
    with open(VOCAB_DIR / "iccc_age_incidence.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rates = tuple(
                float(row[f"rate_{low}_{high}"]) if row[f"rate_{low}_{high}"].strip() else None
                for low, high in AGE_BANDS
            )
            entry = AgeIncidence(row["iccc_code"], row["iccc_name"], rates, row["source_id"])
            for key in _keys(row["iccc_code"]):
                table[key] = entry
    return table


@cache
def _iccc_by_code() -> dict[str, tuple[str, ...]]:
    return {t.code: t.iccc for t in tumour_records()}


def rows_of(code: str) -> tuple[str | None, AgeIncidence | None, AgeIncidence | None]:
    """The morphology ``code``'s ICCC-3 main group (of its first subgroup, the usual
    paediatric site: "VIIIc2" -> VIII) with that group's row and its subgroup's (VIIIc),
    each None where the vocabulary or the table has none."""
    subgroups = _iccc_by_code().get(code, ())
    if not subgroups:
        return None, None, None
    first, table = subgroups[0], age_table()
    group = iccc_group(first)
    subgroup = group + first[len(group) : len(group) + 1]
    return group, table.get(group), table.get(subgroup) if subgroup != group else None


def incidence(code: str, age: int) -> AgeIncidence | None:
    """The most specific row that gives the morphology ``code`` a rate at ``age``: its
    subgroup's, else its main group's; None where neither does."""
    _, group, subgroup = rows_of(code)
    for entry in (subgroup, group):
        if entry is not None and entry.rate(age) is not None:
            return entry
    return None


def rate(code: str, age: int) -> float | None:
    entry = incidence(code, age)
    return entry.rate(age) if entry is not None else None
