"""Plausibility bounds for the clinical rules, read from bounds.toml (sources named there)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

BOUNDS_FILE = Path(__file__).with_name("bounds.toml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    """An inclusive [low, high] range written as a two-item list in the file."""

    low: float
    high: float

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError(f"a range is [low, high], got {value!r}")
            return {"low": value[0], "high": value[1]}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError(f"range low {self.low} is above high {self.high}")
        return self

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.low:g}-{self.high:g}"


class Anthracyclines(_Strict):
    source: str
    max_cumulative_mg_m2: float = Field(gt=0)
    doxorubicin_equivalence: dict[str, float]


class SiteDose(_Strict):
    total_gy: Range
    fraction_gy: Range


class RadiotherapyBounds(_Strict):
    source: str
    exempt_techniques: list[str]
    tbi_site: str
    boost_gy: Range
    max_total_with_boost_gy: float
    tbi_to_hsct_max_days: int = Field(ge=0)
    default: SiteDose
    sites: dict[str, SiteDose]


class SexTerms(_Strict):
    sites: list[str]
    topography_prefixes: list[str]
    procedures: list[str]


class SexSpecific(_Strict):
    source: str
    male: SexTerms
    female: SexTerms


class Donors(_Strict):
    source: str
    siblings: list[str]
    relatives: list[str]
    unrelated: list[str]


class Bounds(_Strict):
    anthracyclines: Anthracyclines
    radiotherapy: RadiotherapyBounds
    sex_specific: SexSpecific
    donors: Donors

    @classmethod
    def load(cls, path: Path = BOUNDS_FILE) -> Bounds:
        """Read and check the bounds file; a wrong key or value fails here, naming it."""
        with open(path, "rb") as handle:
            return cls.model_validate(tomllib.load(handle))


def words_pattern(phrases: Sequence[str]) -> re.Pattern[str]:
    """Any of ``phrases`` as whole words, any case (``testes`` but not ``attestes``)."""
    return _words_pattern(tuple(phrases))


@cache
def _words_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
