"""The market regime of a bar: exactly one of trend_up, trend_down, high_vol, chop, from past bars.

high_vol wins when short-horizon realised volatility runs well above the long-horizon one; otherwise
a fast/slow EMA gap wider than `trend_atr` ATRs is a trend; everything else is chop.
"""

from __future__ import annotations

from pydantic import model_validator

from engine_alpha.signals.indicators import Ema, EwmaVariance, approx_log_return
from engine_alpha.signals.protocol import ModelParams

__all__ = [
    "CHOP",
    "HIGH_VOL",
    "TREND_DOWN",
    "TREND_UP",
    "RegimeParams",
    "RegimeTracker",
    "classify_regime",
]

TREND_UP = "trend_up"
TREND_DOWN = "trend_down"
HIGH_VOL = "high_vol"
CHOP = "chop"


class RegimeParams(ModelParams):
    """Spans (in bars) and thresholds of the regime rule; docs/strategy.md explains each one."""

    vol_fast_bars: int = 24
    vol_slow_bars: int = 240
    high_vol_ratio: float = 1.1
    ema_fast_bars: int = 24
    ema_slow_bars: int = 96
    trend_atr: float = 1.5

    @model_validator(mode="after")
    def _consistent(self) -> RegimeParams:
        if not 1 <= self.vol_fast_bars < self.vol_slow_bars:
            raise ValueError("need 1 <= vol_fast_bars < vol_slow_bars")
        if not 1 <= self.ema_fast_bars < self.ema_slow_bars:
            raise ValueError("need 1 <= ema_fast_bars < ema_slow_bars")
        if self.high_vol_ratio <= 0.0 or self.trend_atr <= 0.0:
            raise ValueError("high_vol_ratio and trend_atr must be > 0")
        return self

    @property
    def slowest_span(self) -> int:
        """The longest EWMA span: it sets how long the regime needs to forget its seed."""
        return max(self.vol_slow_bars, self.ema_slow_bars)


def classify_regime(
    fast_var: float, slow_var: float, ema_gap: float, atr: float, params: RegimeParams
) -> str:
    """The regime for these indicator values: high_vol, else trend by EMA gap in ATRs, else chop.

    The vol test compares variances with the squared ratio, so no square root is taken.
    """
    ratio = params.high_vol_ratio
    if fast_var > ratio * ratio * slow_var:
        return HIGH_VOL
    band = params.trend_atr * atr
    if ema_gap > band:
        return TREND_UP
    if ema_gap < -band:
        return TREND_DOWN
    return CHOP


class RegimeTracker:
    """Feeds the regime's indicators one close at a time and classifies the bar just closed."""

    __slots__ = ("_ema_fast", "_ema_slow", "_prev_close", "_var_fast", "_var_slow", "params")

    def __init__(self, params: RegimeParams | None = None) -> None:
        self.params = params = params or RegimeParams()
        self._var_fast = EwmaVariance(params.vol_fast_bars)
        self._var_slow = EwmaVariance(params.vol_slow_bars)
        self._ema_fast = Ema(params.ema_fast_bars)
        self._ema_slow = Ema(params.ema_slow_bars)
        self._prev_close = 0.0

    def update(self, close: float, atr: float) -> str:
        """Fold in one closed bar's close (with the ATR as of that bar) and return its regime.

        The first bar has no return, so it feeds the EMAs only; the caller's warm-up hides the
        regimes of the first bars anyway.
        """
        prev = self._prev_close
        self._prev_close = close
        if prev > 0.0:
            ret = approx_log_return(prev, close)
            fast_var = self._var_fast.update(ret)
            slow_var = self._var_slow.update(ret)
        else:
            fast_var = slow_var = 0.0
        gap = self._ema_fast.update(close) - self._ema_slow.update(close)
        return classify_regime(fast_var, slow_var, gap, atr, self.params)
