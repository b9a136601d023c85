"""Pearson's chi-square goodness-of-fit test of counts against expected shares, pure python.

The p-value is the chi-square survival function, the regularized upper incomplete gamma
Q(df/2, x/2), by its series (x < a + 1) or its continued fraction (Numerical Recipes 6.2), so
no scipy. Sparse categories (expected count < 5) are pooled with their neighbours first, as the
test's large-sample approximation asks; docs/rollout.md states the rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["GoodnessOfFit", "chi_square_sf", "goodness_of_fit", "pool_sparse", "upper_gamma_q"]

MIN_EXPECTED = 5.0
_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 10_000


def _lower_series(a: float, x: float) -> float:
    """P(a, x) by its series; converges fast for x < a + 1."""
    term = total = 1.0 / a
    ap = a
    for _ in range(_MAX_ITER):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _upper_fraction(a: float, x: float) -> float:
    """Q(a, x) by its continued fraction (modified Lentz); converges fast for x >= a + 1."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def upper_gamma_q(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a), for a > 0, x >= 0."""
    if not a > 0.0 or not x >= 0.0:
        raise ValueError(f"need a > 0 and x >= 0, got a={a}, x={x}")
    if x == 0.0:
        return 1.0
    if math.isinf(x):
        return 0.0
    if x < a + 1.0:
        return max(0.0, 1.0 - _lower_series(a, x))
    return min(1.0, _upper_fraction(a, x))


def chi_square_sf(x: float, df: int) -> float:
    """P(X >= x) for X chi-square with `df` degrees of freedom (df >= 1)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    return upper_gamma_q(df / 2.0, max(0.0, x) / 2.0)


def pool_sparse(
    observed: Sequence[int], expected: Sequence[float], min_expected: float = MIN_EXPECTED
) -> tuple[list[int], list[float]]:
    """Merge neighbouring categories, in order, until each group expects >= `min_expected`.

    A trailing group that stays short joins the group before it. Totals are kept.
    """
    obs: list[int] = []
    exp: list[float] = []
    run_o, run_e = 0, 0.0
    for o, e in zip(observed, expected, strict=True):
        run_o += o
        run_e += e
        if run_e >= min_expected:
            obs.append(run_o)
            exp.append(run_e)
            run_o, run_e = 0, 0.0
    if run_o or run_e:
        if obs:
            obs[-1] += run_o
            exp[-1] += run_e
        else:
            obs.append(run_o)
            exp.append(run_e)
    return obs, exp


@dataclass(frozen=True, slots=True)
class GoodnessOfFit:
    """The test's result: statistic, degrees of freedom, p-value and the pooled groups."""

    statistic: float
    df: int
    p_value: float
    observed: tuple[int, ...]
    expected: tuple[float, ...]


def goodness_of_fit(
    observed: Sequence[int], shares: Sequence[float], min_expected: float = MIN_EXPECTED
) -> GoodnessOfFit:
    """Test `observed` counts against category `shares` (summing to 1) after pooling.

    With a single group left there is nothing to test: statistic 0, df 0, p-value 1.
    """
    n = sum(observed)
    total = math.fsum(shares)
    if not total > 0.0:
        raise ValueError("expected shares must sum to more than 0")
    expected = [n * s / total for s in shares]
    obs, exp = pool_sparse(observed, expected, min_expected)
    if len(obs) < 2:
        return GoodnessOfFit(0.0, 0, 1.0, tuple(obs), tuple(exp))
    statistic = math.fsum((o - e) ** 2 / e for o, e in zip(obs, exp, strict=True))
    df = len(obs) - 1
    return GoodnessOfFit(statistic, df, chi_square_sf(statistic, df), tuple(obs), tuple(exp))
