"""What a person sees around `chloe run --replay`: a progress bar on a TTY, then a summary."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from engine_alpha.cli.progress import TerminalProgress
from engine_alpha.core.formatting import fmt_num, fmt_pf
from engine_alpha.daemon.runner import RunStats

if TYPE_CHECKING:
    from engine_alpha.daemon.service import Daemon


def print_summary(daemon: Daemon, console: Console | None = None) -> None:
    """Trades, PF, drawdown and net PnL per asset and for the portfolio (stderr by default)."""
    console = console or Console(file=sys.stderr, width=None if sys.stderr.isatty() else 110)
    book = daemon.book
    paper = daemon.config.paper
    table = Table(title="Chloe run summary (closed trades)")
    for column in (
        "asset",
        "mode",
        "trades",
        "wins",
        "losses",
        "PF",
        "max DD %",
        "net PnL USD",
        "open",
    ):
        table.add_column(column, justify="right" if column not in ("asset", "mode") else "left")
    for symbol in daemon.symbols:
        plan = daemon.plans[symbol]
        stats = book.asset_stats(symbol, daemon.config.asset_equity_usd(symbol))
        mode = plan.mode if plan.trades else plan.idle_reason
        table.add_row(
            symbol,
            mode,
            str(stats.trades),
            str(stats.wins),
            str(stats.losses),
            fmt_pf(stats.pf, stats.wins, stats.trades),
            fmt_num(stats.max_drawdown_pct),
            fmt_num(stats.net_pnl_usd),
            "yes" if symbol in book.positions else "",
        )
    total = book.portfolio_stats(paper.position_limits.starting_equity_usd)
    table.add_row(
        "PORTFOLIO",
        "",
        str(total.trades),
        str(total.wins),
        str(total.losses),
        fmt_pf(total.pf, total.wins, total.trades),
        fmt_num(total.max_drawdown_pct),
        fmt_num(total.net_pnl_usd),
        str(len(book.positions)),
        style="bold",
    )
    console.print(table)
    run = daemon.runner.stats
    console.print(
        f"bars {run.bars}, bar times {run.bar_times}, fills this run {daemon.trader.fills_acked}; "
        f"journal {daemon.reports_dir / 'trades.jsonl'}"
    )


class ProgressBar:
    """The replay's progress (bar times done of the replay's total) on stderr when a terminal."""

    def __init__(self, enabled: bool) -> None:
        self._bar = TerminalProgress("replay", "bar times", enabled=enabled)

    @classmethod
    def for_tty(cls) -> ProgressBar:
        """Enabled only when stderr is a terminal."""
        return cls(sys.stderr.isatty())

    def __enter__(self) -> ProgressBar:
        self._bar.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.__exit__(exc_type, exc, tb)

    def update(self, stats: RunStats) -> None:
        """Show the bar times done so far, of the total when the feed knows it (replay)."""
        self._bar.show(stats.bar_times, stats.total_bar_times)
