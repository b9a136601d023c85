"""The volatility multiplier of sizing: shrink an order when ATR% runs above its baseline.

The strategy task computes it per signal (it owns the ATR% baseline, docs/strategy.md "Sizing");
sizing applies it where the profile allows, and the risk report shows the same figure.
"""

from __future__ import annotations

__all__ = ["MIN_VOL_MULTIPLIER", "volatility_multiplier"]

MIN_VOL_MULTIPLIER = 0.25


def volatility_multiplier(atr_pct: float, baseline_atr_pct: float) -> float:
    """Shrink size when volatility runs above its baseline: baseline / now, within [0.25, 1]."""
    if atr_pct <= 0.0 or baseline_atr_pct <= 0.0:
        return 1.0
    return max(MIN_VOL_MULTIPLIER, min(1.0, baseline_atr_pct / atr_pct))
