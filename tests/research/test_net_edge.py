"""Research's net edge prices each signal as the trader fills it: slippage, tick, fees."""

from __future__ import annotations

import math
from decimal import Decimal
from types import SimpleNamespace
from typing import cast

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.config.models import ExecutionSettings
from engine_alpha.research.analysis import ResearchSettings, net_forward_returns_bps
from engine_alpha.research.collect import AssetSeries


def _on_tick(price: float, tick: float, up: bool) -> float:
    """The price as printed, on the tick grid, up or down (decimal arithmetic, no float error)."""
    steps = Decimal(repr(price)) / Decimal(repr(tick))
    whole = math.ceil(steps) if up else math.floor(steps)
    return float(whole * Decimal(repr(tick)))


def _long_hand(direction: int, entry_raw: float, exit_raw: float, tick: float) -> float:
    """The round trip written out: 2 bps against us, then the tick against us, 10 bps fees."""

    def buy_up(p: float) -> float:
        return _on_tick(p * (1 + 2 / 10_000), tick, up=True)

    def sell_down(p: float) -> float:
        return _on_tick(p * (1 - 2 / 10_000), tick, up=False)

    entry = buy_up(entry_raw) if direction > 0 else sell_down(entry_raw)
    exit_ = sell_down(exit_raw) if direction > 0 else buy_up(exit_raw)
    gross = (exit_ - entry) if direction > 0 else (entry - exit_)
    return (gross - 0.001 * entry - 0.001 * exit_) / entry * 1e4


@given(
    st.lists(st.floats(50.0, 150.0), min_size=8, max_size=40),
    st.integers(0, 2**31),
    st.sampled_from([0.01, 0.1, 1.0]),
)
def test_each_signals_net_return_is_the_round_trip_the_trader_would_fill(
    prices: list[float], seed: int, tick: float
) -> None:
    rng = np.random.default_rng(seed)
    opens = np.array(prices)
    closes = opens * rng.uniform(0.97, 1.03, len(opens))
    direction = rng.choice([-1, 1], len(opens)).astype(np.int64)
    series = cast(AssetSeries, SimpleNamespace(open=opens, close=closes, direction=direction))
    horizon = 3
    idx = np.arange(len(opens), dtype=np.int64)
    full = idx + horizon < len(opens)
    settings = ResearchSettings(horizon_bars=horizon, execution=ExecutionSettings())
    net = net_forward_returns_bps(series, idx, full, settings, tick)
    for n, i in enumerate(idx.tolist()):
        if not full[n]:
            assert math.isnan(net[n])
            continue
        expected = _long_hand(
            int(direction[i]), float(opens[i + 1]), float(closes[i + horizon]), tick
        )
        assert abs(net[n] - expected) <= 1e-6 * max(1.0, abs(expected))
