"""The mean-reversion model (`mean_reversion`): fade a close stretched far from its average.

The stretch of a bar is z = (close - EMA) / ATR, with the EMA of closes and Wilder's ATR as of the
bar before (neither includes this bar). A signal fires on the bar where |z| first exceeds
`entry_z` (the previous bar's |z| was at most `entry_z`), against the stretch: a close far above
its average is a short, far below a long. It fires in chop and high_vol; in trend_up and
trend_down a stretch is more often the trend itself, so there it is withheld unless
`trade_trends`. Its confidence is the percentile rank of |z| among this asset's recent
threshold crossings (past ones only), so the buckets spread as the breakout's do.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from engine_alpha.market.bars import Bar
from engine_alpha.signals.decision import BarDecision, bucket_of
from engine_alpha.signals.indicators import Ema, PercentileRank, WilderAtr
from engine_alpha.signals.protocol import ModelParams, ModelPlugin
from engine_alpha.signals.regime import TREND_DOWN, TREND_UP, RegimeParams, RegimeTracker
from engine_alpha.signals.state import SlotState

__all__ = ["PLUGIN", "MeanReversionModel", "MeanReversionParams"]

LONG = "long"
SHORT = "short"


class MeanReversionParams(ModelParams):
    """Every knob of the model with its default; docs/signal-models.md explains each one."""

    ema_bars: int = 48
    atr_bars: int = 14
    entry_z: float = 2.0
    rank_window: int = 200
    min_rank_samples: int = 20
    trade_trends: bool = False
    warmup_bars: int = 480
    regime: RegimeParams = Field(default_factory=RegimeParams)

    @model_validator(mode="after")
    def _consistent(self) -> MeanReversionParams:
        if min(self.ema_bars, self.atr_bars) < 1:
            raise ValueError("ema_bars and atr_bars must be >= 1")
        if self.entry_z <= 0.0:
            raise ValueError("entry_z must be > 0")
        if not 1 <= self.min_rank_samples <= self.rank_window:
            raise ValueError("need 1 <= min_rank_samples <= rank_window")
        floor = max(self.ema_bars + 1, self.atr_bars + 1, self.regime.slowest_span)
        if self.warmup_bars < floor:
            raise ValueError(
                f"warmup_bars {self.warmup_bars} is shorter than the slowest indicator "
                f"({floor} bars)"
            )
        return self


class MeanReversionModel(SlotState):
    """Incremental per-asset model: O(1) per bar (the rank window aside), state in slots."""

    __slots__ = ("_atr", "_bars", "_ema", "_prev_abs_z", "_ranks", "_regime", "params")

    def __init__(self, params: MeanReversionParams | None = None) -> None:
        self.params = params = params or MeanReversionParams()
        self._atr = WilderAtr(params.atr_bars)
        self._ema = Ema(params.ema_bars)
        self._ranks = PercentileRank(params.rank_window)
        self._regime = RegimeTracker(params.regime)
        self._prev_abs_z = 0.0
        self._bars = 0

    @property
    def warmup_bars(self) -> int:
        """Bars before regimes and signals show (`params.warmup_bars`)."""
        return self.params.warmup_bars

    def update(self, bar: Bar) -> BarDecision:
        """Fold in one closed bar and decide on it.

        The EMA and ATR that measure the stretch are read before this bar is folded in; the
        regime and the returned `atr` include it. Nothing after it is ever used.
        """
        params = self.params
        close = bar.close
        n = self._bars + 1
        self._bars = n
        atr_ind = self._atr
        ema = self._ema
        prev_atr = atr_ind.value
        z = 0.0
        if atr_ind.count >= params.atr_bars and ema.count >= params.ema_bars and prev_atr > 0.0:
            z = (close - ema.value) / prev_atr
        abs_z = z if z > 0.0 else -z
        entry = params.entry_z
        crossed = abs_z > entry and self._prev_abs_z <= entry
        self._prev_abs_z = abs_z
        atr = atr_ind.update(bar.high, bar.low, close)
        ema.update(close)
        regime = self._regime.update(close, atr)
        if not crossed:
            shown = regime if n > params.warmup_bars else None
            return BarDecision(bar.ts_ms, close, atr, shown, None, None, None)
        ranks = self._ranks
        enough = len(ranks) >= params.min_rank_samples
        confidence = ranks.rank(abs_z) if enough else 0.0
        ranks.add(abs_z)
        if n <= params.warmup_bars:
            return BarDecision(bar.ts_ms, close, atr, None, None, None, None)
        if not enough or (not params.trade_trends and regime in (TREND_UP, TREND_DOWN)):
            return BarDecision(bar.ts_ms, close, atr, regime, None, None, None)
        direction = SHORT if z > 0.0 else LONG
        return BarDecision(
            bar.ts_ms, close, atr, regime, direction, confidence, bucket_of(confidence)
        )


def _build(params: MeanReversionParams) -> MeanReversionModel:
    return MeanReversionModel(params)


PLUGIN: ModelPlugin[Any] = ModelPlugin(
    name="mean_reversion",
    summary="Volatility-scaled mean reversion: fade a close more than entry_z ATRs from its "
    "EMA, in chop and high_vol; confidence = the percentile rank of the stretch",
    params=MeanReversionParams,
    build=_build,
)
