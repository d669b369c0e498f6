"""Fidelity, privacy and utility of a synthetic table against its reference.

Fidelity compares with the training split (what the generator saw): per column, the KS
statistic, the Wasserstein distance divided by the column's real range and the
Jensen-Shannon distance (base 2) over 20 bins of the real range for numbers; total variation
and Jensen-Shannon distance over the categories; the difference in missing share. Pairwise:
the mean absolute difference of correlation matrices (categories coded by spec order) and
the mean total variation distance of the two-way contingency tables of every column pair
(numbers binned at the real quintiles, missing as its own bin).

Privacy compares distances to the training split with distances to the holdout split
(rows encoded as in ``encode``; the training split is subsampled to the holdout's size so
the two are comparable): median distance to closest record (DCR) to each, the share of
synthetic rows closer to train than to holdout (about 0.5 when nothing was memorised),
the median nearest-neighbour distance ratio, exact copies of training rows and the
identifiability score (share of training rows whose nearest synthetic row is closer than
their nearest other training row).

Utility trains fixed classifiers on the synthetic rows and on the training split and tests
both on the holdout split: AUC and accuracy for the spec's target.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.neighbors import NearestNeighbors

from service.tabular.prompting import numeric_matrix
from service.tabular.schema import row_key
from service.tabular.spec import ColumnSpec, TableSpec, category_key

BINS = 20


class ColumnFidelity(BaseModel):
    column: str
    kind: str
    ks: float | None = None
    wasserstein: float | None = None
    tvd: float | None = None
    jsd: float | None = None
    missing_difference: float


class Fidelity(BaseModel):
    columns: list[ColumnFidelity]
    mean_ks: float | None
    mean_wasserstein: float | None
    mean_tvd: float | None
    mean_jsd: float | None
    correlation_distance: float | None
    contingency_distance: float | None


class Privacy(BaseModel):
    dcr_train_median: float
    dcr_holdout_median: float
    closer_to_train_share: float
    nndr_median: float
    exact_copies: int
    identifiability: float


class ClassifierScore(BaseModel):
    classifier: str
    auc: float | None
    accuracy: float | None
    note: str | None = None


class Utility(BaseModel):
    target: str
    synthetic: list[ClassifierScore]
    real: list[ClassifierScore]


def _present(values: pd.Series) -> pd.Series:
    return values[values.notna()]


def _shares(values: pd.Series, categories: Sequence[object]) -> np.ndarray:
    keys = _present(values).map(category_key)
    counts = np.array([(keys == category_key(c)).sum() for c in categories], dtype=float)
    return counts / counts.sum() if counts.sum() else counts


def column_fidelity(column: ColumnSpec, real: pd.Series, synthetic: pd.Series) -> ColumnFidelity:
    missing = (
        abs(float(real.isna().mean()) - float(synthetic.isna().mean())) if len(synthetic) else 1.0
    )
    result = ColumnFidelity(column=column.name, kind=column.kind, missing_difference=missing)
    if column.numeric:
        a = _present(real).to_numpy(dtype=float)
        b = _present(synthetic).to_numpy(dtype=float)
        if len(a) == 0 or len(b) == 0:
            return result
        span = float(a.max() - a.min()) or 1.0
        edges = np.linspace(a.min(), a.max(), BINS + 1)
        p = np.histogram(np.clip(a, a.min(), a.max()), edges)[0].astype(float)
        q = np.histogram(np.clip(b, a.min(), a.max()), edges)[0].astype(float)
        result.ks = float(stats.ks_2samp(a, b).statistic)
        result.wasserstein = float(stats.wasserstein_distance(a, b)) / span
        result.jsd = float(jensenshannon(p / p.sum(), q / q.sum(), base=2))
    else:
        categories = list(column.categories or ())
        p, q = _shares(real, categories), _shares(synthetic, categories)
        if p.sum() == 0 or q.sum() == 0:
            return result
        result.tvd = float(0.5 * np.abs(p - q).sum())
        result.jsd = float(jensenshannon(p, q, base=2))
    return result


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None and not np.isnan(v)]
    return float(np.mean(present)) if present else None


def _binned(frame: pd.DataFrame, real: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Every column as a discrete label: categories as they are, numbers by real quintile."""
    out = {}
    for column in spec.columns:
        values = frame[column.name]
        if column.numeric:
            edges = np.unique(
                np.nanquantile(real[column.name].to_numpy(dtype=float), [0.2, 0.4, 0.6, 0.8])
            )
            labels = np.digitize(values.to_numpy(dtype=float), edges).astype(str)
            out[column.name] = np.where(values.isna(), "NA", labels)
        else:
            out[column.name] = values.map(
                lambda v: "NA" if pd.isna(v) else category_key(v)
            ).to_numpy()
    return pd.DataFrame(out)


