"""Hypothesis strategies and plain references shared by the signal tests."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from engine_alpha.market.bars import Bar
from engine_alpha.signals.breakout import BreakoutParams
from engine_alpha.signals.regime import RegimeParams

HOUR_MS = 3_600_000

# Short spans so that generated series of a few dozen bars get through the warm-up and signal.
SMALL = BreakoutParams(
    channel_bars=4,
    atr_bars=3,
    volume_bars=3,
    rank_window=8,
    min_rank_samples=2,
    warmup_bars=12,
    regime=RegimeParams(
        vol_fast_bars=2,
        vol_slow_bars=8,
        high_vol_ratio=1.1,
        ema_fast_bars=2,
        ema_slow_bars=6,
        trend_atr=0.5,
    ),
)

_step = st.tuples(
    st.floats(-0.08, 0.08),  # log-ish return of the bar
    st.floats(0.0, 0.03),  # high above max(open, close), as a fraction
    st.floats(0.0, 0.03),  # low below min(open, close), as a fraction
    st.floats(0.0, 1_000.0),  # volume
    st.integers(1, 3),  # hours to the next bar: 2 or 3 is a gap
)


@st.composite
def bar_series(draw: st.DrawFn, min_size: int = 1, max_size: int = 80) -> list[Bar]:
    """A valid, time-ordered series of bars (possibly with gaps), as the feed would hand them on."""
    steps = draw(st.lists(_step, min_size=min_size, max_size=max_size))
    price = draw(st.floats(0.01, 50_000.0))
    ts_ms = 1_688_169_600_000
    bars = []
    for ret, up, down, volume, hours in steps:
        close = price * (1.0 + ret)
        high = max(price, close) * (1.0 + up)
        low = min(price, close) * (1.0 - down)
        bars.append(Bar("TESTUSDT", ts_ms, price, high, low, close, volume))
        price = close
        ts_ms += hours * HOUR_MS
    return bars


def random_walk(n: int, seed: int, start: float = 100.0) -> list[Bar]:
    """A reproducible random-walk series (no hypothesis), with calm and wild stretches."""
    rng = random.Random(seed)
    bars = []
    price = start
    for i in range(n):
        scale = 0.004 if (i // 150) % 2 == 0 else 0.015
        close = price * (1.0 + rng.gauss(0.0, scale))
        high = max(price, close) * (1.0 + abs(rng.gauss(0.0, scale / 2)))
        low = min(price, close) * (1.0 - abs(rng.gauss(0.0, scale / 2)))
        volume = rng.uniform(10.0, 1_000.0)
        bars.append(
            Bar("TESTUSDT", 1_688_169_600_000 + i * HOUR_MS, price, high, low, close, volume)
        )
        price = close
    return bars
