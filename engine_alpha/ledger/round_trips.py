"""Round trips from the journal and the figures a trader studies them by (`chloe trades`).

A round trip is an open fill and, once the position is closed, its close fill (the same
`trade_id`). Figures are over closed round trips in exit (journal) order, per asset and for the
portfolio; pure functions over journal lines, signal records and bars (docs/trades.md):

- win rate: the share with `pnl_usd` > 0; average win / loss: the mean `pnl_usd` of the wins /
  of the losses (< 0); expectancy: the mean `pnl_usd`; profit factor: `metrics.profit_factor`,
  the one the PF report uses;
- daily PnL: the sum of `pnl_usd` of round trips exiting on each UTC day, from the first exit
  day to the last, days without an exit counting 0; Sharpe = mean / standard deviation (n - 1)
  x sqrt(365); Sortino = mean / sqrt(mean of min(0, day)^2) x sqrt(365) (target 0);
- longest losing streak: the most consecutive round trips with `pnl_usd` < 0;
- holding time: from the entry bar's open to the exit bar's close, in hours;
- maximum adverse / favourable excursion (bps of the entry price): the lowest low and highest
  high of the bars from the entry bar to the exit bar (the trade's own direction decides which
  is adverse), where those bars are all there (else none).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from engine_alpha.core.units import BPS, DAY_MS, HOUR_MS
from engine_alpha.ledger.metrics import left_sum, profit_factor
from engine_alpha.market.bars import Bar

__all__ = [
    "RoundTrip",
    "TradeFigures",
    "daily_pnl",
    "figures",
    "figures_json",
    "round_trips",
    "trades_summary",
]

_ANNUAL = math.sqrt(365.0)


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One position: its entry, its exit when closed (None while open), and the signal."""

    symbol: str
    trade_id: str
    direction: str
    mode: str
    qty: float
    entry_bar_ts: int
    entry_price: float
    entry_fee_usd: float
    signal_bar_ts: int
    regime: str
    bucket: int
    confidence: float
    exit_bar_ts: int | None = None
    exit_price: float | None = None
    exit_reason: str | None = None
    exit_fee_usd: float | None = None
    pnl_usd: float | None = None
    pnl_bps: float | None = None
    holding_hours: float | None = None
    mae_bps: float | None = None
    mfe_bps: float | None = None

    @property
    def closed(self) -> bool:
        return self.exit_bar_ts is not None

    @property
    def fees_usd(self) -> float:
        return self.entry_fee_usd + (self.exit_fee_usd or 0.0)


@dataclass(frozen=True, slots=True)
class _BarIndex:
    """One asset's bars by open time, for excursions: sorted and unique, so a trade's bars are
    a slice found by bisection (each trade costs its own bars, not the whole file's)."""

    ts: list[int]
    bars: list[Bar]

    @classmethod
    def of(cls, bars: Sequence[Bar]) -> _BarIndex:
        by_ts = {b.ts_ms: b for b in bars}  # a repeated open time: its last bar, as before
        keys = sorted(by_ts)
        return cls(keys, [by_ts[t] for t in keys])


def _excursions(
    trip: RoundTrip, index: _BarIndex, last: int, step: int
) -> tuple[float | None, float | None]:
    """(MAE, MFE) in bps of the entry price over the bars from the entry bar to `last`, or
    Nones when one of them is missing."""
    first, entry, direction = trip.entry_bar_ts, trip.entry_price, trip.direction
    window = index.bars[bisect_left(index.ts, first) : bisect_right(index.ts, last)]
    if not window or len(window) != (last - first) // step + 1:
        return None, None
    low = min(b.low for b in window)
    high = max(b.high for b in window)
    up, down = (high / entry - 1.0) * BPS, (low / entry - 1.0) * BPS
    return (down, up) if direction == "long" else (-up, -down)


def round_trips(
    lines: Iterable[Mapping[str, Any]],
    signals: Mapping[tuple[str, int], Mapping[str, Any]] | None = None,
    bars: Mapping[str, Sequence[Bar]] | None = None,
    timeframe_ms: int = HOUR_MS,
) -> list[RoundTrip]:
    """Every round trip of the journal lines, closed ones in exit order then open ones in
    entry order; the signal (regime, bucket, confidence) from `signals` by (symbol, signal
    bar) where it is there, else from the fill line (the daemon writes the same)."""
    opens: dict[str, Mapping[str, Any]] = {}
    closed: list[RoundTrip] = []
    indexes: dict[str, _BarIndex] = {}
    for line in lines:
        if line["action"] == "open":
            opens[line["trade_id"]] = line
            continue
        entry = opens.pop(line["trade_id"], line)
        trip = _opened(entry, line, signals)
        mae = mfe = None
        if bars is not None and trip.symbol in bars:
            if (index := indexes.get(trip.symbol)) is None:
                index = indexes[trip.symbol] = _BarIndex.of(bars[trip.symbol])
            mae, mfe = _excursions(trip, index, line["bar_ts"], timeframe_ms)
        closed.append(
            replace(
                trip,
                exit_bar_ts=line["bar_ts"],
                exit_price=line["price"],
                exit_reason=line["reason"],
                exit_fee_usd=line["fee_usd"],
                pnl_usd=line["pnl_usd"],
                pnl_bps=line["pnl_bps"],
                holding_hours=(line["bar_ts"] + timeframe_ms - trip.entry_bar_ts) / HOUR_MS,
                mae_bps=mae,
                mfe_bps=mfe,
            )
        )
    return closed + [_opened(entry, None, signals) for entry in opens.values()]


