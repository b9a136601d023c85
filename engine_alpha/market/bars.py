"""The closed OHLCV bar, the one unit of market data every part of Chloe speaks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Bar:
    """A closed candle of one symbol, keyed by its open time in UTC milliseconds."""

    symbol: str
    ts_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(slots=True)
class BarTime:
    """All assets' closed bars of one open time, in the run order (SPEC §7).

    `backfill` marks bars a live feed fetched as history at start: they warm the indicators and
    are traded only as catch-up after a journal's last acted bar. Replay bars are never backfill.
    """

    ts_ms: int
    bars: list[Bar]
    backfill: bool = False
