"""Fidelity, privacy and utility metrics and the two baselines, on tiny hand-checked data."""

import numpy as np
import pandas as pd
import pytest

from service.tabular.baselines import gaussian_copula_sample, independent_sample
from service.tabular.metrics import (
    column_fidelity,
    contingency_distance,
    correlation_distance,
    correlation_matrix,
    exact_copies,
    privacy,
    utility,
)
from service.tabular.spec import ColumnSpec, TableSpec

X = ColumnSpec(name="x", kind="number", minimum=0, maximum=10, decimals=1, nullable=True)
C = ColumnSpec(name="c", kind="category", categories=["a", "b"])
SPEC = TableSpec(name="t", columns=[X, C], target="c", positive="b")


def frame(xs, cs):
    return pd.DataFrame({"x": pd.Series(xs, dtype=float), "c": pd.Series(cs, dtype=object)})


def test_numeric_column_ks_wasserstein_jsd_and_missing_share():
    real = pd.Series([0.0, 1.0, 2.0, 3.0], dtype=float)
    synthetic = pd.Series([1.0, 2.0, 3.0, 4.0, np.nan], dtype=float)
    result = column_fidelity(X, real, synthetic)
    assert result.ks == pytest.approx(0.25)  # ECDFs differ by 1/4 at most
    assert result.wasserstein == pytest.approx(1.0 / 3.0)  # shift of 1 over a real range of 3
    assert result.missing_difference == pytest.approx(0.2)
    assert column_fidelity(X, real, real).jsd == pytest.approx(0.0)


def test_category_column_total_variation_and_jensen_shannon():
    real = pd.Series(["a", "a", "b", "b"], dtype=object)
    synthetic = pd.Series(["a", "a", "a", "a"], dtype=object)
    result = column_fidelity(C, real, synthetic)
    assert result.tvd == pytest.approx(0.5)
    # JS divergence of (1/2, 1/2) and (1, 0) is 1.5 - 0.5 * H(3/4, 1/4) bits... its root:
    m = np.array([0.75, 0.25])
    divergence = 0.5 * (0.5 * np.log2(0.5 / 0.75) + 0.5 * np.log2(0.5 / 0.25)) + 0.5 * np.log2(
        1 / 0.75
    )
    assert result.jsd == pytest.approx(np.sqrt(divergence))
    assert m.sum() == 1


def test_pairwise_distances_see_a_broken_dependence():
    xs = [1.0, 2.0, 8.0, 9.0] * 5
    real = frame(xs, ["a", "a", "b", "b"] * 5)
    same = frame(xs, ["a", "a", "b", "b"] * 5)
    flipped = frame(xs, ["b", "b", "a", "a"] * 5)
    assert correlation_distance(real, same, SPEC) == pytest.approx(0.0)
    # x deviations -4, -3, 3, 4 (SD sqrt(12.5)); c coded 0/1 (SD 0.5); covariance 1.75:
    # r = 1.75 / (sqrt(12.5) * 0.5) = 0.98995, and -0.98995 once flipped.
    r = 1.75 / (np.sqrt(12.5) * 0.5)
    assert correlation_distance(real, flipped, SPEC) == pytest.approx(2 * r)
    assert contingency_distance(real, same, SPEC) == pytest.approx(0.0)
    assert contingency_distance(real, flipped, SPEC) == pytest.approx(1.0)  # disjoint cells


def test_privacy_counts_copies_and_singles_out_memorised_rows():
    train = frame([1.0, 3.0, 5.0, 7.0, 9.0, 2.0], ["a", "b", "a", "b", "a", "b"])
    # As large as train, so the size-matched train sample is all of it.
    holdout = frame([4.0, 6.0, 8.0, 4.5, 6.5, 8.5], ["a", "b", "a", "b", "a", "b"])
    copies = train.iloc[:3].reset_index(drop=True)
    result = privacy(copies, train, holdout, SPEC, seed=0)
    assert result is not None
    assert result.exact_copies == 3 and result.dcr_train_median == 0.0
    assert result.closer_to_train_share == 1.0 and result.nndr_median == 0.0
    # Rows 0-2 of train have a synthetic twin at distance 0 < their nearest other real row.
    assert result.identifiability == pytest.approx(3 / 6)
    assert exact_copies(frame([1.0], ["b"]), train, SPEC) == 0


def test_utility_trains_on_synthetic_and_tests_on_the_holdout():
    rng = np.random.default_rng(0)
    xs = rng.uniform(0, 10, 200).round(1)
    labels = np.where(xs > 5, "b", "a")
    train, holdout = frame(xs[:150], labels[:150]), frame(xs[150:], labels[150:])
    good = utility(train, train, holdout, SPEC, seed=0)
    assert good is not None
    assert all(s.auc == pytest.approx(1.0, abs=0.02) for s in good.synthetic + good.real)
    swapped = utility(
        frame(xs[:150], np.where(xs[:150] > 5, "a", "b")), train, holdout, SPEC, seed=0
    )
    assert swapped is not None and all(s.auc < 0.1 for s in swapped.synthetic)
    one_class = utility(frame([1.0, 2.0], ["a", "a"]), train, holdout, SPEC, seed=0)
    assert one_class is not None and one_class.synthetic[0].auc is None


def test_baselines_keep_marginals_and_only_the_copula_keeps_dependence():
    rng = np.random.default_rng(1)
    xs = rng.uniform(0, 10, 400).round(1)
    xs[::10] = np.nan
    cs = np.where(np.nan_to_num(xs, nan=0) > 5, "b", "a")
    train = frame(xs, cs)
    independent = independent_sample(train, SPEC, 4000, seed=2)
    copula = gaussian_copula_sample(train, SPEC, 4000, seed=2)
    for sample in (independent, copula):
        assert sample["x"].isna().mean() == pytest.approx(0.1, abs=0.03)
        assert set(sample["c"]) == {"a", "b"}
        assert sample["x"].min() >= 0 and sample["x"].max() <= 10
        assert column_fidelity(X, train["x"], sample["x"]).ks < 0.05
    # Real r(x, c) = 0.86. The copula keeps much of it (a category jittered inside its band
    # and cut again loses some); independent sampling keeps none.
    assert correlation_matrix(copula, SPEC).loc["x", "c"] > 0.3
    assert abs(correlation_matrix(independent, SPEC).loc["x", "c"]) < 0.1
    again = gaussian_copula_sample(train, SPEC, 4000, seed=2)
    pd.testing.assert_frame_equal(copula, again)
