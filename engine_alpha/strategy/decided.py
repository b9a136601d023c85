"""What a strategy task hands the trader for each bar: the model's decision, the filter's verdict.

It lives in the strategy layer, which produces it; the trader (execution, the layer above)
consumes it, so neither imports the other both ways.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine_alpha.market.bars import Bar
from engine_alpha.signals.decision import BarDecision

__all__ = ["Decided"]


@dataclass(slots=True)
class Decided:
    """One asset's decision at one bar, as its strategy task produced it."""

    bar: Bar
    decision: BarDecision
    refusal: str | None
    vol_multiplier: float