def contingency_distance(
    real: pd.DataFrame, synthetic: pd.DataFrame, spec: TableSpec
) -> float | None:
    if len(synthetic) == 0:
        return None
    a, b = _binned(real, real, spec), _binned(synthetic, real, spec)
    names = spec.names
    distances = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            p = (a[names[i]] + "|" + a[names[j]]).value_counts(normalize=True)
            q = (b[names[i]] + "|" + b[names[j]]).value_counts(normalize=True)
            keys = p.index.union(q.index)
            distances.append(
                0.5
                * float(np.abs(p.reindex(keys, fill_value=0) - q.reindex(keys, fill_value=0)).sum())
            )
    return float(np.mean(distances)) if distances else None


def correlation_matrix(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    return numeric_matrix(frame, spec).corr()


def correlation_distance(
    real: pd.DataFrame, synthetic: pd.DataFrame, spec: TableSpec
) -> float | None:
    if len(synthetic) < 3:
        return None
    a = correlation_matrix(real, spec).to_numpy()
    b = correlation_matrix(synthetic, spec).to_numpy()
    upper = np.triu_indices_from(a, k=1)
    # A column constant in the synthetic rows has no correlation: count it as 0.
    diff = np.abs(np.nan_to_num(a[upper]) - np.nan_to_num(b[upper]))
    return float(diff.mean()) if diff.size else None


def fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, spec: TableSpec) -> Fidelity:
    columns = [column_fidelity(c, real[c.name], synthetic[c.name]) for c in spec.columns]
    return Fidelity(
        columns=columns,
        mean_ks=_mean([c.ks for c in columns]),
        mean_wasserstein=_mean([c.wasserstein for c in columns]),
        mean_tvd=_mean([c.tvd for c in columns]),
        mean_jsd=_mean([c.jsd for c in columns]),
        correlation_distance=correlation_distance(real, synthetic, spec),
        contingency_distance=contingency_distance(real, synthetic, spec),
    )


def encode(
    frame: pd.DataFrame, reference: pd.DataFrame, spec: TableSpec, *, exclude: Sequence[str] = ()
) -> np.ndarray:
    """Rows as vectors: numbers scaled to [0, 1] by the reference's range (missing: 0 and a
    missing flag of 1), categories one-hot (missing: all zeros and the flag)."""
    parts = []
    for column in spec.columns:
        if column.name in exclude:
            continue
        values = frame[column.name]
        missing = values.isna().to_numpy()
        if column.numeric:
            ref = reference[column.name].to_numpy(dtype=float)
            low, high = np.nanmin(ref), np.nanmax(ref)
            scaled = (values.to_numpy(dtype=float) - low) / ((high - low) or 1.0)
            parts.append(np.where(missing, 0.0, scaled)[:, None])
        else:
            keys = values.map(lambda v: None if pd.isna(v) else category_key(v))
            for category in column.categories or ():
                parts.append((keys == category_key(category)).to_numpy(dtype=float)[:, None])
        if column.nullable:
            parts.append(missing.astype(float)[:, None])
    return np.hstack(parts) if parts else np.zeros((len(frame), 0))


def exact_copies(synthetic: pd.DataFrame, train: pd.DataFrame, spec: TableSpec) -> int:
    real = {row_key(spec, row) for row in train.to_dict("records")}
    return sum(row_key(spec, row) in real for row in synthetic.to_dict("records"))


