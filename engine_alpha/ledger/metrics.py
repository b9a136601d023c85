"""Profit factor, drawdown and trade counts: pure functions over closed-trade PnLs (SPEC §3).

One summation everywhere: plain left-to-right float addition starting from 0.0, in exit order.
Not `math.fsum` and not the builtin `sum` (compensated on Python >= 3.12), so the daemon's
running totals and a recomputation from the journal agree bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "StatsAccumulator",
    "TradeStats",
    "left_sum",
    "max_drawdown_pct",
    "passes_pf_gate",
    "profit_factor",
    "summarize",
]


def left_sum(values: Iterable[float]) -> float:
    """The one summation of the ledger: 0.0 + v1 + v2 + ... left to right."""
    total = 0.0
    for value in values:
        total += value
    return total


def _pf(gross_profit_usd: float, gross_loss_usd: float) -> float | None:
    return gross_profit_usd / gross_loss_usd if gross_loss_usd > 0.0 else None


def profit_factor(pnls: Sequence[float]) -> float | None:
    """Sum of wins / |sum of losses|; None with no losing trade (0.0 when every trade lost)."""
    gross_profit = left_sum(p for p in pnls if p > 0.0)
    gross_loss = left_sum(-p for p in pnls if p < 0.0)
    return _pf(gross_profit, gross_loss)


def _check_equity(starting_equity_usd: float) -> None:
    if not starting_equity_usd > 0.0:
        raise ValueError(f"starting equity must be > 0 USD, got {starting_equity_usd!r}")


def max_drawdown_pct(starting_equity: float, pnls_in_exit_order: Iterable[float]) -> float:
    """Max of (peak - equity) / peak x 100 with equity = start + cumulative PnL; 0.0 with no trades.

    The peak starts at the starting equity (> 0); equity at or below 0 gives 100% or more.

    """
    acc = StatsAccumulator(starting_equity)
    for pnl in pnls_in_exit_order:
        acc.add(pnl)
    return acc.max_drawdown_pct


@dataclass(frozen=True, slots=True)
class TradeStats:
    """Closed-trade statistics; a trade with PnL exactly 0 is counted but is no win nor loss."""

    trades: int
    wins: int
    losses: int
    gross_profit_usd: float
    gross_loss_usd: float
    pf: float | None
    max_drawdown_pct: float
    net_pnl_usd: float

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict, in declaration order (the pf_local.json block)."""
        return asdict(self)


class StatsAccumulator:
    """Running TradeStats fed one PnL at a time in exit order; `summarize` is this over a list."""

    __slots__ = (
        "gross_loss_usd",
        "gross_profit_usd",
        "losses",
        "max_drawdown_pct",
        "net_pnl_usd",
        "peak_equity_usd",
        "starting_equity_usd",
        "trades",
        "wins",
    )

    def __init__(self, starting_equity_usd: float) -> None:
        _check_equity(starting_equity_usd)
        self.starting_equity_usd = starting_equity_usd
        self.peak_equity_usd = starting_equity_usd
        self.trades = self.wins = self.losses = 0
        self.gross_profit_usd = self.gross_loss_usd = self.net_pnl_usd = 0.0
        self.max_drawdown_pct = 0.0

    def add(self, pnl_usd: float) -> None:
        """Count one closed trade's net PnL."""
        self.trades += 1
        if pnl_usd > 0.0:
            self.wins += 1
            self.gross_profit_usd += pnl_usd
        elif pnl_usd < 0.0:
            self.losses += 1
            self.gross_loss_usd += -pnl_usd
        self.net_pnl_usd += pnl_usd
        equity = self.starting_equity_usd + self.net_pnl_usd
        if equity > self.peak_equity_usd:
            self.peak_equity_usd = equity
        else:
            drawdown = (self.peak_equity_usd - equity) / self.peak_equity_usd * 100.0
            self.max_drawdown_pct = max(self.max_drawdown_pct, drawdown)

    def stats(self) -> TradeStats:
        """A snapshot of the totals so far."""
        return TradeStats(
            trades=self.trades,
            wins=self.wins,
            losses=self.losses,
            gross_profit_usd=self.gross_profit_usd,
            gross_loss_usd=self.gross_loss_usd,
            pf=_pf(self.gross_profit_usd, self.gross_loss_usd),
            max_drawdown_pct=self.max_drawdown_pct,
            net_pnl_usd=self.net_pnl_usd,
        )


def summarize(pnls: Iterable[float], starting_equity: float) -> TradeStats:
    """TradeStats of closed trades given in exit order, drawdown against `starting_equity` (> 0)."""
    acc = StatsAccumulator(starting_equity)
    for pnl in pnls:
        acc.add(pnl)
    return acc.stats()


def passes_pf_gate(stats: TradeStats, min_pf: float) -> bool:
    """PF above `min_pf`, or no losses and at least one win (SPEC §3)."""
    if stats.pf is None:
        return stats.wins >= 1
    return stats.pf > min_pf
