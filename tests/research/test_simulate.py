"""Simulated trades follow the daemon's exit rules: next open, stop first, target, timeout."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine_alpha.config.models import ExecutionSettings
from engine_alpha.market.bars import Bar
from engine_alpha.research.edge import forward_returns_bps
from engine_alpha.research.simulate import EXIT_REASONS, OPEN_AT_END, simulate_trades
from tests.research.series import HOUR_MS, T0, random_walk

EXEC = ExecutionSettings(fee_bps=10, slippage_bps=2, stop_atr=1.5, target_atr=2.5, max_hold_bars=3)


def _bars(*ohlc: tuple[float, float, float, float]) -> list[Bar]:
    return [Bar("TESTUSDT", T0 + i * HOUR_MS, *p, 1.0) for i, p in enumerate(ohlc)]


def _one(bars: list[Bar], direction: int, atr: float = 2.0) -> tuple[float, int, int]:
    n = len(bars)
    dirs = np.zeros(n, dtype=np.int64)
    dirs[0] = direction
    trades = simulate_trades(
        bars,
        np.array([0], dtype=np.int64),
        dirs,
        np.full(n, atr),
        EXEC,
        tick_size=0.01,
        timeframe_ms=HOUR_MS,
    )
    return float(trades.pnl_bps[0]), int(trades.reason[0]), int(trades.exit_idx[0])


def _pnl_bps(entry: float, exit_: float, sign: float) -> float:
    """Net PnL per unit over entry notional, both fees at 10 bps."""
    return (sign * (exit_ - entry) - 0.001 * (entry + exit_)) / entry * 10_000


def test_a_long_enters_at_the_next_open_slipped_and_exits_at_its_target() -> None:
    bars = _bars((99, 100, 98, 100), (100, 101, 99.5, 100.5), (100.5, 106, 100, 105.5))
    pnl, reason, exit_idx = _one(bars, +1)
    # entry 100 * 1.0002 = 100.02; target 100.02 + 2.5 * 2 = 105.02, sold 2 bps lower: 104.99
    assert EXIT_REASONS[reason] == "target" and exit_idx == 2
    assert pnl == pytest.approx(_pnl_bps(100.02, 104.99, 1.0))


def test_a_bar_touching_both_stop_and_target_takes_the_stop() -> None:
    bars = _bars((99, 100, 98, 100), (100, 101, 99.5, 100.5), (100.5, 110, 90, 100))
    pnl, reason, _ = _one(bars, +1)
    # stop 100.02 - 3 = 97.02, sold 2 bps lower and rounded down: 97.0
    assert EXIT_REASONS[reason] == "stop"
    assert pnl == pytest.approx(_pnl_bps(100.02, 97.0, 1.0))


def test_the_entry_bar_itself_can_stop_a_short_out() -> None:
    bars = _bars((99, 100, 98, 100), (100, 104, 99.5, 100.5))
    pnl, reason, exit_idx = _one(bars, -1)
    # short entry 100 * 0.9998 = 99.98; stop 99.98 + 3 = 102.98, bought 2 bps higher: 103.01
    assert EXIT_REASONS[reason] == "stop" and exit_idx == 1
    assert pnl == pytest.approx(_pnl_bps(99.98, 103.01, -1.0))


def test_a_quiet_trade_times_out_at_the_close_of_its_last_holding_bar() -> None:
    quiet = (100.0, 100.5, 99.5, 100.2)
    bars = _bars((99, 100, 98, 100), *[quiet] * 5)
    pnl, reason, exit_idx = _one(bars, +1)
    # max_hold_bars 3: held through bars 1, 2 and 3, sold at bar 3's close 100.2 less 2 bps
    assert EXIT_REASONS[reason] == "timeout" and exit_idx == 3
    assert pnl == pytest.approx(_pnl_bps(100.02, 100.17, 1.0))


def test_a_trade_still_open_when_the_data_ends_has_no_pnl() -> None:
    bars = _bars((99, 100, 98, 100), (100.0, 100.5, 99.5, 100.2))
    pnl, reason, _ = _one(bars, +1)
    assert math.isnan(pnl) and reason == OPEN_AT_END


def test_a_signal_on_the_last_bar_has_no_entry() -> None:
    pnl, reason, _ = _one(_bars((99, 100, 98, 100)), +1)
    assert math.isnan(pnl) and reason == OPEN_AT_END


def test_with_far_stops_a_trade_is_the_forward_return_over_max_hold_less_the_round_trip() -> None:
    bars = random_walk(3_000, seed=11)
    n = len(bars)
    idx = np.arange(0, n - 20, 7, dtype=np.int64)
    dirs = np.where(np.arange(n) % 2 == 0, 1, -1).astype(np.int64)
    far = ExecutionSettings(stop_atr=1e6, target_atr=1e6, max_hold_bars=5)
    trades = simulate_trades(bars, idx, dirs, np.ones(n), far, tick_size=1e-8, timeframe_ms=HOUR_MS)
    open_ = np.array([b.open for b in bars])
    close = np.array([b.close for b in bars])
    gross, _ = forward_returns_bps(open_, close, idx, dirs[idx].astype(np.float64), 5)
    assert {EXIT_REASONS[r] for r in trades.reason} == {"timeout"}
    np.testing.assert_allclose(trades.pnl_bps, gross - 24.0, atol=1.0)
