"""Per-asset history folded from journal lines: closed PnLs in exit order, opens, open exposure.

Pure: the caller hands in the lines (in journal order); the totals use `ledger.metrics.summarize`,
so they equal `pf_local.json` for the same journal bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine_alpha.ledger.metrics import TradeStats, left_sum, summarize

__all__ = ["AssetHistory", "LedgerHistory", "TakenTrade", "fold_history"]


@dataclass(frozen=True, slots=True)
class TakenTrade:
    """What an open line says about the signal that was taken."""

    bar_ts: int
    mode: str
    regime: str
    bucket: int
    confidence: float
    direction: str


@dataclass(slots=True)
class AssetHistory:
    """One asset's fills: closed PnLs (exit times, cells), the opens taken, the open position."""

    pnls: list[float] = field(default_factory=list)
    pnl_bps: list[float] = field(default_factory=list)
    exit_ts: list[int] = field(default_factory=list)
    taken: list[TakenTrade] = field(default_factory=list)
    closed_cells: list[tuple[str, int, float]] = field(default_factory=list)
    open_notional_usd: float = 0.0
    first_ts: int | None = None
    last_ts: int | None = None

    def stats(self, starting_equity_usd: float) -> TradeStats:
        """PF, drawdown and counts of the closed trades against `starting_equity_usd`."""
        return summarize(self.pnls, starting_equity_usd)

    def see(self, bar_ts: int) -> None:
        """Widen the bar-time span of this asset's activity."""
        if self.first_ts is None or bar_ts < self.first_ts:
            self.first_ts = bar_ts
        if self.last_ts is None or bar_ts > self.last_ts:
            self.last_ts = bar_ts


@dataclass(slots=True)
class LedgerHistory:
    """Every asset's history and the portfolio's closed PnLs in journal (exit) order."""

    assets: dict[str, AssetHistory] = field(default_factory=dict)
    portfolio_pnls: list[float] = field(default_factory=list)
    portfolio_exit_ts: list[int] = field(default_factory=list)
    last_bar_ts: int | None = None
    fills: int = 0

    def asset(self, symbol: str) -> AssetHistory:
        """The history of `symbol` (empty when it never traded)."""
        return self.assets.get(symbol) or AssetHistory()

    def open_exposure_usd(self) -> float:
        """Entry notional of every open position, summed in symbol order (as pf_local.json)."""
        return left_sum(
            self.assets[s].open_notional_usd
            for s in sorted(self.assets)
            if self.assets[s].open_notional_usd > 0.0
        )

    def open_positions(self) -> int:
        """How many assets hold a position."""
        return sum(1 for a in self.assets.values() if a.open_notional_usd > 0.0)

    def apply(self, line: Mapping[str, Any]) -> None:
        """Fold one fill line, in journal order."""
        symbol = line["symbol"]
        bar_ts = int(line["bar_ts"])
        history = self.assets.get(symbol)
        if history is None:  # not setdefault: an AssetHistory per line costs more than the rest
            history = self.assets[symbol] = AssetHistory()
        history.see(bar_ts)
        if line["action"] == "open":
            history.open_notional_usd = float(line["notional_usd"])
            history.taken.append(
                TakenTrade(
                    bar_ts=bar_ts,
                    mode=str(line["mode"]),
                    regime=str(line["regime"]),
                    bucket=int(line["bucket"]),
                    confidence=float(line["confidence"]),
                    direction=str(line["direction"]),
                )
            )
        else:
            pnl_usd, pnl_bps = float(line["pnl_usd"]), float(line["pnl_bps"])
            history.open_notional_usd = 0.0
            history.pnls.append(pnl_usd)
            history.pnl_bps.append(pnl_bps)
            history.exit_ts.append(bar_ts)
            history.closed_cells.append((str(line["regime"]), int(line["bucket"]), pnl_bps))
            self.portfolio_pnls.append(pnl_usd)
            self.portfolio_exit_ts.append(bar_ts)
        if self.last_bar_ts is None or bar_ts > self.last_bar_ts:
            self.last_bar_ts = bar_ts
        self.fills += 1


def fold_history(lines: Iterable[Mapping[str, Any]]) -> LedgerHistory:
    """The LedgerHistory of journal lines given in journal order."""
    history = LedgerHistory()
    for line in lines:
        history.apply(line)
    return history
