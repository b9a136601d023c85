"""PSR, expected maximum Sharpe and DSR: the DSR paper's numerical example, exact order
statistics of normals, limits, and the deflation on noise."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.research.sharpe import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    kurtosis,
    probabilistic_sharpe_ratio,
    sharpe_ratio,
    skewness,
)


def test_the_papers_numerical_example() -> None:
    # Bailey and Lopez de Prado (2014), sec. "A numerical example": 100 trials whose annualised
    # Sharpe ratios vary with V = 1/2; the best shows an annualised 2.5 over 5 years of daily
    # returns (T = 1250, 250 a year), skewness -3, kurtosis 10. The paper states
    # SR0 = 0.1132 a day and DSR = 0.9004.
    daily_variance = 0.5 / 250
    assert expected_max_sharpe(100, daily_variance) == pytest.approx(0.1132, abs=5e-5)
    dsr = deflated_sharpe_ratio(
        2.5 / math.sqrt(250), 1250, 100, daily_variance, skew=-3.0, kurt=10.0
    )
    assert dsr == pytest.approx(0.9004, abs=5e-5)


@pytest.mark.parametrize(
    ("n", "exact"),
    # E[max of n iid standard normals] (Harter 1961, "Expected values of normal order
    # statistics", Biometrika 48:151-165): the paper's formula is an extreme-value
    # approximation, within 1% from n = 100 on.
    [(100, 2.50759), (1_000, 3.24144)],
)
def test_the_expected_maximum_approximates_normal_order_statistics(n: int, exact: float) -> None:
    assert expected_max_sharpe(n, 1.0) == pytest.approx(exact, rel=0.01)


def test_the_expected_maximum_matches_the_best_of_noise_strategies() -> None:
    # 40 driftless strategies over 500 periods: each Sharpe estimate has variance ~ 1/500.
    rng = np.random.default_rng(4)
    best = [max(sharpe_ratio(col) for col in rng.normal(size=(500, 40)).T) for _ in range(300)]
    assert np.mean(best) == pytest.approx(expected_max_sharpe(40, 1 / 500), rel=0.05)


def test_on_noise_the_best_of_many_is_not_significant_after_deflation() -> None:
    rng = np.random.default_rng(5)
    significant = undeflated = 0
    for _ in range(200):
        returns = rng.normal(size=(500, 40))
        sharpes = np.array([sharpe_ratio(col) for col in returns.T])
        best = returns[:, int(np.argmax(sharpes))]
        dsr = deflated_sharpe_ratio(
            float(sharpes.max()),
            500,
            40,
            float(sharpes.var(ddof=1)),
            skew=skewness(best),
            kurt=kurtosis(best),
        )
        significant += dsr >= 0.95
        undeflated += probabilistic_sharpe_ratio(float(sharpes.max()), 0.0, 500) >= 0.95
    assert significant / 200 <= 0.05
    assert undeflated / 200 > 0.5  # without the deflation most flukes look real


def test_a_planted_edge_survives_deflation() -> None:
    rng = np.random.default_rng(6)
    returns = rng.normal(size=(1_000, 40))
    returns[:, 7] += 0.25
    sharpes = np.array([sharpe_ratio(col) for col in returns.T])
    assert int(np.argmax(sharpes)) == 7
    others = np.delete(sharpes, 7)
    dsr = deflated_sharpe_ratio(float(sharpes[7]), 1_000, 40, float(others.var(ddof=1)))
    assert dsr > 0.99


def test_psr_limits() -> None:
    assert probabilistic_sharpe_ratio(0.1, 0.1, 250) == 0.5  # at the benchmark: a coin flip
    assert probabilistic_sharpe_ratio(0.1, 0.0, 10**8) == pytest.approx(1.0)
    assert probabilistic_sharpe_ratio(-0.1, 0.0, 10**8) == pytest.approx(0.0)
    # One trial selects nothing: the DSR is the PSR against zero.
    assert deflated_sharpe_ratio(0.1, 250, 1, 0.01) == probabilistic_sharpe_ratio(0.1, 0.0, 250)


@given(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5), st.integers(2, 10_000))
def test_for_normal_returns_psr_uses_los_standard_error(sr: float, bench: float, n: int) -> None:
    # Skewness 0, kurtosis 3: the variance of the estimate is (1 + SR^2 / 2) / (T - 1) (Lo 2002).
    expected = NormalDist().cdf((sr - bench) / math.sqrt((1 + sr**2 / 2) / (n - 1)))
    assert probabilistic_sharpe_ratio(sr, bench, n) == pytest.approx(expected, abs=1e-12)


@given(st.integers(2, 10_000), st.floats(1e-6, 1.0))
def test_more_trials_raise_the_bar(n: int, variance: float) -> None:
    assert expected_max_sharpe(n + 1, variance) > expected_max_sharpe(n, variance) > 0.0
    assert deflated_sharpe_ratio(0.2, 500, n + 1, variance) <= deflated_sharpe_ratio(
        0.2, 500, n, variance
    )


def test_moments_of_small_samples_by_hand() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert skewness(x) == 0.0
    assert kurtosis(x) == pytest.approx(1.7)  # m4 = 34/5, m2 = 2
    y = np.array([0.0, 0.0, 0.0, 1.0])  # m2 = 3/16, m3 = 3/32: skew = 2/sqrt(3)
    assert skewness(y) == pytest.approx(2 / math.sqrt(3))
    assert sharpe_ratio(x) == pytest.approx(3 / math.sqrt(2.5))
    assert math.isnan(sharpe_ratio(np.ones(4)))
    with pytest.raises(ValueError, match="spread"):
        kurtosis(np.ones(4))


def test_moments_of_large_samples_approach_the_distribution() -> None:
    e = np.random.default_rng(8).exponential(size=400_000)  # skewness 2, kurtosis 9
    assert skewness(e) == pytest.approx(2.0, abs=0.1)
    assert kurtosis(e) == pytest.approx(9.0, abs=0.8)


@given(st.floats(-1e6, 1e6, allow_nan=False), st.integers(2, 500))
def test_equal_returns_have_no_sharpe_ratio(value: float, n: int) -> None:
    # 42.84308201729176 three times gave 4.9e15 before: the float mean missed it by an ulp
    assert math.isnan(sharpe_ratio(np.full(n, value)))
    assert math.isnan(sharpe_ratio(np.full(3, 42.84308201729176)))
