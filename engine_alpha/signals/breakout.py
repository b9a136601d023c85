"""The breakout model (`breakout`, the default): one closed bar in, one BarDecision out.

A close beyond the previous `channel_bars` Donchian channel is a breakout: followed in trend and
high_vol regimes, faded in chop (mean reversion). Its confidence is the percentile rank of its
strength among this asset's recent breakout strengths. The daemon and the research pipeline both
call `BreakoutModel.update`, so live trading and research see the same decisions.
"""

from __future__ import annotations

from typing import Any

from engine_alpha.market.bars import Bar
from engine_alpha.signals.breakout_batch import breakout_columns
from engine_alpha.signals.breakout_params import BreakoutParams
from engine_alpha.signals.decision import BarDecision, bucket_of
from engine_alpha.signals.indicators import Ema, PercentileRank, RollingMax, RollingMin, WilderAtr
from engine_alpha.signals.protocol import ModelPlugin
from engine_alpha.signals.regime import CHOP, RegimeTracker
from engine_alpha.signals.state import SlotState

__all__ = ["PLUGIN", "WARMUP_BARS", "BreakoutModel", "BreakoutParams"]

LONG = "long"
SHORT = "short"


WARMUP_BARS = BreakoutParams().warmup_bars


class BreakoutModel(SlotState):
    """Incremental per-asset model: `update` costs microseconds and allocates one BarDecision."""

    __slots__ = ("_atr", "_bars", "_high", "_low", "_ranks", "_regime", "_volume", "params")

    def __init__(self, params: BreakoutParams | None = None) -> None:
        self.params = params = params or BreakoutParams()
        self._atr = WilderAtr(params.atr_bars)
        self._high = RollingMax(params.channel_bars)
        self._low = RollingMin(params.channel_bars)
        self._volume = Ema(params.volume_bars)
        self._ranks = PercentileRank(params.rank_window)
        self._regime = RegimeTracker(params.regime)
        self._bars = 0

    @property
    def warmup_bars(self) -> int:
        """Bars before regimes and signals show (`params.warmup_bars`)."""
        return self.params.warmup_bars

    @property
    def bars_seen(self) -> int:
        """How many bars have been folded in."""
        return self._bars

    @property
    def last_close(self) -> float | None:
        """The close of the last bar folded in (None before the first)."""
        return self._atr.prev_close if self._bars else None

    @property
    def warmed_up(self) -> bool:
        """True once `warmup_bars` bars have been seen: from the next decision on, regimes show."""
        return self._bars >= self.params.warmup_bars

    def update(self, bar: Bar) -> BarDecision:
        """Fold in one closed bar and decide on it (its regime, and a signal if there is one).

        The channel, ATR and volume average that judge a breakout are read before this bar is
        folded in; the regime and the returned `atr` include it. Nothing after it is ever used.
        """
        params = self.params
        high = bar.high
        low = bar.low
        close = bar.close
        n = self._bars + 1
        self._bars = n
        atr_ind = self._atr
        prev_atr = atr_ind.value
        excess = 0.0
        if self._high.count >= params.channel_bars and prev_atr > 0.0:
            if close > self._high.value:
                excess = close - self._high.value
            elif close < self._low.value:
                excess = close - self._low.value
        prev_volume = self._volume.value
        atr = atr_ind.update(high, low, close)
        self._high.update(high)
        self._low.update(low)
        self._volume.update(bar.volume)
        regime = self._regime.update(close, atr)
        if excess == 0.0:
            shown = regime if n > params.warmup_bars else None
            return BarDecision(bar.ts_ms, close, atr, shown, None, None, None)
        return self._breakout(bar, atr, regime, excess / prev_atr, prev_volume)

    def _breakout(
        self, bar: Bar, atr: float, regime: str, excess_atr: float, prev_volume: float
    ) -> BarDecision:
        """Rank a breakout's strength against past breakouts, store it, and decide the signal."""
        params = self.params
        rel_volume = bar.volume / prev_volume if prev_volume > 0.0 else 1.0
        strength = (excess_atr if excess_atr > 0.0 else -excess_atr) * rel_volume
        ranks = self._ranks
        enough = len(ranks) >= params.min_rank_samples
        confidence = ranks.rank(strength) if enough else 0.0
        ranks.add(strength)
        if self._bars <= params.warmup_bars:
            return BarDecision(bar.ts_ms, bar.close, atr, None, None, None, None)
        if not enough:
            return BarDecision(bar.ts_ms, bar.close, atr, regime, None, None, None)
        up = excess_atr > 0.0
        if regime == CHOP and params.fade_in_chop:
            up = not up
        direction = LONG if up else SHORT
        return BarDecision(
            bar.ts_ms, bar.close, atr, regime, direction, confidence, bucket_of(confidence)
        )


def _build(params: BreakoutParams) -> BreakoutModel:
    return BreakoutModel(params)


PLUGIN: ModelPlugin[Any] = ModelPlugin(
    name="breakout",
    summary="Donchian channel breakout: followed in trend and high_vol, faded in chop; "
    "confidence = the percentile rank of its ATR- and volume-scaled strength",
    params=BreakoutParams,
    build=_build,
    batch=breakout_columns,
)