def _opened(
    entry: Mapping[str, Any],
    close: Mapping[str, Any] | None,
    signals: Mapping[tuple[str, int], Mapping[str, Any]] | None,
) -> RoundTrip:
    """The entry side of a round trip (from its open line, or from the close line's entry
    fields when the open line is not in the lines given, e.g. before `--since`)."""
    symbol = entry["symbol"]
    signal = (signals or {}).get((symbol, entry["signal_bar_ts"])) or entry
    return RoundTrip(
        symbol=symbol,
        trade_id=entry["trade_id"],
        direction=entry["direction"],
        mode=entry["mode"],
        qty=entry["qty"],
        entry_bar_ts=entry["bar_ts"] if close is None else close["entry_bar_ts"],
        entry_price=entry["price"] if close is None else close["entry_price"],
        entry_fee_usd=entry["fee_usd"] if close is None else close["entry_fee_usd"],
        signal_bar_ts=entry["signal_bar_ts"],
        regime=signal["regime"],
        bucket=signal["bucket"],
        confidence=signal["confidence"],
    )


@dataclass(frozen=True, slots=True)
class TradeFigures:
    """The figures of a set of closed round trips (module doc); None where undefined."""

    trades: int
    wins: int
    losses: int
    win_rate: float | None
    avg_win_usd: float | None
    avg_loss_usd: float | None
    expectancy_usd: float | None
    profit_factor: float | None
    net_pnl_usd: float
    fees_usd: float
    sharpe_daily: float | None
    sortino_daily: float | None
    longest_losing_streak: int
    avg_holding_hours: float | None
    avg_mae_bps: float | None
    avg_mfe_bps: float | None


def _mean(values: Sequence[float]) -> float | None:
    return left_sum(values) / len(values) if values else None


def daily_pnl(trips: Iterable[RoundTrip]) -> list[float]:
    """PnL per UTC exit day, from the first exit day to the last (no exit: 0)."""
    per_day: dict[int, float] = {}
    for t in trips:
        if t.exit_bar_ts is not None and t.pnl_usd is not None:
            day = t.exit_bar_ts // DAY_MS
            per_day[day] = per_day.get(day, 0.0) + t.pnl_usd
    if not per_day:
        return []
    first, last = min(per_day), max(per_day)
    return [per_day.get(day, 0.0) for day in range(first, last + 1)]


def figures(trips: Sequence[RoundTrip]) -> TradeFigures:
    """The figures of the closed round trips among `trips`, in the order given (exit order)."""
    closed = [t for t in trips if t.closed and t.pnl_usd is not None]
    pnls = [t.pnl_usd for t in closed if t.pnl_usd is not None]
    wins = [p for p in pnls if p > 0.0]
    losses = [p for p in pnls if p < 0.0]
    streak = longest = 0
    for p in pnls:
        streak = streak + 1 if p < 0.0 else 0
        longest = max(longest, streak)
    days = daily_pnl(closed)
    sharpe = sortino = None
    if len(days) >= 2:
        mean = left_sum(days) / len(days)
        sd = math.sqrt(left_sum((d - mean) ** 2 for d in days) / (len(days) - 1))
        # Equal days have no spread: the float mean of equal values can miss them by an ulp,
        # which would make a Sharpe of 1e16 out of rounding.
        varied = min(days) != max(days)
        sharpe = mean / sd * _ANNUAL if varied and sd > 0.0 else None
        downside = math.sqrt(left_sum(min(0.0, d) ** 2 for d in days) / len(days))
        sortino = mean / downside * _ANNUAL if downside > 0.0 else None
    maes = [t.mae_bps for t in closed if t.mae_bps is not None]
    mfes = [t.mfe_bps for t in closed if t.mfe_bps is not None]
    holds = [t.holding_hours for t in closed if t.holding_hours is not None]
    return TradeFigures(
        trades=len(pnls),
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / len(pnls) if pnls else None,
        avg_win_usd=_mean(wins),
        avg_loss_usd=_mean(losses),
        expectancy_usd=_mean(pnls),
        profit_factor=profit_factor(pnls),
        net_pnl_usd=left_sum(pnls),
        fees_usd=left_sum(t.fees_usd for t in closed),
        sharpe_daily=sharpe,
        sortino_daily=sortino,
        longest_losing_streak=longest,
        avg_holding_hours=_mean(holds),
        avg_mae_bps=_mean(maes),
        avg_mfe_bps=_mean(mfes),
    )


def figures_json(f: TradeFigures) -> dict[str, Any]:
    """The figures as JSON data (every float at full precision, None where undefined)."""
    return {name: getattr(f, name) for name in TradeFigures.__slots__}


def trades_summary(trips: Sequence[RoundTrip]) -> dict[str, Any]:
    """Per asset (first-exit order) and portfolio figures, and the open positions' count: what
    `chloe trades --json`, `chloe status --json` (`trades`) and the HTML report show."""
    symbols = list(dict.fromkeys(t.symbol for t in trips))
    return {
        "portfolio": figures_json(figures(trips)),
        "assets": {s: figures_json(figures([t for t in trips if t.symbol == s])) for s in symbols},
        "open_positions": sum(1 for t in trips if not t.closed),
    }
