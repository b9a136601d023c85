"""The breakout's parameters: shared by the incremental model and its batch path."""

from __future__ import annotations

from pydantic import Field, model_validator

from engine_alpha.signals.protocol import ModelParams
from engine_alpha.signals.regime import RegimeParams

__all__ = ["BreakoutParams"]


class BreakoutParams(ModelParams):
    """Every knob of the model with its default; docs/strategy.md explains each one."""

    channel_bars: int = 24
    atr_bars: int = 14
    volume_bars: int = 24
    rank_window: int = 500
    min_rank_samples: int = 20
    fade_in_chop: bool = True
    warmup_bars: int = 480
    regime: RegimeParams = Field(default_factory=RegimeParams)

    @model_validator(mode="after")
    def _consistent(self) -> BreakoutParams:
        if min(self.channel_bars, self.atr_bars, self.volume_bars) < 1:
            raise ValueError("channel_bars, atr_bars and volume_bars must be >= 1")
        if not 1 <= self.min_rank_samples <= self.rank_window:
            raise ValueError("need 1 <= min_rank_samples <= rank_window")
        floor = max(self.channel_bars + 1, self.atr_bars + 1, self.regime.slowest_span)
        if self.warmup_bars < floor:
            raise ValueError(
                f"warmup_bars {self.warmup_bars} is shorter than the slowest indicator "
                f"({floor} bars)"
            )
        return self
