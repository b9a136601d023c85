"""Bar validation: the refusal codes that keep a bad candle away from every strategy (SPEC §3)."""

from __future__ import annotations

import math
from typing import Final

from engine_alpha.market.bars import Bar

__all__ = [
    "DUPLICATE",
    "HIGH_BELOW_BODY",
    "LOW_ABOVE_BODY",
    "MISALIGNED",
    "NEGATIVE_VOLUME",
    "NON_FINITE",
    "NON_POSITIVE_PRICE",
    "OUT_OF_ORDER",
    "REFUSAL_CODES",
    "BarValidator",
]

NON_FINITE: Final = "non_finite"
NON_POSITIVE_PRICE: Final = "non_positive_price"
HIGH_BELOW_BODY: Final = "high_below_body"
LOW_ABOVE_BODY: Final = "low_above_body"
NEGATIVE_VOLUME: Final = "negative_volume"
MISALIGNED: Final = "misaligned"
DUPLICATE: Final = "duplicate"
OUT_OF_ORDER: Final = "out_of_order"

REFUSAL_CODES: Final = (
    NON_FINITE,
    NON_POSITIVE_PRICE,
    HIGH_BELOW_BODY,
    LOW_ABOVE_BODY,
    NEGATIVE_VOLUME,
    MISALIGNED,
    DUPLICATE,
    OUT_OF_ORDER,
)


class BarValidator:
    """One symbol's bar checks; `last_ts_ms` advances only on accepted bars.

    Codes are checked in the order of `REFUSAL_CODES` and the first that applies is returned.
    A volume of 0 is valid (Binance prints flat zero-volume candles during halts).
    """

    __slots__ = ("last_ts_ms", "symbol", "timeframe_ms")

    def __init__(self, symbol: str, timeframe_ms: int, last_ts_ms: int | None = None) -> None:
        if timeframe_ms <= 0:
            raise ValueError(f"timeframe_ms must be > 0, got {timeframe_ms}")
        self.symbol = symbol
        self.timeframe_ms = timeframe_ms
        self.last_ts_ms = last_ts_ms

    def check(self, bar: Bar) -> str | None:  # noqa: PLR0911 - one return per refusal code
        """Return the refusal code of `bar`, or None after accepting it as the last bar."""
        o, h, lo, c, v = bar.open, bar.high, bar.low, bar.close, bar.volume
        # One sum is finite iff every term is, except on overflow: then look at each term.
        if not math.isfinite(o + h + lo + c + v) and not all(map(math.isfinite, (o, h, lo, c, v))):
            return NON_FINITE
        if o <= 0.0 or h <= 0.0 or lo <= 0.0 or c <= 0.0:
            return NON_POSITIVE_PRICE
        if h < (o if o > c else c):
            return HIGH_BELOW_BODY
        if lo > (c if o > c else o):
            return LOW_ABOVE_BODY
        if v < 0.0:
            return NEGATIVE_VOLUME
        ts = bar.ts_ms
        if ts % self.timeframe_ms:
            return MISALIGNED
        last = self.last_ts_ms
        if last is not None and ts <= last:
            return DUPLICATE if ts == last else OUT_OF_ORDER
        self.last_ts_ms = ts
        return None

    def missing_before(self, bar: Bar) -> int:
        """Number of whole bars missing between the last accepted bar and `bar` (0 if none)."""
        last = self.last_ts_ms
        if last is None or bar.ts_ms <= last:
            return 0
        return max(0, (bar.ts_ms - last) // self.timeframe_ms - 1)
