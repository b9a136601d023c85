"""Bar validation: the refusal codes that keep a bad candle away from every strategy (SPEC §3)."""

from __future__ import annotations

import math
from typing import Final

from engine_alpha.config.models import DEFAULT_MAX_PRICE_JUMP
from engine_alpha.market.bars import Bar

__all__ = [
    "DEFAULT_MAX_PRICE_JUMP",
    "DUPLICATE",
    "HIGH_BELOW_BODY",
    "LOW_ABOVE_BODY",
    "MAX_TS_MS",
    "MIN_TS_MS",
    "MISALIGNED",
    "NEGATIVE_VOLUME",
    "NON_FINITE",
    "NON_POSITIVE_PRICE",
    "OUT_OF_ORDER",
    "PRICE_JUMP",
    "REFUSAL_CODES",
    "TS_OUT_OF_RANGE",
    "BarValidator",
]

NON_FINITE: Final = "non_finite"
NON_POSITIVE_PRICE: Final = "non_positive_price"
HIGH_BELOW_BODY: Final = "high_below_body"
LOW_ABOVE_BODY: Final = "low_above_body"
NEGATIVE_VOLUME: Final = "negative_volume"
TS_OUT_OF_RANGE: Final = "ts_out_of_range"
MISALIGNED: Final = "misaligned"
DUPLICATE: Final = "duplicate"
OUT_OF_ORDER: Final = "out_of_order"
PRICE_JUMP: Final = "price_jump"

# Bar open times outside [2009-01-01, 2100-01-01) UTC are no market data (and beyond 64 bits
# they cannot even be written to a JSON log line).
MIN_TS_MS: Final = 1_230_768_000_000
MAX_TS_MS: Final = 4_102_444_800_000
# A bar whose high is more than `DEFAULT_MAX_PRICE_JUMP` times the previous accepted close, or
# whose low is under its 1/that, is refused (`feed.max_price_jump` in the paper config, which
# owns the default: the config layer sits below the market layer).

REFUSAL_CODES: Final = (
    NON_FINITE,
    NON_POSITIVE_PRICE,
    HIGH_BELOW_BODY,
    LOW_ABOVE_BODY,
    NEGATIVE_VOLUME,
    TS_OUT_OF_RANGE,
    MISALIGNED,
    DUPLICATE,
    OUT_OF_ORDER,
    PRICE_JUMP,
)


class BarValidator:
    """One symbol's bar checks; `last_ts_ms` and `last_close` advance only on accepted bars.

    Codes are checked in the order of `REFUSAL_CODES` and the first that applies is returned.
    A volume of 0 is valid (Binance prints flat zero-volume candles during halts). The open time
    must lie in [`MIN_TS_MS`, `max_ts_ms`) and on the timeframe's grid. The price jump is judged
    against the last accepted close (none yet: no jump check), so one bad bar is refused and the
    next good one is accepted again.
    """

    __slots__ = (
        "last_close",
        "last_ts_ms",
        "max_price_jump",
        "max_ts_ms",
        "symbol",
        "timeframe_ms",
    )

    def __init__(
        self,
        symbol: str,
        timeframe_ms: int,
        last_ts_ms: int | None = None,
        *,
        max_price_jump: float = DEFAULT_MAX_PRICE_JUMP,
        max_ts_ms: int = MAX_TS_MS,
    ) -> None:
        if timeframe_ms <= 0:
            raise ValueError(f"timeframe_ms must be > 0, got {timeframe_ms}")
        if not max_price_jump > 1.0:
            raise ValueError(f"max_price_jump must be > 1, got {max_price_jump}")
        self.symbol = symbol
        self.timeframe_ms = timeframe_ms
        self.last_ts_ms = last_ts_ms
        self.last_close: float | None = None
        self.max_price_jump = max_price_jump
        self.max_ts_ms = max_ts_ms

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
        if not MIN_TS_MS <= ts < self.max_ts_ms:
            return TS_OUT_OF_RANGE
        if ts % self.timeframe_ms:
            return MISALIGNED
        last = self.last_ts_ms
        if last is not None and ts <= last:
            return DUPLICATE if ts == last else OUT_OF_ORDER
        ref = self.last_close
        if ref is not None and (h > ref * self.max_price_jump or lo * self.max_price_jump < ref):
            return PRICE_JUMP
        self.last_ts_ms = ts
        self.last_close = c
        return None

    def missing_before(self, bar: Bar) -> int:
        """Number of whole bars missing between the last accepted bar and `bar` (0 if none)."""
        last = self.last_ts_ms
        if last is None or bar.ts_ms <= last:
            return 0
        return max(0, (bar.ts_ms - last) // self.timeframe_ms - 1)
