"""The column spec of a table: types, units, ranges, categories, descriptions and how the
source codes missing values.

A spec is a JSON file a person can edit. ``infer_spec`` writes a first draft from a CSV
(ranges from the data, categories where a column has few distinct values); what it cannot
know (units, meanings, that Pima writes a missing glucose as 0) is for the person to add.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ColumnKind = Literal["integer", "number", "category"]
Category = str | int | float
MAX_CATEGORIES = 12  # inferred: a column with at most this many distinct values


class SpecError(ValueError):
    """A spec file that is unreadable or inconsistent with itself or with the data."""


def category_key(value: Any) -> str:
    """One text form per category value: 1, 1.0 and "1" are the same category."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return str(value).strip()


def identifier(name: str) -> str:
    """The name a rule expression uses for a column (``alk.phos`` -> ``alk_phos``)."""
    ident = re.sub(r"\W", "_", name)
    return f"_{ident}" if ident[:1].isdigit() else ident


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    kind: ColumnKind
    description: str = ""
    unit: str | None = None
    minimum: float | None = Field(None, description="Smallest allowed value (numeric kinds)")
    maximum: float | None = Field(None, description="Largest allowed value (numeric kinds)")
    decimals: int = Field(0, ge=0, le=6, description="Digits after the point (kind number)")
    categories: list[Category] | None = Field(None, description="Allowed values (category)")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Meaning of each category, keyed by its value"
    )
    missing_codes: list[Category] = Field(
        default_factory=list, description="Values the source writes for 'missing' (Pima: 0)"
    )
    nullable: bool = Field(False, description="Synthetic rows may leave it missing")

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        if self.kind == "category":
            if not self.categories:
                raise ValueError(f"column {self.name}: a category column needs categories")
        else:
            if self.minimum is None or self.maximum is None:
                raise ValueError(f"column {self.name}: a numeric column needs minimum and maximum")
            if self.minimum > self.maximum:
                raise ValueError(f"column {self.name}: minimum exceeds maximum")
            if self.kind == "integer" and self.decimals:
                raise ValueError(f"column {self.name}: an integer column has no decimals")
        return self

    @property
    def numeric(self) -> bool:
        return self.kind != "category"

    def category(self, value: Any) -> Category | None:
        """The spec's category equal to ``value`` (None if it is none of them)."""
        key = category_key(value)
        return next((c for c in self.categories or () if category_key(c) == key), None)

    def is_missing_code(self, value: Any) -> bool:
        return any(category_key(value) == category_key(code) for code in self.missing_codes)


class TableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    columns: list[ColumnSpec] = Field(min_length=1)
    target: str | None = Field(None, description="Outcome column for the utility test")
    positive: Category | None = Field(None, description="Target value counted as positive")
    ignore: list[str] = Field(
        default_factory=list, description="Source columns left out (identifiers)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> TableSpec:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("repeated column names")
        idents = [identifier(n) for n in names]
        if len(set(idents)) != len(idents):
            raise ValueError("two columns share a rule identifier")
        if self.target is not None:
            if self.target not in names:
                raise ValueError(f"target {self.target!r} is not a column")
            target = self.column(self.target)
            if target.kind != "category":
                raise ValueError("the target must be a category column")
            if self.positive is None or target.category(self.positive) is None:
                raise ValueError("positive must be one of the target's categories")
        return self

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @classmethod
    def load(cls, path: Path) -> TableSpec:
        try:
            return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SpecError(f"cannot read spec {path}: {exc}") from exc
        except ValidationError as exc:
            raise SpecError(f"{path}: invalid spec: {exc}") from exc

    def write(self, path: Path) -> None:
        Path(path).write_text(
            json.dumps(self.model_dump(mode="json", exclude_defaults=True), indent=2) + "\n",
            encoding="utf-8",
        )


def _decimals(values: pd.Series) -> int:
    """Digits after the point needed to write every value of the column (at most 4)."""
    for digits in range(5):
        if np.allclose(values, values.round(digits), atol=1e-9, rtol=0):
            return digits
    return 4


def infer_spec(frame: pd.DataFrame, name: str) -> TableSpec:
    """A first draft: ranges and categories as the data shows them, missing where empty."""
    columns = []
    for column in frame.columns:
        values = frame[column]
        present = values.dropna()
        nullable = bool(values.isna().any())
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        distinct = present.unique()
        if not numeric or len(distinct) <= min(MAX_CATEGORIES, max(2, len(present) // 10)):
            if len(distinct) > 50:
                raise SpecError(
                    f"column {column}: {len(distinct)} distinct non-numeric values; "
                    "leave it out (an identifier?) or recode it"
                )
            categories: list[Category] = sorted(
                (v.item() if isinstance(v, np.generic) else v for v in distinct),
                key=category_key,
            )
            categories = [
                int(c) if isinstance(c, float) and c.is_integer() else c for c in categories
            ]
            columns.append(
                ColumnSpec(
                    name=str(column), kind="category", categories=categories, nullable=nullable
                )
            )
            continue
        floats = present.astype(float)
        digits = _decimals(floats)
        kind: ColumnKind = "integer" if digits == 0 else "number"
        columns.append(
            ColumnSpec(
                name=str(column),
                kind=kind,
                minimum=math.floor(floats.min() * 10**digits) / 10**digits,
                maximum=math.ceil(floats.max() * 10**digits) / 10**digits,
                decimals=digits,
                nullable=nullable,
            )
        )
    return TableSpec(name=name, columns=columns)
