"""Block-bootstrap tests of research groups, recomputed here from their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.research.bootstrap import bootstrap_means, resample_indices
from engine_alpha.research.significance import MIN_TESTED, asset_rng, group_tests, on_bar_grid

BARS = 240
BLOCK = 6.0


def _p_by_hand(x: list[float], block: float) -> float:
    """1 - Phi(sqrt(T) mean / w), w^2 the stationary bootstrap's variance of sqrt(T) mean*,
    written out as Politis and Romano's sum of circular autocovariances."""
    t = len(x)
    m = sum(x) / t
    c = [sum((x[s] - m) * (x[(s + i) % t] - m) for s in range(t)) / t for i in range(t)]
    q = 1.0 - 1.0 / block
    w2 = c[0] + 2.0 * sum((1.0 - i / t) * q**i * c[i] for i in range(1, t))
    return 0.5 * math.erfc(math.sqrt(t) * m / math.sqrt(w2) / math.sqrt(2.0))


def _samples(seed: int, n: int, mean: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`n` signals on distinct bars of BARS, in regime 0 or 1 and cells 0..3, values ~ N(mean)."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(BARS, size=n, replace=False)).astype(np.int64)
    cell = rng.integers(0, 4, size=n).astype(np.int64)
    values = rng.normal(mean, 30.0, size=n)
    return rows, cell, values


def _tests(rows: np.ndarray, cell: np.ndarray, values: np.ndarray, seed: int = 3, **kw: int):
    return group_tests(
        rows,
        cell // 2,
        cell,
        values,
        bars=BARS,
        n_regimes=2,
        n_cells=4,
        min_samples=kw.get("min_samples", 12),
        rng=np.random.default_rng(seed),
        block=BLOCK,
        replicates=kw.get("replicates", 400),
    )


def test_p_values_are_the_normal_tail_with_the_bootstraps_exact_variance() -> None:
    rows, cell, values = _samples(1, 80, 4.0)
    tests = _tests(rows, cell, values)
    for key in range(4):
        x = [0.0] * BARS
        for r, c, v in zip(rows.tolist(), cell.tolist(), values.tolist(), strict=True):
            if c == key:
                x[r] = v
        test = tests.cells[key]
        assert test is not None
        assert test.p_value == pytest.approx(_p_by_hand(x, BLOCK), rel=1e-9, abs=1e-12)


def test_intervals_are_percentiles_of_the_resampled_sum_over_the_resampled_count() -> None:
    rows, cell, values = _samples(2, 90, 0.0)
    replicates = 300
    tests = _tests(rows, cell, values, seed=9, replicates=replicates)
    idx = resample_indices(BARS, BLOCK, np.random.default_rng(9), replicates, "stationary")
    for key in range(4):
        x = np.zeros(BARS)
        present = np.zeros(BARS)
        x[rows[cell == key]] = values[cell == key]
        present[rows[cell == key]] = 1.0
        ratios = [x[draw].sum() / present[draw].sum() for draw in idx if present[draw].sum() > 0]
        low, high = np.quantile(ratios, [0.025, 0.975])
        test = tests.cells[key]
        assert test is not None
        assert (test.ci_low, test.ci_high) == (pytest.approx(low), pytest.approx(high))
        assert test.ci_low <= values[cell == key].mean() <= test.ci_high


def test_small_groups_get_no_test_and_only_big_enough_cells_get_a_q_value() -> None:
    rows = np.arange(0, 200, 5, dtype=np.int64)  # 40 signals
    cell = np.array([0] * (MIN_TESTED - 1) + [1] * 13 + [2] * 18, dtype=np.int64)
    values = np.random.default_rng(4).normal(0.0, 10.0, len(rows))
    tests = _tests(rows, cell, values, min_samples=15)
    assert tests.cells[0] is None and tests.cells[3] is None  # 9 samples, and none
    assert tests.cells[1] is not None and tests.cells[2] is not None
    q = tests.cell_q
    assert math.isnan(q[0]) and math.isnan(q[1]) and math.isnan(q[3])  # 13 < min_samples
    assert q[2] == pytest.approx(tests.cells[2].p_value)  # one candidate: q = p


def test_the_search_test_finds_a_planted_edge_and_passes_noise() -> None:
    rows, cell, values = _samples(5, 120, 0.0)
    noise = _tests(rows, cell, values)
    planted = values + np.where(cell == 2, 45.0, 0.0)
    found = _tests(rows, cell, planted)
    cells = [2 + key for key in range(4)]  # regime columns first, then the cells
    eligible = [True] * 4
    assert found.search(cells, eligible).spa_p < 0.01
    assert noise.search(cells, eligible).spa_p > 0.05
    # Nothing positive among the candidates: skipped, p = 1.
    negative = _tests(rows, cell, values - 60.0).search(cells, eligible)
    assert negative.spa_p == 1.0 and negative.reality_check_p is None
    assert found.search(cells, [False] * 4).candidates == 0


def test_two_signals_on_one_bar_are_refused() -> None:
    with pytest.raises(ValueError, match="one signal per bar"):
        on_bar_grid(np.array([3, 3]), np.array([0, 1]), np.array([1.0, 2.0]), 10, 2)


def test_an_assets_generator_depends_on_the_seed_and_symbol_only() -> None:
    a = asset_rng(7, "ETHUSDT").random(3)
    assert np.array_equal(a, asset_rng(7, "ETHUSDT").random(3))
    assert not np.array_equal(a, asset_rng(7, "BTCUSDT").random(3))
    assert not np.array_equal(a, asset_rng(8, "ETHUSDT").random(3))


@given(
    st.integers(5, 300),
    st.integers(0, 12),
    st.integers(1, 4),
    st.floats(1.0, 20.0),
    st.integers(0, 2**32 - 1),
)
def test_sparse_bootstrap_means_equal_gathering_every_drawn_row(
    n: int, nonzero: int, columns: int, block: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, columns))
    rows = rng.choice(n, size=min(nonzero, n), replace=False)
    x[rows] = rng.normal(size=(len(rows), columns))
    got = bootstrap_means(x, rng=np.random.default_rng(seed), block=block, replicates=50)
    idx = resample_indices(n, block, np.random.default_rng(seed), 50, "stationary")
    assert np.allclose(got, x[idx].mean(axis=1), rtol=1e-12, atol=1e-15)
