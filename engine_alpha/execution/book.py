"""The book: open positions, daily notional used and closed PnL, built only from journal lines.

The trader applies each fill line here as it writes it, and recovery applies the journal's lines
in the same order, so a restarted daemon holds exactly the state an uninterrupted one would.
"""

from __future__ import annotations

from typing import Any

from engine_alpha.execution.paper_broker import Position, position_from_open_line
from engine_alpha.ledger.metrics import left_sum

DAY_MS = 86_400_000


class Book:
    """Portfolio state keyed by symbol; every mutation is one journal line."""

    __slots__ = ("_daily", "closed_pnls", "last_bar_ts", "lines", "portfolio_pnls", "positions")

    def __init__(self) -> None:
        self.positions: dict[str, Position] = {}
        self._daily: dict[str, tuple[int, float]] = {}
        self.closed_pnls: dict[str, list[float]] = {}
        self.portfolio_pnls: list[float] = []
        self.last_bar_ts: int | None = None
        self.lines = 0

    def apply(self, line: dict[str, Any]) -> None:
        """Apply one fill line (open or close), in journal order."""
        symbol = line["symbol"]
        bar_ts = line["bar_ts"]
        if line["action"] == "open":
            self.positions[symbol] = position_from_open_line(line)
            day = bar_ts // DAY_MS
            prev_day, used = self._daily.get(symbol, (day, 0.0))
            self._daily[symbol] = (day, (used if prev_day == day else 0.0) + line["notional_usd"])
        else:
            self.positions.pop(symbol, None)
            self.closed_pnls.setdefault(symbol, []).append(line["pnl_usd"])
            self.portfolio_pnls.append(line["pnl_usd"])
        if self.last_bar_ts is None or bar_ts > self.last_bar_ts:
            self.last_bar_ts = bar_ts
        self.lines += 1

    def daily_used_usd(self, symbol: str, bar_ts: int) -> float:
        """Notional of the positions `symbol` opened on the UTC day of `bar_ts`."""
        entry = self._daily.get(symbol)
        if entry is None or entry[0] != bar_ts // DAY_MS:
            return 0.0
        return entry[1]

    def open_exposure_usd(self) -> float:
        """Entry notional of all open positions, summed in symbol order (deterministic)."""
        return left_sum(self.positions[s].notional_usd for s in sorted(self.positions))
