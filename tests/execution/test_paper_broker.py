"""Paper fills: slippage and fees against us, PnL arithmetic, and the exit rules."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.execution.paper_broker import (
    FillCosts,
    Position,
    close_line,
    fee_usd,
    fill_price,
    intrabar_exit,
    stop_and_target,
)
from engine_alpha.market.bars import Bar

COSTS = FillCosts(fee_bps=10.0, slippage_bps=2.0)


def _position(direction: str, entry: float = 100.0, qty: float = 2.0) -> Position:
    stop, target = stop_and_target(direction, entry, atr=2.0, stop_atr=1.5, target_atr=2.5)
    return Position(
        trade_id="ETHUSDT-0",
        symbol="ETHUSDT",
        mode="paper",
        direction=direction,
        qty=qty,
        entry_price=entry,
        entry_bar_ts=0,
        entry_fee_usd=fee_usd(entry * qty, COSTS.fee_bps),
        notional_usd=entry * qty,
        stop_price=stop,
        target_price=target,
        expires_bar_ts=3_600_000 * 11,
        regime="high_vol",
        confidence=0.5,
        bucket=5,
        signal_bar_ts=-3_600_000,
    )


def _bar(o: float, h: float, low: float, c: float) -> Bar:
    return Bar("ETHUSDT", 3_600_000, o, h, low, c, 10.0)


def test_fills_move_against_us_and_stay_on_the_tick() -> None:
    assert fill_price(100.0, "buy", 2.0, 0.01) == 100.02
    assert fill_price(100.0, "sell", 2.0, 0.01) == 99.98
    assert fill_price(0.0701, "buy", 2.0, 0.00001) == 0.07012  # 0.0701140 rounded up


@given(
    entry=st.floats(min_value=0.01, max_value=1e5),
    move=st.floats(min_value=-0.5, max_value=0.5),
    qty=st.floats(min_value=1e-4, max_value=1e4),
    long=st.booleans(),
)
def test_round_trip_pnl_is_direction_times_move_minus_both_fees(
    entry: float, move: float, qty: float, long: bool
) -> None:
    direction = "long" if long else "short"
    pos = _position(direction, entry=entry, qty=qty)
    line = close_line(
        pos,
        bar_ts=3_600_000,
        raw_price=entry * (1 + move),
        reason="target",
        tick_size=1e-8,
        timeframe="1h",
        costs=COSTS,
        wall_ts="t",
    )
    sign = 1.0 if long else -1.0
    expected = sign * (line["price"] - entry) * qty - pos.entry_fee_usd - line["fee_usd"]
    assert math.isclose(line["pnl_usd"], expected, rel_tol=1e-12, abs_tol=1e-9)
    assert math.isclose(line["fee_usd"], line["notional_usd"] * 10.0 / 10_000, rel_tol=1e-12)
    assert math.isclose(line["pnl_bps"], line["pnl_usd"] / pos.notional_usd * 10_000, rel_tol=1e-12)
    assert line["side"] == ("sell" if long else "buy")


def test_flat_round_trip_costs_24_bps() -> None:
    pos = _position("long", entry=fill_price(100.0, "buy", 2.0, 1e-8), qty=1.0)
    line = close_line(
        pos,
        bar_ts=1,
        raw_price=100.0,
        reason="timeout",
        tick_size=1e-8,
        timeframe="1h",
        costs=COSTS,
        wall_ts="t",
    )
    assert line["pnl_bps"] == pytest.approx(-24.0, abs=0.05)


def test_stop_first_when_a_bar_touches_both() -> None:
    long = _position("long")  # stop 97, target 105
    assert intrabar_exit(long, _bar(100.0, 106.0, 96.0, 101.0)) == ("stop", 97.0)
    short = _position("short")  # stop 103, target 95
    assert intrabar_exit(short, _bar(100.0, 104.0, 94.0, 99.0)) == ("stop", 103.0)


def test_target_and_quiet_bars() -> None:
    assert intrabar_exit(_position("long"), _bar(100.0, 105.5, 99.0, 104.0)) == ("target", 105.0)
    assert intrabar_exit(_position("short"), _bar(100.0, 101.0, 94.5, 96.0)) == ("target", 95.0)
    assert intrabar_exit(_position("long"), _bar(100.0, 104.0, 98.0, 101.0)) is None


def test_a_gap_through_the_stop_fills_at_the_open() -> None:
    assert intrabar_exit(_position("long"), _bar(95.0, 96.0, 94.0, 95.5)) == ("stop", 95.0)
    assert intrabar_exit(_position("short"), _bar(106.0, 107.0, 105.0, 106.0)) == ("stop", 106.0)
