"""Constructed bar series with a known answer: random walks, and a walk with a planted edge."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from engine_alpha.market.bars import Bar
from engine_alpha.signals.breakout import BreakoutModel
from engine_alpha.signals.protocol import SignalModel

HOUR_MS = 3_600_000
T0 = 1_609_459_200_000  # 2021-01-01 00:00 UTC
HEADER = "timestamp_ms,open,high,low,close,volume"


def _bar(rng: random.Random, ts_ms: int, price: float, ret: float, wick: float) -> Bar:
    close = price * (1.0 + ret)
    high = max(price, close) * (1.0 + abs(rng.gauss(0.0, wick)))
    low = min(price, close) * (1.0 - abs(rng.gauss(0.0, wick)))
    return Bar("TESTUSDT", ts_ms, price, high, low, close, rng.uniform(10.0, 1_000.0))


def random_walk(n: int, seed: int, start: float = 100.0) -> list[Bar]:
    """A driftless walk whose volatility alternates between calm and wild stretches."""
    rng = random.Random(seed)
    bars = []
    price = start
    for i in range(n):
        scale = 0.004 if (i // 300) % 2 == 0 else 0.012
        bar = _bar(rng, T0 + i * HOUR_MS, price, rng.gauss(0.0, scale), scale / 2)
        bars.append(bar)
        price = bar.close
    return bars


def planted_walk(
    n: int,
    seed: int,
    regime: str,
    buckets: frozenset[int],
    drift: float,
    horizon: int,
    flip_after: int | None = None,
    model: Callable[[], SignalModel] = BreakoutModel,
) -> list[Bar]:
    """A random walk where every signal in `regime` with a bucket in `buckets` is followed by
    `horizon` bars that each move `drift` (a fraction) in the signal's direction, open to close.

    The generator runs its own `model` (default: the breakout with its defaults) to know where
    the signals fall, so the forward return
    of each planted signal is (1 + drift) ** horizon - 1, unless a later planted signal of the
    other direction cuts into its window. From bar `flip_after` on, the drift is reversed.
    """
    rng = random.Random(seed)
    planter = model()
    bars = []
    price = 100.0
    left, sign = 0, 0.0
    for i in range(n):
        scale = 0.004 if (i // 300) % 2 == 0 else 0.012
        step = -drift if flip_after is not None and i >= flip_after else drift
        ret = sign * step if left else rng.gauss(0.0, scale)
        bar = _bar(rng, T0 + i * HOUR_MS, price, ret, scale / 2)
        left = max(0, left - 1)
        decision = planter.update(bar)
        if decision.direction and decision.regime == regime and decision.bucket in buckets:
            left, sign = horizon, 1.0 if decision.direction == "long" else -1.0
        bars.append(bar)
        price = bar.close
    return bars


def write_csv(path: Path, bars: list[Bar], extra_rows: dict[int, str] | None = None) -> Path:
    """Write bars as a CSV; `extra_rows` inserts raw rows before the bar of that index."""
    extra = extra_rows or {}
    lines = [HEADER]
    for i, b in enumerate(bars):
        if i in extra:
            lines.append(extra[i])
        lines.append(f"{b.ts_ms},{b.open!r},{b.high!r},{b.low!r},{b.close!r},{b.volume!r}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
