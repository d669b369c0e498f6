"""One tabular run as the CLI, the API and the benchmark do it: open the reference and its
rules, generate, and write the rows with their summary and provenance."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from service.exports.cells import safe_cell
from service.tabular.generate import TabularRun
from service.tabular.reference import BUNDLED, Reference, load_reference
from service.tabular.rules import TableRuleBook, bundled_rules_path
from service.tabular.spec import ColumnSpec, TableSpec


def open_reference(
    reference: str,
    *,
    spec_path: Path | None = None,
    rules_path: Path | None = None,
    split_seed: int = 0,
    write_inferred: Path | None = None,
) -> tuple[Reference, TableRuleBook, bool]:
    """The reference, its rule book (bundled for pbc and pima, ``rules_path`` otherwise, or
    none) and whether the spec was inferred."""
    loaded, inferred = load_reference(
        reference, spec_path=spec_path, split_seed=split_seed, write_inferred=write_inferred
    )
    if rules_path is None and reference in BUNDLED:
        rules_path = bundled_rules_path(reference)
    book = (
        TableRuleBook.load(rules_path, loaded.spec)
        if rules_path is not None
        else TableRuleBook([], loaded.spec)
    )
    return loaded, book, inferred


def _json_value(value: Any, column: ColumnSpec) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    value = value.item() if hasattr(value, "item") else value
    if column.kind == "integer":
        return int(value)
    if column.kind == "number":
        return round(float(value), column.decimals)
    return value


def rows_json(frame: pd.DataFrame, spec: TableSpec) -> list[dict[str, Any]]:
    """Rows as JSON objects: integers as integers, numbers at the spec's precision."""
    columns = {c.name: c for c in spec.columns}
    return [
        {name: _json_value(value, columns[name]) for name, value in row.items()}
        for row in frame.to_dict("records")
    ]


def run_document(run: TabularRun, reference: Reference, rules_source: str | None) -> dict[str, Any]:
    """Summary, provenance and every dropped row's raw answers and reasons (not the rows)."""
    return {
        "reference": reference.name,
        "source": reference.source,
        "split": reference.split.describe(),
        "split_seed": reference.split.seed,
        "rules": rules_source,
        "summary": run.summary(),
        "provenance": run.provenance(),
        "dropped": [
            {"index": s.index, "seed": s.seed, "errors": s.errors, "raw": s.raw}
            for s in run.slots
            if s.fate == "dropped"
        ],
    }


def write_rows(frame: pd.DataFrame, spec: TableSpec, document: dict[str, Any], path: Path) -> None:
    """A ``.json`` file holds ``{"rows": [...], "run": {...}}``; a CSV holds the rows (missing
    as empty cells, numbers at the spec's precision, formula-like text quoted) and
    ``PATH.run.json`` the run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps({"rows": rows_json(frame, spec), "run": document}, indent=1))
        return
    out = frame.copy()
    numeric = {c.name: c.decimals for c in spec.columns if c.numeric}
    for name in out.columns:
        if name in numeric:
            out[name] = out[name].map(
                lambda v, d=numeric[name]: "" if pd.isna(v) else f"{float(v):.{d}f}"
            )
        else:  # text a spreadsheet would run as a formula is quoted; numbers stay
            out[name] = out[name].map(safe_cell)
    out.columns = pd.Index([safe_cell(str(name)) for name in out.columns])
    out.to_csv(path, index=False)
    path.with_name(path.name + ".run.json").write_text(json.dumps(document, indent=1))
