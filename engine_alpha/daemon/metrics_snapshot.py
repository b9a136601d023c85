"""What the daemon hands its metrics endpoint after a commit: one immutable snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["MetricsSnapshot"]


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """The daemon's figures after a commit (replaced whole, never changed in place)."""

    bars: Mapping[str, int] = field(default_factory=dict)
    refused: Mapping[str, int] = field(default_factory=dict)
    fills: Mapping[tuple[str, str], int] = field(default_factory=dict)
    journal_fills: int = 0
    exposure_usd: Mapping[str, float] = field(default_factory=dict)
    profit_factor: Mapping[str, float] = field(default_factory=dict)
    max_drawdown_pct: Mapping[str, float] = field(default_factory=dict)
    last_bar_ts: int | None = None
    feed_lag_s: float | None = None
    degraded: frozenset[str] = frozenset()
    symbols: tuple[str, ...] = ()
