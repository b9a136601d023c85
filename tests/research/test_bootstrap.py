"""Block bootstraps: the index schemes, the closed-form bootstrap variance, coverage on iid and
AR(1) data, and p-values of a mean."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.research.bootstrap import (
    bootstrap_means,
    circular_indices,
    default_block_length,
    mean_interval,
    mean_p_value,
    stationary_indices,
    stationary_mean_variance,
)
from engine_alpha.research.edge import summarize


@pytest.mark.parametrize(("n", "block"), [(1, 1), (7, 2), (8, 2), (27, 3), (100, 5), (1_000, 10)])
def test_the_default_block_length_is_the_rounded_cube_root(n: int, block: int) -> None:
    assert default_block_length(n) == block


@given(st.integers(1, 40), st.floats(1.0, 12.0), st.integers(0, 2**32 - 1))
def test_stationary_rows_hold_n_positions_of_the_sample(
    n: int, mean_block: float, seed: int
) -> None:
    idx = stationary_indices(n, mean_block, np.random.default_rng(seed), 5)
    assert idx.shape == (5, n)
    assert ((idx >= 0) & (idx < n)).all()


@given(st.integers(1, 40), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_a_circular_row_is_whole_blocks_of_consecutive_positions(
    n: int, block: int, seed: int
) -> None:
    idx = circular_indices(n, block, np.random.default_rng(seed), 5)
    assert idx.shape == (5, n)
    for row in idx:
        for start in range(0, n, block):
            run = row[start : start + block]
            assert (run == (run[0] + np.arange(len(run))) % n).all()


def test_stationary_blocks_have_the_requested_mean_length() -> None:
    idx = stationary_indices(1_000, 8.0, np.random.default_rng(1), 200)
    continued = np.diff(idx, axis=1) % 1_000 == 1
    # A step continues its block with probability 1 - 1/8 (plus 1/1000 by a fresh start
    # landing right after): 199,800 steps, standard error 0.0007.
    assert continued.mean() == pytest.approx(1 - 1 / 8 + 1 / 8 / 1_000, abs=0.003)


def _circular_autocovariance(x: np.ndarray, lag: int) -> float:
    centred = x - x.mean()
    return float(np.mean(centred * np.roll(centred, -lag)))


def test_the_stationary_bootstrap_variance_of_the_mean_matches_its_closed_form() -> None:
    # Politis and Romano (1994): X*_t and X*_{t+i} lie in one block with probability
    # (1-p)^i, and then their covariance is the circular autocovariance c(i); otherwise 0.
    # So Var*(mean*) = (n c(0) + 2 sum_{i<n} (n-i) (1-p)^i c(i)) / n^2.
    x = np.cumsum(np.random.default_rng(7).normal(size=60)) * 0.1  # strongly dependent
    n, p = len(x), 1 / 5
    closed = (
        n * _circular_autocovariance(x, 0)
        + 2 * sum((n - i) * (1 - p) ** i * _circular_autocovariance(x, i) for i in range(1, n))
    ) / n**2
    means = bootstrap_means(x, rng=np.random.default_rng(8), block=5.0, replicates=40_000)
    assert means.mean() == pytest.approx(x.mean(), abs=4 * math.sqrt(closed / 40_000))
    assert means.var() == pytest.approx(closed, rel=0.04)  # sampling error ~ sqrt(2/B) = 0.7%


def test_the_circular_bootstrap_variance_of_the_mean_matches_its_closed_form() -> None:
    # n = k * L: k independent blocks, each a uniform circular run of L, so
    # Var*(mean*) = k (L c(0) + 2 sum_{i<L} (L-i) c(i)) / n^2.
    x = np.cumsum(np.random.default_rng(9).normal(size=48)) * 0.1
    n, block = len(x), 6
    k = n // block
    run = block * _circular_autocovariance(x, 0) + 2 * sum(
        (block - i) * _circular_autocovariance(x, i) for i in range(1, block)
    )
    closed = k * run / n**2
    means = bootstrap_means(
        x, rng=np.random.default_rng(10), block=block, replicates=40_000, scheme="circular"
    )
    assert means.mean() == pytest.approx(x.mean(), abs=4 * math.sqrt(closed / 40_000))
    assert means.var() == pytest.approx(closed, rel=0.04)


def test_columns_are_resampled_with_the_same_rows() -> None:
    x = np.random.default_rng(3).normal(size=(50, 1))
    both = np.hstack([x, 2 * x + 1])
    means = bootstrap_means(both, rng=np.random.default_rng(4), replicates=300)
    assert means.shape == (300, 2)
    assert means[:, 1] == pytest.approx(2 * means[:, 0] + 1)


def test_the_same_seed_gives_the_same_interval() -> None:
    x = np.random.default_rng(5).normal(size=80)
    a = mean_interval(x, rng=np.random.default_rng(6))
    b = mean_interval(x, rng=np.random.default_rng(6))
    assert a == b
    assert a.block_length == 4  # round(80^(1/3)) stated with the interval
    assert a.low < a.mean < a.high


def test_on_iid_data_the_95_percent_interval_covers_about_95_percent() -> None:
    # 400 samples of 100 standard normals, true mean 0. The percentile interval of a block
    # bootstrap is a little narrow in small samples (its variance is biased down by about
    # L/n), so coverage runs near 93-95%; 400 trials give a standard error of 1.1 points.
    rng = np.random.default_rng(2026)
    trials = 400
    covered = 0
    for _ in range(trials):
        x = rng.normal(size=100)
        ci = mean_interval(x, rng=rng, replicates=400)
        covered += ci.low <= 0.0 <= ci.high
    assert 0.90 <= covered / trials <= 0.98


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    e = rng.normal(size=n)
    x = np.empty(n)
    x[0] = e[0] / math.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def test_on_autocorrelated_data_the_block_interval_is_wider_than_t_and_covers_better() -> None:
    # AR(1) with phi = 0.7: the long-run variance is (1+phi)/(1-phi) = 5.7 times the iid one,
    # so the t interval (which assumes independence) covers only about P(|Z| < 1.96/2.4), ~58%.
    rng = np.random.default_rng(14)
    trials = 200
    t_covered = block_covered = 0
    t_width = block_width = 0.0
    for _ in range(trials):
        x = _ar1(rng, 400, 0.7)
        t = summarize(x)
        ci = mean_interval(x, rng=rng, block=20.0, replicates=400)
        t_covered += t.ci_low <= 0.0 <= t.ci_high
        block_covered += ci.low <= 0.0 <= ci.high
        t_width += t.ci_high - t.ci_low
        block_width += ci.high - ci.low
    assert block_width > 1.8 * t_width
    assert t_covered / trials < 0.70
    assert block_covered / trials > 0.85
    assert block_covered > t_covered


def test_a_p_value_is_small_for_a_clear_edge_and_never_zero() -> None:
    x = np.random.default_rng(11).normal(1.0, 1.0, size=200)
    p = mean_p_value(x, rng=np.random.default_rng(12), replicates=999)
    assert p == pytest.approx(1 / 1_000)  # no bootstrap mean reaches 2x the sample mean
    assert mean_p_value(-x, rng=np.random.default_rng(12), replicates=999) > 0.99


def test_on_iid_data_a_p_value_agrees_with_the_normal_test() -> None:
    # A mean of 0.15 sd over 200 samples: z = 0.15 * sqrt(200) ~ 2.1, one-sided p ~ 0.02.
    x = np.random.default_rng(15).normal(size=200)
    x = x - x.mean() + 0.15 * x.std(ddof=1)
    z = x.mean() / (x.std(ddof=1) / math.sqrt(len(x)))
    normal_p = 1 - NormalDist().cdf(z)
    boot_p = mean_p_value(x, rng=np.random.default_rng(16), block=1.0, replicates=20_000)
    assert boot_p == pytest.approx(normal_p, abs=0.006)
    two = mean_p_value(
        x, rng=np.random.default_rng(16), block=1.0, replicates=20_000, alternative="two-sided"
    )
    assert two == pytest.approx(2 * normal_p, abs=0.012)


def test_under_the_null_a_p_value_rejects_at_about_its_level() -> None:
    rng = np.random.default_rng(17)
    p = [mean_p_value(rng.normal(size=100), rng=rng, replicates=200) for _ in range(400)]
    rejected = float(np.mean(np.array(p) <= 0.05))
    assert 0.02 <= rejected <= 0.09  # binomial(400, 0.05): standard error 1.1 points


@pytest.mark.parametrize("bad", [0.5, 0.0])
def test_a_mean_block_below_one_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="block"):
        stationary_indices(10, bad, np.random.default_rng(0), 1)


def test_the_closed_form_stationary_variance_sums_the_circular_autocovariances() -> None:
    x = np.cumsum(np.random.default_rng(18).normal(size=(37, 2)), axis=0)
    n, p = 37, 1 / 4
    for col in range(2):
        by_hand = _circular_autocovariance(x[:, col], 0) + 2 * sum(
            (1 - i / n) * (1 - p) ** i * _circular_autocovariance(x[:, col], i) for i in range(1, n)
        )
        assert stationary_mean_variance(x, 4.0)[col] == pytest.approx(by_hand)
    assert stationary_mean_variance(x[:, 0], 4.0) == pytest.approx(
        stationary_mean_variance(x, 4.0)[0]
    )
