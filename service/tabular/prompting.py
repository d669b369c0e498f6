"""The four prompt types, rendered from the versioned templates in ``prompts/templates``.

- ``example``: the headers and a few rows drawn (seeded) from the training split only;
- ``description``: a natural-language definition of each column, no data;
- ``statistics``: the definitions plus means, SDs, bounds, missing shares and category
  frequencies of the training split, and its strongest correlations;
- ``rules``: the definitions plus the data set's clinical rules, no rows and no statistics.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

from models.base import ChatMessage
from prompts import load_prompt
from service.tabular.reference import Reference
from service.tabular.rules import TableRuleBook
from service.tabular.schema import format_row, format_value
from service.tabular.spec import ColumnSpec, TableSpec, category_key

PromptType = Literal["example", "description", "statistics", "rules"]
PROMPT_TYPES: tuple[PromptType, ...] = get_args(PromptType)
TEMPLATE_OF: dict[PromptType, str] = {t: f"tabular_{t}" for t in PROMPT_TYPES}
EXAMPLE_ROWS = 5
TOP_CORRELATIONS = 5


def describe_column(column: ColumnSpec) -> str:
    text = f"- {column.name}: {column.description or column.name}"
    if column.unit:
        text += f" ({column.unit})"
    if column.kind == "category":
        values = ", ".join(
            f"{json.dumps(c)}"
            + (f" = {column.labels[category_key(c)]}" if category_key(c) in column.labels else "")
            for c in column.categories or ()
        )
        text += f"; one of {values}"
    else:
        assert column.minimum is not None and column.maximum is not None
        kind = (
            "whole number"
            if column.kind == "integer"
            else f"number with {column.decimals} decimals"
        )
        text += (
            f"; {kind} from {format_value(column, column.minimum)} "
            f"to {format_value(column, column.maximum)}"
        )
    if column.nullable:
        text += "; may be missing (null)"
    return text


def numeric_matrix(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Numeric columns as they are and category columns coded by their order in the spec,
    so correlations cover both (missing stays NaN)."""
    out = {}
    for column in spec.columns:
        if column.numeric:
            out[column.name] = frame[column.name].astype(float)
        else:
            codes = {category_key(c): float(i) for i, c in enumerate(column.categories or ())}
            out[column.name] = frame[column.name].map(
                lambda v, codes=codes: np.nan if pd.isna(v) else codes[category_key(v)]
            )
    return pd.DataFrame(out)


def statistics_text(frame: pd.DataFrame, spec: TableSpec) -> str:
    lines = []
    for column in spec.columns:
        values = frame[column.name]
        missing = values.isna().mean()
        note = f"; missing in {missing:.0%}" if missing > 0 else ""
        if column.numeric:
            present = values.dropna().astype(float)
            lines.append(
                f"- {column.name}: mean {present.mean():.{column.decimals + 1}f}, "
                f"SD {present.std():.{column.decimals + 1}f}, min {present.min():g}, "
                f"median {present.median():g}, max {present.max():g}{note}"
            )
        else:
            counts = values.dropna().map(category_key).value_counts(normalize=True)
            shares = ", ".join(
                f"{json.dumps(c)}: {counts.get(category_key(c), 0.0):.0%}"
                for c in column.categories or ()
            )
            lines.append(f"- {column.name}: {shares}{note}")
    return "\n".join(lines)


def strongest_correlations(
    frame: pd.DataFrame, spec: TableSpec, top: int = TOP_CORRELATIONS
) -> list[tuple[str, str, float]]:
    matrix = numeric_matrix(frame, spec).corr()
    names = list(matrix.columns)
    pairs = [
        (names[i], names[j], float(matrix.iloc[i, j]))
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if not np.isnan(matrix.iloc[i, j])
    ]
    return sorted(pairs, key=lambda p: -abs(p[2]))[:top]


def shape_text(spec: TableSpec) -> str:
    shape = {}
    for column in spec.columns:
        if column.kind == "category":
            shape[column.name] = "|".join(json.dumps(c) for c in column.categories or ())
        else:
            shape[column.name] = "0" + ("." + "0" * column.decimals if column.decimals else "")
    return json.dumps(shape)


@dataclass(frozen=True)
class RenderedPrompt:
    """The messages of one prompt type for a run, and what they are made of."""

    prompt_type: PromptType
    template_id: str
    template_version: int
    system: str
    user: str
    example_rows: tuple[int, ...] = ()  # train-split positions shown (example prompts)

    def messages(self, feedback: str = "") -> list[ChatMessage]:
        user = self.user.replace("$feedback", feedback)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


def render_prompt(
    prompt_type: PromptType,
    reference: Reference,
    rules: TableRuleBook,
    *,
    seed: int,
    examples: int = EXAMPLE_ROWS,
) -> RenderedPrompt:
    """The prompt for every row of a run; ``$feedback`` stays a slot for repairs."""
    spec = reference.spec
    template = load_prompt(TEMPLATE_OF[prompt_type])
    train = reference.train
    features = "\n".join(describe_column(c) for c in spec.columns)
    values = {
        "table": spec.name,
        "table_description": spec.description,
        "shape": shape_text(spec),
        "features": features,
        "header": ", ".join(spec.names),
        "examples": "",
        "statistics": "",
        "correlations": "",
        "rules": "",
        "feedback": "$feedback",
    }
    shown: tuple[int, ...] = ()
    if prompt_type == "example":
        rng = np.random.default_rng(seed)
        shown = tuple(
            sorted(int(i) for i in rng.choice(len(train), min(examples, len(train)), replace=False))
        )
        values["examples"] = "\n".join(format_row(spec, train.iloc[i].to_dict()) for i in shown)
    elif prompt_type == "statistics":
        values["statistics"] = statistics_text(train, spec)
        values["correlations"] = "\n".join(
            f"- {a} and {b}: r = {r:+.2f}" for a, b, r in strongest_correlations(train, spec)
        )
    elif prompt_type == "rules":
        values["rules"] = "\n".join(f"{i}. {rule.description}" for i, rule in enumerate(rules, 1))
    placeholders = template.placeholders()
    system, user = template.render(**{k: v for k, v in values.items() if k in placeholders})
    return RenderedPrompt(prompt_type, template.id, template.version, system, user, shown)
