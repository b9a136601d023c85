"""The daily summary's figures: each UTC day's closed trades, exact whatever the commit chunks.

Fed every committed fill line in journal order and the bar time reached, it closes each UTC day
the bars have passed, with the day's trades and PnL and the cumulative PF and drawdown at its
end (StatsAccumulators seeded from the journal's past trades, so bit-identical to pf_local.json
at that point). A closed day's rows are made only when its message is (a replay that floods
the queue closes a thousand days whose summaries are dropped unmade).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from engine_alpha.core.units import DAY_MS
from engine_alpha.ledger.metrics import StatsAccumulator, TradeStats
from engine_alpha.notify.messages import DayFigures, Message, daily_summary

__all__ = ["PORTFOLIO", "ClosedDay", "DailyTally", "lines_since"]

PORTFOLIO = "portfolio"


@dataclass(frozen=True, slots=True)
class ClosedDay:
    """A UTC day the bars have passed: each asset's trades and PnL that day, and the stats of
    each asset and of the portfolio at its end."""

    day_ms: int
    today: Mapping[str, tuple[int, float]]
    stats: Mapping[str, TradeStats]

    def rows(self) -> list[DayFigures]:
        """Every asset that has traded (symbol order), then the portfolio."""
        rows = []
        for symbol in sorted(s for s in self.stats if s != PORTFOLIO):
            trades, pnl = self.today.get(symbol, (0, 0.0))
            rows.append(DayFigures(symbol, trades, pnl, self.stats[symbol]))
        trades = sum(t for t, _ in self.today.values())
        # The day's portfolio PnL in the journal's order of the day's closes would need the
        # lines again; a sum over assets in symbol order is the figure people check by hand.
        pnl = sum(self.today[s][1] for s in sorted(self.today))
        rows.append(DayFigures(PORTFOLIO, trades, pnl, self.stats[PORTFOLIO]))
        return rows

    def message(self) -> Message:
        """The day's summary message."""
        return daily_summary(self.day_ms, self.rows())


class DailyTally:
    """Per-asset and portfolio running stats, and the current day's trades and PnL."""

    def __init__(
        self,
        past: Mapping[str, Iterable[float]],
        portfolio_past: Iterable[float],
        *,
        starting_equity_usd: float,
        asset_equity_usd: Mapping[str, float],
        day_ms: int | None,
    ) -> None:
        self._equity = dict(asset_equity_usd)
        self._start = starting_equity_usd
        self._acc: dict[str, StatsAccumulator] = {}
        for symbol, pnls in past.items():
            acc = self._acc_for(symbol)
            for pnl in pnls:
                acc.add(pnl)
        self._portfolio = StatsAccumulator(starting_equity_usd)
        for pnl in portfolio_past:
            self._portfolio.add(pnl)
        self._day = None if day_ms is None else day_ms // DAY_MS
        self._today: dict[str, tuple[int, float]] = {}
        self._stats: dict[str, TradeStats] = {}  # at the last day's end, replaced, never changed
        self._changed: set[str] = {*self._acc, PORTFOLIO}  # trades added since

    def begin(self, first_bar_ms: int) -> None:
        """The run's first bar time: its UTC day is the first to close (unless resumed)."""
        if self._day is None:
            self._day = first_bar_ms // DAY_MS

    def resume(self, today: Iterable[Mapping[str, Any]]) -> None:
        """After a restart: count the current day's closes already in the journal (the
        accumulators hold them already, from `past`)."""
        for line in today:
            if line["action"] == "close":
                trades, total = self._today.get(line["symbol"], (0, 0.0))
                self._today[line["symbol"]] = (trades + 1, total + float(line["pnl_usd"]))

    def _acc_for(self, symbol: str) -> StatsAccumulator:
        acc = self._acc.get(symbol)
        if acc is None:
            acc = self._acc[symbol] = StatsAccumulator(self._equity.get(symbol, self._start))
        return acc

    def advance(
        self, lines: Iterable[Mapping[str, Any]], reached_ms: int | None
    ) -> list[ClosedDay]:
        """Count `lines` (a commit, in journal order); return every day closed on the way to
        `reached_ms` (the last bar time stepped)."""
        closed: list[ClosedDay] = []
        for line in lines:
            self._close_until(int(line["bar_ts"]) // DAY_MS, closed)
            if line["action"] != "close":
                continue
            symbol, pnl = line["symbol"], float(line["pnl_usd"])
            self._acc_for(symbol).add(pnl)
            self._portfolio.add(pnl)
            self._changed.update((symbol, PORTFOLIO))
            trades, total = self._today.get(symbol, (0, 0.0))
            self._today[symbol] = (trades + 1, total + pnl)
        if reached_ms is not None:
            self._close_until(reached_ms // DAY_MS, closed)
        return closed

    def _close_until(self, day: int, closed: list[ClosedDay]) -> None:
        if self._day is None:
            self._day = day
        while self._day < day:
            closed.append(ClosedDay(self._day * DAY_MS, self._today, self._stats_now()))
            self._today = {}
            self._day += 1

    def _stats_now(self) -> dict[str, TradeStats]:
        """The stats of every asset and the portfolio now: the last day's again while no trade
        was added (most days of most assets), else a new mapping."""
        if self._changed:
            stats = dict(self._stats)
            for key in self._changed:
                stats[key] = (self._portfolio if key == PORTFOLIO else self._acc[key]).stats()
            self._stats = stats
            self._changed = set()
        return self._stats


def lines_since(path: Path, since_ms: int, block: int = 1 << 16) -> list[dict[str, Any]]:
    """The journal's last lines whose `bar_ts` is at or after `since_ms`, in journal order,
    read backwards from the end (a restart needs only the current day's)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return []
    found: list[dict[str, Any]] = []
    try:
        end = os.fstat(fd).st_size
        rest = b""
        while end > 0:
            start = max(0, end - block)
            data = os.pread(fd, end - start, start) + rest
            end = start
            parts = data.split(b"\n")
            rest = parts.pop(0) if start > 0 else b""
            for raw in reversed(parts):
                if not raw.strip():
                    continue
                try:
                    line = orjson.loads(raw)
                    bar_ts = int(line["bar_ts"])
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    continue  # recovery has quarantined what it could not read
                if bar_ts < since_ms:
                    return found[::-1]
                found.append(line)
        return found[::-1]
    finally:
        os.close(fd)
