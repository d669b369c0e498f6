"""Two statistical baselines made from the training split in the same run as the report.

- Independent sampling: each column drawn on its own from its training marginal (missing
  included), so marginals match and every dependence between columns is lost.
- Gaussian copula, written here with numpy and scipy: each column is mapped to normal
  scores through its empirical distribution (missing as the lowest band, a category as
  the band of its cumulative frequency, jittered inside it), the correlation of the scores
  is estimated, and new rows are drawn from that multivariate normal and mapped back
  through the empirical quantiles. Marginals and linear dependence are kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from service.tabular.spec import ColumnSpec, TableSpec, category_key

EPS = 1e-6


def independent_sample(train: pd.DataFrame, spec: TableSpec, rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            c.name: train[c.name].to_numpy(dtype=object)[rng.integers(len(train), size=rows)]
            for c in spec.columns
        }
    ).pipe(_typed, spec)


def _typed(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    for column in spec.columns:
        if column.numeric:
            frame[column.name] = pd.to_numeric(frame[column.name], errors="coerce").astype(float)
        else:
            frame[column.name] = (
                frame[column.name].astype(object).where(frame[column.name].notna(), None)
            )
    return frame


class _Marginal:
    """One column's empirical distribution on [0, 1]: missing first, then values."""

    def __init__(self, column: ColumnSpec, values: pd.Series):
        self.column = column
        present = values.dropna()
        self.missing = 1.0 - len(present) / len(values) if len(values) else 0.0
        if column.numeric:
            self.sorted = np.sort(present.to_numpy(dtype=float))
        else:
            keys = present.map(category_key)
            self.categories = [
                c for c in column.categories or () if (keys == category_key(c)).any()
            ]
            shares = np.array([(keys == category_key(c)).mean() for c in self.categories])
            self.bounds = np.concatenate([[0.0], np.cumsum(shares)])

    def to_uniform(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        u = np.empty(len(values))
        for i, value in enumerate(values):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                u[i] = rng.uniform(0, self.missing)
            elif self.column.numeric:
                n = len(self.sorted)
                low = np.searchsorted(self.sorted, value, side="left")
                high = np.searchsorted(self.sorted, value, side="right")
                u[i] = self.missing + (1 - self.missing) * rng.uniform(low, high) / n
            else:
                k = next(
                    j
                    for j, c in enumerate(self.categories)
                    if category_key(c) == category_key(value)
                )
                u[i] = self.missing + (1 - self.missing) * rng.uniform(
                    self.bounds[k], self.bounds[k + 1]
                )
        return np.clip(u, EPS, 1 - EPS)

    def from_uniform(self, u: np.ndarray) -> list[object]:
        out: list[object] = []
        for value in u:
            if value < self.missing:
                out.append(None)
                continue
            q = (value - self.missing) / (1 - self.missing)
            if self.column.numeric:
                number = float(np.quantile(self.sorted, q)) if len(self.sorted) else np.nan
                out.append(round(number, self.column.decimals))
            else:
                k = min(
                    int(np.searchsorted(self.bounds, q, side="right")) - 1, len(self.categories) - 1
                )
                out.append(self.categories[max(k, 0)])
        return out


def gaussian_copula_sample(
    train: pd.DataFrame, spec: TableSpec, rows: int, seed: int
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    marginals = [_Marginal(c, train[c.name]) for c in spec.columns]
    scores = np.column_stack(
        [stats.norm.ppf(m.to_uniform(train[m.column.name], rng)) for m in marginals]
    )
    correlation = np.corrcoef(scores, rowvar=False)
    correlation = np.nan_to_num(correlation) + np.eye(len(marginals)) * 1e-6
    draws = rng.multivariate_normal(np.zeros(len(marginals)), correlation, size=rows, method="eigh")
    uniforms = stats.norm.cdf(draws)
    frame = pd.DataFrame(
        {m.column.name: m.from_uniform(uniforms[:, j]) for j, m in enumerate(marginals)}
    )
    return _typed(frame, spec)
