"""BarValidator: every refusal code, gaps, and 'last accepted' moving only on accepted bars."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.market.bars import Bar
from engine_alpha.market.validation import REFUSAL_CODES, BarValidator

HOUR_MS = 3_600_000
T0 = 1_688_169_600_000


def bar(
    ts_ms: int = T0,
    *,
    o: float = 10.0,
    h: float = 11.0,
    lo: float = 9.0,
    c: float = 10.5,
    v: float = 1.0,
) -> Bar:
    return Bar("BTCUSDT", ts_ms, o, h, lo, c, v)


def validator(last_ts_ms: int | None = None) -> BarValidator:
    return BarValidator("BTCUSDT", HOUR_MS, last_ts_ms)


def test_a_well_formed_bar_is_accepted_and_becomes_the_last() -> None:
    v = validator()
    assert v.check(bar()) is None
    assert v.last_ts_ms == T0


@pytest.mark.parametrize("field", range(5), ids=["open", "high", "low", "close", "volume"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_nan_or_inf_in_any_field_is_non_finite(field: int, value: float) -> None:
    values = [10.0, 11.0, 9.0, 10.5, 1.0]
    values[field] = value
    assert validator().check(Bar("BTCUSDT", T0, *values)) == "non_finite"


def test_huge_finite_values_whose_sum_overflows_are_not_non_finite() -> None:
    big = 1.7e308
    assert validator().check(bar(o=big, h=big, lo=big, c=big, v=big)) is None


@pytest.mark.parametrize(
    ("candle", "code"),
    [
        (bar(o=0.0, lo=0.0), "non_positive_price"),
        (bar(o=-1.0, h=-0.5, lo=-2.0, c=-1.0), "non_positive_price"),
        (bar(c=0.0, lo=0.0), "non_positive_price"),
        (bar(h=10.2), "high_below_body"),  # close 10.5 above the high
        (bar(o=12.0, h=11.9, c=10.0), "high_below_body"),
        (bar(lo=10.2), "low_above_body"),  # open 10.0 below the low
        (bar(o=12.0, h=13.0, c=10.0, lo=10.1), "low_above_body"),
        (bar(v=-0.001), "negative_volume"),
        (bar(ts_ms=T0 + 1), "misaligned"),
        (bar(ts_ms=T0 + HOUR_MS // 2), "misaligned"),
    ],
)
def test_a_malformed_candle_is_refused_with_its_code(candle: Bar, code: str) -> None:
    assert validator().check(candle) == code


def test_a_bar_at_the_last_accepted_time_is_a_duplicate() -> None:
    v = validator()
    assert v.check(bar()) is None
    assert v.check(bar()) == "duplicate"


def test_a_bar_before_the_last_accepted_time_is_out_of_order() -> None:
    v = validator(last_ts_ms=T0)
    assert v.check(bar(ts_ms=T0 - HOUR_MS)) == "out_of_order"


def test_every_code_the_validator_returns_is_listed() -> None:
    assert set(REFUSAL_CODES) == {
        "non_finite",
        "non_positive_price",
        "high_below_body",
        "low_above_body",
        "negative_volume",
        "duplicate",
        "out_of_order",
        "misaligned",
        "ts_out_of_range",
        "price_jump",
    }


def test_a_zero_volume_flat_candle_is_accepted() -> None:
    """The real BTCUSDT candle of the 2023-03-24 halt: O=H=L=C=28080, volume 0."""
    v = validator(last_ts_ms=1_679_655_600_000)
    assert v.check(Bar("BTCUSDT", 1_679_659_200_000, 28080, 28080, 28080, 28080, 0)) is None


def test_a_refused_bar_does_not_move_the_last_accepted_time() -> None:
    v = validator(last_ts_ms=T0)
    assert v.check(bar(ts_ms=T0 + 5 * HOUR_MS, h=1.0)) == "high_below_body"
    assert v.last_ts_ms == T0
    assert v.check(bar(ts_ms=T0 + HOUR_MS)) is None
    assert v.last_ts_ms == T0 + HOUR_MS


def test_missing_before_counts_the_bars_between_the_last_accepted_and_this_one() -> None:
    v = validator()
    assert v.missing_before(bar()) == 0  # nothing accepted yet
    v.check(bar())
    assert v.missing_before(bar(ts_ms=T0 + HOUR_MS)) == 0
    assert v.missing_before(bar(ts_ms=T0 + 3 * HOUR_MS)) == 2
    assert v.missing_before(bar(ts_ms=T0)) == 0  # a duplicate is no gap
    assert v.last_ts_ms == T0  # missing_before changes nothing


def test_a_non_positive_timeframe_is_rejected() -> None:
    with pytest.raises(ValueError, match="timeframe_ms"):
        BarValidator("BTCUSDT", 0)


prices = st.floats(min_value=1e-8, max_value=1e7, allow_nan=False, allow_infinity=False)


@given(
    st.lists(st.tuples(prices, prices, prices, prices), min_size=1, max_size=20),
    st.floats(min_value=0.0, max_value=1e9),
    st.lists(st.integers(min_value=1, max_value=5), min_size=20, max_size=20),
)
def test_consistent_ascending_aligned_bars_are_all_accepted_and_gaps_add_up(
    quads: list[tuple[float, float, float, float]], volume: float, steps: list[int]
) -> None:
    v = BarValidator("BTCUSDT", HOUR_MS, max_price_jump=1e20)  # prices here jump freely
    ts, missing = T0, 0
    for (a, b, c, d), step in zip(quads, steps, strict=False):
        lo, o, cl, h = sorted((a, b, c, d))
        candle = bar(ts_ms=ts, o=o, h=h, lo=lo, c=cl, v=volume)
        missing += v.missing_before(candle)
        assert v.check(candle) is None
        ts += step * HOUR_MS
    span_bars = (v.last_ts_ms - T0) // HOUR_MS + 1 if v.last_ts_ms is not None else 0
    assert span_bars == len(quads) + missing


@pytest.mark.parametrize(
    "ts_ms",
    [
        10**30,  # the audit's row: beyond 64 bits, it once crashed every asset's replay
        2**63 // HOUR_MS * HOUR_MS,  # on the grid, within int64, far in the future
        4_102_444_800_000,  # 2100-01-01: the first refused
        1_230_764_400_000,  # 2008-12-31 23:00
        0,
        -HOUR_MS,
    ],
)
def test_a_bar_outside_2009_to_2100_is_ts_out_of_range(ts_ms: int) -> None:
    v = validator()
    assert v.check(bar(ts_ms=ts_ms)) == "ts_out_of_range"
    assert v.last_ts_ms is None


def test_the_range_ends_are_accepted_on_the_grid() -> None:
    assert validator().check(bar(ts_ms=1_230_768_000_000)) is None  # 2009-01-01 00:00
    assert validator().check(bar(ts_ms=4_102_444_800_000 - HOUR_MS)) is None


def test_the_audits_1e300_high_is_a_price_jump_and_the_next_good_bar_is_accepted() -> None:
    v = validator()
    assert v.check(bar()) is None
    assert v.check(bar(ts_ms=T0 + HOUR_MS, h=1e300)) == "price_jump"
    assert (v.last_ts_ms, v.last_close) == (T0, 10.5)
    assert v.check(bar(ts_ms=T0 + 2 * HOUR_MS)) is None


jumps = st.floats(min_value=1.01, max_value=1e6, allow_nan=False)
ratios = st.floats(min_value=1e-9, max_value=1e9, allow_nan=False)


@given(jumps, ratios, ratios)
def test_a_bar_is_a_price_jump_exactly_when_high_or_low_leaves_the_band(
    max_jump: float, high_ratio: float, low_ratio: float
) -> None:
    previous_close = 100.0
    high = previous_close * max(high_ratio, low_ratio)
    low = previous_close * min(high_ratio, low_ratio)
    v = BarValidator("BTCUSDT", HOUR_MS, max_price_jump=max_jump)
    assert (
        v.check(bar(o=previous_close, h=previous_close, lo=previous_close, c=previous_close))
        is None
    )
    code = v.check(bar(ts_ms=T0 + HOUR_MS, o=low, h=high, lo=low, c=low))
    outside = high / previous_close > max_jump or previous_close / low > max_jump
    # Near the band's edges the float products can round either way: judge only clear cases.
    near_edge = any(
        math.isclose(x, max_jump, rel_tol=1e-9)
        for x in (high / previous_close, previous_close / low)
    )
    if not near_edge:
        assert (code == "price_jump") == outside


def test_the_price_jump_bound_must_exceed_one() -> None:
    with pytest.raises(ValueError, match="max_price_jump"):
        BarValidator("BTCUSDT", HOUR_MS, max_price_jump=1.0)
