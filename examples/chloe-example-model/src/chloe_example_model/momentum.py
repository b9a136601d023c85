"""`momentum`: follow an N-bar move that is large against the asset's ATR.

The move is the close now minus the close `roc_bars` bars ago, in ATRs. A move of at least
`min_move_atr` ATRs is a signal in its own direction; its confidence is the percentile rank of
its size among the sizes of the last `rank_window` bars' moves (signal or not), so it reads
"how unusual is this push for this asset lately". The regime is Chloe's own (`RegimeTracker`),
so the profile's regime filter means what it means for the built-in models.

Only Chloe's public pieces are used: the parameter base (`ModelParams`), the plugin record
(`ModelPlugin`), the decision (`BarDecision`, `bucket_of`), the indicators and the regime,
and `SlotState`, which gives the model `snapshot`/`restore` from its `__slots__`.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from pydantic import Field, model_validator

from engine_alpha.market.bars import Bar
from engine_alpha.signals.decision import BarDecision, bucket_of
from engine_alpha.signals.indicators import PercentileRank, WilderAtr
from engine_alpha.signals.protocol import ModelParams, ModelPlugin
from engine_alpha.signals.regime import RegimeParams, RegimeTracker
from engine_alpha.signals.state import SlotState

__all__ = ["PLUGIN", "MomentumModel", "MomentumParams"]


class MomentumParams(ModelParams):
    """The model's knobs with their defaults (`chloe models` lists them)."""

    roc_bars: int = Field(default=12, description="bars between the two closes compared")
    atr_bars: int = Field(default=14, description="Wilder ATR period that scales the move")
    min_move_atr: float = Field(default=2.0, description="smallest move, in ATRs, that signals")
    rank_window: int = Field(default=500, description="recent moves the confidence ranks against")
    min_rank_samples: int = Field(default=50, description="moves needed before any signal")
    warmup_bars: int = Field(default=300, description="bars before decisions count")
    regime: RegimeParams = Field(default_factory=RegimeParams)

    @model_validator(mode="after")
    def _consistent(self) -> MomentumParams:
        if min(self.roc_bars, self.atr_bars) < 1:
            raise ValueError("roc_bars and atr_bars must be >= 1")
        if self.min_move_atr < 0.0:
            raise ValueError("min_move_atr must be >= 0")
        if not 1 <= self.min_rank_samples <= self.rank_window:
            raise ValueError("need 1 <= min_rank_samples <= rank_window")
        floor = max(self.roc_bars + 1, self.atr_bars + 1, self.regime.slowest_span)
        if self.warmup_bars < floor:
            raise ValueError(f"warmup_bars {self.warmup_bars} is under {floor} bars")
        return self


class MomentumModel(SlotState):
    """One asset's momentum: every piece of state in a slot, so `SlotState` can save it."""

    __slots__ = ("_atr", "_bars", "_closes", "_ranks", "_regime", "params")

    def __init__(self, params: MomentumParams) -> None:
        self.params = params
        self._atr = WilderAtr(params.atr_bars)
        self._closes: deque[float] = deque(maxlen=params.roc_bars + 1)
        self._ranks = PercentileRank(params.rank_window)
        self._regime = RegimeTracker(params.regime)
        self._bars = 0

    @property
    def warmup_bars(self) -> int:
        return self.params.warmup_bars

    def update(self, bar: Bar) -> BarDecision:
        """Fold in one closed bar and decide on it, from this bar and earlier ones only."""
        p = self.params
        self._bars += 1
        atr = self._atr.update(bar.high, bar.low, bar.close)
        regime = self._regime.update(bar.close, atr)
        closes = self._closes
        closes.append(bar.close)
        shown = regime if self._bars > p.warmup_bars else None
        if len(closes) <= p.roc_bars or atr <= 0.0:
            return BarDecision(bar.ts_ms, bar.close, atr, shown, None, None, None)
        move = (bar.close - closes[0]) / atr
        size = abs(move)
        ranks = self._ranks
        enough = len(ranks) >= p.min_rank_samples
        confidence = ranks.rank(size) if enough else 0.0
        ranks.add(size)
        if shown is None or not enough or size < p.min_move_atr or move == 0.0:
            return BarDecision(bar.ts_ms, bar.close, atr, shown, None, None, None)
        direction = "long" if move > 0.0 else "short"
        return BarDecision(
            bar.ts_ms, bar.close, atr, shown, direction, confidence, bucket_of(confidence)
        )


def _build(params: MomentumParams) -> MomentumModel:
    return MomentumModel(params)


PLUGIN: ModelPlugin[Any] = ModelPlugin(
    name="momentum",
    summary="ATR-scaled N-bar momentum, followed in every regime; confidence = the percentile "
    "rank of the move's size among the asset's recent moves (example package)",
    params=MomentumParams,
    build=_build,
)
