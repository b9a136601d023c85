"""Each incremental indicator equals a straightforward batch recomputation over the same inputs."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.market.bars import Bar
from engine_alpha.signals.indicators import (
    Ema,
    EwmaVariance,
    PercentileRank,
    RollingMax,
    RollingMin,
    WilderAtr,
    approx_log_return,
)
from tests.signals.series import bar_series

values = st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60)
spans = st.integers(1, 30)


def _close(a: float, b: float, scale: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * max(1.0, scale))


def _weighted_ewma(xs: list[float], alpha: float) -> float:
    """EWMA seeded with the first value, as an explicit weighted sum rather than a recursion."""
    n = len(xs) - 1
    total = (1.0 - alpha) ** n * xs[0]
    for k in range(1, n + 1):
        total += alpha * (1.0 - alpha) ** (n - k) * xs[k]
    return total


@given(values, spans)
def test_ema_is_the_weighted_sum_of_its_inputs(xs: list[float], span: int) -> None:
    ema = Ema(span)
    for i, x in enumerate(xs):
        got = ema.update(x)
        want = _weighted_ewma(xs[: i + 1], 2.0 / (span + 1.0))
        assert _close(got, want, max(abs(v) for v in xs[: i + 1]))


def _true_ranges(bars: list[Bar]) -> list[float]:
    trs = [bars[0].high - bars[0].low]
    for prev, bar in itertools.pairwise(bars):
        trs.append(max(bar.high - bar.low, abs(bar.high - prev.close), abs(bar.low - prev.close)))
    return trs


def _batch_atr(bars: list[Bar], period: int) -> list[float]:
    """Textbook Wilder ATR: mean of the first `period` TRs, then (prev * (p - 1) + tr) / p."""
    trs = _true_ranges(bars)
    out = []
    for i in range(len(trs)):
        if i < period:
            out.append(sum(trs[: i + 1]) / (i + 1))
        else:
            out.append((out[-1] * (period - 1) + trs[i]) / period)
    return out


@given(bar_series(min_size=1, max_size=60), st.integers(1, 20))
def test_wilder_atr_matches_the_textbook_recursion(bars: list[Bar], period: int) -> None:
    atr = WilderAtr(period)
    want = _batch_atr(bars, period)
    for i, bar in enumerate(bars):
        got = atr.update(bar.high, bar.low, bar.close)
        assert _close(got, want[i], bar.high)
        assert atr.ready == (i + 1 >= period)


def test_wilder_atr_counts_a_gap_from_the_previous_close() -> None:
    atr = WilderAtr(1)
    atr.update(10.0, 9.0, 10.0)
    assert atr.update(13.0, 12.0, 12.5) == pytest.approx(3.0)  # high 13 - previous close 10
    assert atr.update(8.0, 7.0, 7.5) == pytest.approx(5.5)  # previous close 12.5 - low 7


@given(st.floats(0.5, 2.0), st.floats(1.0, 1e5))
def test_approx_log_return_is_within_the_series_bound_of_ln(ratio: float, prev: float) -> None:
    exact = math.log(prev * ratio / prev)
    got = approx_log_return(prev, prev * ratio)
    assert abs(got - exact) <= abs(exact) ** 3 / 12.0 + 1e-12


@given(st.lists(st.floats(-0.2, 0.2), min_size=1, max_size=60), spans)
def test_ewma_variance_is_the_weighted_mean_of_squared_returns(
    rets: list[float], span: int
) -> None:
    var = EwmaVariance(span)
    for i, r in enumerate(rets):
        got = var.update(r)
        want = _weighted_ewma([x * x for x in rets[: i + 1]], 2.0 / (span + 1.0))
        assert _close(got, want, 1.0)
    assert var.volatility == pytest.approx(math.sqrt(var.variance))


@given(values, st.integers(1, 15))
def test_rolling_max_and_min_equal_brute_force(xs: list[float], window: int) -> None:
    hi = RollingMax(window)
    lo = RollingMin(window)
    for i, x in enumerate(xs):
        recent = xs[max(0, i - window + 1) : i + 1]
        assert hi.update(x) == max(recent) == hi.value
        assert lo.update(x) == min(recent) == lo.value
        assert hi.ready == lo.ready == (i + 1 >= window)


def test_rolling_max_forgets_a_peak_after_window_bars() -> None:
    hi = RollingMax(3)
    for x in (1.0, 9.0, 2.0, 3.0):
        hi.update(x)
    assert hi.value == 9.0
    hi.update(1.0)
    assert hi.value == 3.0


@given(
    st.lists(st.integers(-20, 20).map(float), min_size=1, max_size=60),
    st.integers(1, 12),
    st.integers(-21, 21).map(float),
)
def test_percentile_rank_equals_brute_force_over_the_last_window(
    xs: list[float], window: int, probe: float
) -> None:
    ranks = PercentileRank(window)
    for i, x in enumerate(xs):
        ranks.add(x)
        recent = xs[max(0, i - window + 1) : i + 1]
        below = sum(1 for v in recent if v < probe)
        equal = sum(1 for v in recent if v == probe)
        assert len(ranks) == len(recent)
        assert ranks.rank(probe) == pytest.approx((below + 0.5 * equal) / len(recent))


@pytest.mark.parametrize(
    "cls", [Ema, EwmaVariance, WilderAtr, RollingMax, RollingMin, PercentileRank]
)
def test_a_window_below_one_is_refused(cls: type) -> None:
    with pytest.raises(ValueError, match=">= 1"):
        cls(0)
