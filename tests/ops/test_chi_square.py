"""The chi-square test against formulas it does not use, and against a multinomial simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.ops.chi_square import chi_square_sf, goodness_of_fit, pool_sparse


def _closed_form_sf(x: float, df: int) -> float:
    """Chi-square survival by the textbook sums (Abramowitz & Stegun 26.4.4 and 26.4.5)."""
    half = x / 2.0
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for k in range(1, df // 2):
            term *= half / k
            total += term
        return math.exp(-half) * total
    total = math.erfc(math.sqrt(half))
    if df > 1:
        term = math.sqrt(x) * math.exp(-half) * math.sqrt(2.0 / math.pi)
        for k in range(1, (df - 1) // 2 + 1):
            total += term
            term *= x / (2 * k + 1)
    return total


@given(st.floats(min_value=0.0, max_value=200.0), st.integers(min_value=1, max_value=40))
def test_the_survival_function_equals_the_closed_forms(x: float, df: int) -> None:
    assert chi_square_sf(x, df) == pytest.approx(_closed_form_sf(x, df), rel=1e-9, abs=1e-14)


@pytest.mark.parametrize(
    ("x", "df", "p"),
    [(3.841458820694124, 1, 0.05), (9.21034037197618, 2, 0.01), (21.665994333461924, 9, 0.01)],
)
def test_table_critical_values_give_their_level(x: float, df: int, p: float) -> None:
    assert chi_square_sf(x, df) == pytest.approx(p, rel=1e-9)


def test_the_p_value_matches_a_multinomial_simulation() -> None:
    rng = np.random.default_rng(20261203)
    shares = np.array([0.02, 0.03, 0.05, 0.08, 0.1, 0.12, 0.15, 0.15, 0.15, 0.15])
    observed = [1, 2, 8, 6, 9, 14, 12, 20, 18, 10]
    result = goodness_of_fit(observed, list(shares))
    n = sum(observed)
    draws = rng.multinomial(n, shares, size=40_000)
    exp = n * shares
    simulated = []
    for draw in draws:
        obs, pooled = pool_sparse(list(draw), list(exp))
        simulated.append(sum((o - e) ** 2 / e for o, e in zip(obs, pooled, strict=True)))
    tail = float(np.mean(np.array(simulated) >= result.statistic))
    sigma = math.sqrt(tail * (1 - tail) / len(draws))
    assert 0.005 < result.p_value < 0.5
    assert abs(result.p_value - tail) < 4 * sigma + 0.01


@given(
    st.lists(st.integers(min_value=0, max_value=50), min_size=10, max_size=10),
    st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=10, max_size=10),
)
def test_pooling_keeps_the_totals_and_leaves_no_sparse_group(
    observed: list[int], weights: list[float]
) -> None:
    total = sum(weights)
    n = sum(observed)
    expected = [n * w / total for w in weights] if total > 0 else [n / 10] * 10
    obs, exp = pool_sparse(observed, expected)
    assert sum(obs) == n
    assert math.fsum(exp) == pytest.approx(math.fsum(expected))
    if len(exp) > 1:
        assert min(exp) >= 5.0
