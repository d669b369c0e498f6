"""The words regimen rules read, as regimens.toml states them: each phase (its names, its
rank in protocol order, whether it opens a line), the words of relapse, conditioning,
supportive care and routes, and how a quote states its cycles."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

TERMS_FILE = Path(__file__).with_name("regimens.toml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Phase(_Strict):
    name: str
    order: int = Field(ge=1)
    names: list[str] = Field(min_length=1)
    opens_a_line: bool = True
    # ICCC-3 main groups whose first line may open with the phase all the same, where the
    # line gives nothing that opens a line (maintenance after radiotherapy in CNS tumours)
    opens_a_line_in: list[str] = Field(default_factory=list)


class Words(_Strict):
    relapse: list[str]
    conditioning: list[str]
    organ_transplant: list[str]
    before_conditioning: list[str]
    supportive: list[str]
    intrathecal: list[str]
    systemic: list[str]


class CycleWords(_Strict):
    """The ``[cycles]`` table: how a quote states its regimen's cycles (service/validation/
    cycles.py reads it)."""

    max_cycles: int = Field(ge=1)
    min_interval_days: int = Field(ge=1)
    max_interval_days: int = Field(ge=1)
    nouns: list[str]
    length_nouns: list[str]
    range_words: list[str]
    ceiling: list[str]
    not_a_count: list[str]
    connectors: list[str]
    not_a_modifier: list[str]
    every: list[str]
    days: list[str]
    weeks: list[str]
    short_days: list[str]
    short_weeks: list[str]
    intervals: list[str]
    weekly: list[str]
    repeat: list[str]
    repeat_connectors: list[str]
    repeat_day: list[str]
    numbers: dict[str, int]


class RegimenTerms(_Strict):
    conditioning_to_hsct_max_days: int = Field(ge=0)
    phase: list[Phase] = Field(min_length=1)
    words: Words
    cycles: CycleWords

    @classmethod
    def load(cls, path: Path = TERMS_FILE) -> RegimenTerms:
        with open(path, "rb") as handle:
            return cls.model_validate(tomllib.load(handle))