def privacy(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    spec: TableSpec,
    *,
    seed: int,
) -> Privacy | None:
    if len(synthetic) == 0 or len(train) < 3:
        return None
    rng = np.random.default_rng(seed)
    s = encode(synthetic, train, spec)
    t = encode(train, train, spec)
    h = encode(holdout, train, spec)
    t_fair = t[rng.choice(len(t), size=min(len(h), len(t)), replace=False)]
    to_train = NearestNeighbors(n_neighbors=2).fit(t)
    d_train, _ = to_train.kneighbors(s)
    d_fair = NearestNeighbors(n_neighbors=1).fit(t_fair).kneighbors(s)[0][:, 0]
    d_holdout = NearestNeighbors(n_neighbors=1).fit(h).kneighbors(s)[0][:, 0]
    nndr = np.where(
        d_train[:, 1] > 0, d_train[:, 0] / np.where(d_train[:, 1] > 0, d_train[:, 1], 1), 0.0
    )
    # Identifiability: a training row whose nearest synthetic row is closer than its
    # nearest other training row is singled out by the synthetic data.
    real_to_real = to_train.kneighbors(t)[0][:, 1]
    real_to_synth = NearestNeighbors(n_neighbors=1).fit(s).kneighbors(t)[0][:, 0]
    return Privacy(
        dcr_train_median=float(np.median(d_train[:, 0])),
        dcr_holdout_median=float(np.median(d_holdout)),
        closer_to_train_share=float(
            np.mean(d_fair < d_holdout) + 0.5 * np.mean(d_fair == d_holdout)
        ),
        nndr_median=float(np.median(nndr)),
        exact_copies=exact_copies(synthetic, train, spec),
        identifiability=float(np.mean(real_to_synth < real_to_real)),
    )


def _classifiers(seed: int) -> list[tuple[str, object]]:
    return [
        ("logistic_regression", LogisticRegression(max_iter=2000)),
        ("random_forest", RandomForestClassifier(n_estimators=200, random_state=seed, n_jobs=1)),
    ]


def _labels(frame: pd.DataFrame, spec: TableSpec) -> np.ndarray:
    assert spec.target is not None
    positive = category_key(spec.positive)
    return (
        frame[spec.target]
        .map(lambda v: v is not None and category_key(v) == positive)
        .to_numpy(dtype=int)
    )


def _scores(
    train_frame: pd.DataFrame,
    test_frame: pd.DataFrame,
    reference: pd.DataFrame,
    spec: TableSpec,
    seed: int,
) -> list[ClassifierScore]:
    assert spec.target is not None
    x_train = encode(train_frame, reference, spec, exclude=[spec.target])
    y_train = _labels(train_frame, spec)
    x_test = encode(test_frame, reference, spec, exclude=[spec.target])
    y_test = _labels(test_frame, spec)
    scores = []
    for name, model in _classifiers(seed):
        if len(set(y_train)) < 2:
            scores.append(
                ClassifierScore(
                    classifier=name,
                    auc=None,
                    accuracy=None,
                    note="one class only in the training rows",
                )
            )
            continue
        model.fit(x_train, y_train)  # type: ignore[attr-defined]
        probability = model.predict_proba(x_test)[:, 1]  # type: ignore[attr-defined]
        auc = float(roc_auc_score(y_test, probability)) if len(set(y_test)) > 1 else None
        accuracy = float(accuracy_score(y_test, (probability >= 0.5).astype(int)))
        scores.append(ClassifierScore(classifier=name, auc=auc, accuracy=accuracy))
    return scores


def utility(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    spec: TableSpec,
    *,
    seed: int,
) -> Utility | None:
    if spec.target is None:
        return None
    empty = [
        ClassifierScore(classifier=n, auc=None, accuracy=None, note="no rows")
        for n, _ in _classifiers(seed)
    ]
    return Utility(
        target=spec.target,
        synthetic=_scores(synthetic, holdout, train, spec, seed) if len(synthetic) else empty,
        real=_scores(train, holdout, train, spec, seed),
    )
