"""The text of each notification: pure functions from plain figures to a title and a body.

Numbers are the journal's and pf_local.json's, rounded to cents and hundredths for a phone
screen; the body of each message holds its figures on lines a script can read
(`ETHUSDT: 2 trades, +12.34 USD; PF 1.52; max DD 3.10%`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from engine_alpha.config.models import NotifyEvent
from engine_alpha.core.formatting import fmt_date, fmt_iso_utc, fmt_pf
from engine_alpha.ledger.metrics import TradeStats

__all__ = [
    "Message",
    "critical_error",
    "daemon_started",
    "daemon_stopped",
    "daily_summary",
    "feed_changed",
    "gate_lost",
    "gate_met",
    "position_closed",
]

Level = Literal["info", "success", "warning", "failure"]  # apprise's notify types


@dataclass(frozen=True, slots=True)
class Message:
    """One notification: which event, its title and body, and how urgent (apprise's type)."""

    event: NotifyEvent | Literal["test"]
    title: str
    body: str
    level: Level = "info"


def _usd(value: float) -> str:
    return f"{value:+,.2f} USD"


def stats_line(name: str, stats: TradeStats) -> str:
    """`ETHUSDT: PF 1.52; max DD 3.10%; 40 trades, net +123.45 USD` (cumulative figures)."""
    pf = fmt_pf(stats.pf, stats.wins, stats.trades)
    return (
        f"{name}: PF {pf}; max DD {stats.max_drawdown_pct:.2f}%; "
        f"{stats.trades} trades, net {_usd(stats.net_pnl_usd)}"
    )


def position_closed(line: Mapping[str, Any]) -> Message:
    """A round trip closed: the fill's symbol, direction, prices, reason and net PnL."""
    pnl = float(line["pnl_usd"])
    fees = float(line.get("entry_fee_usd") or 0.0) + float(line["fee_usd"])
    body = (
        f"{line['symbol']} {line['direction']} closed by {line['reason']} "
        f"at {fmt_iso_utc(int(line['bar_ts']))}\n"
        f"PnL {_usd(pnl)} ({float(line['pnl_bps']):+.1f} bps), fees {fees:,.2f} USD\n"
        f"entry {line['entry_price']} -> exit {line['price']}, qty {line['qty']}\n"
        f"trade {line['trade_id']}"
    )
    return Message(
        "position_closed",
        f"Chloe: {line['symbol']} closed {_usd(pnl)}",
        body,
        "success" if pnl > 0 else "warning" if pnl < 0 else "info",
    )


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One asset's (or the portfolio's) day: trades closed and their net PnL, and the cumulative
    stats at the end of the day."""

    name: str
    trades: int
    pnl_usd: float
    stats: TradeStats


def daily_summary(day_ms: int, rows: Sequence[DayFigures]) -> Message:
    """The day's closed trades and PnL per asset and for the portfolio, with PF and drawdown."""
    lines = [f"UTC day {fmt_date(day_ms)}"]
    for row in rows:
        pf = fmt_pf(row.stats.pf, row.stats.wins, row.stats.trades)
        lines.append(
            f"{row.name}: {row.trades} trades, {_usd(row.pnl_usd)}; PF {pf}; "
            f"max DD {row.stats.max_drawdown_pct:.2f}%"
        )
    return Message("daily_summary", f"Chloe: day {fmt_date(day_ms)}", "\n".join(lines))


def gate_met(symbol: str, command: str, prerequisites: Sequence[str]) -> Message:
    """The next asset's gate is met: it can be enabled, and this command does it."""
    after = f" ({', '.join(prerequisites)} stable)" if prerequisites else ""
    body = f"{symbol} can be enabled next{after}.\nrun: {command}"
    return Message("gate_met", f"Chloe: {symbol} ready to enable", body, "success")


def gate_lost(symbol: str, why: Sequence[str], was: str) -> Message:
    """A gate that was met is not any more: what it was and the criteria that now fail."""
    body = f"{symbol}: {was} no longer holds\n" + "\n".join(why)
    return Message("gate_lost", f"Chloe: {symbol} gate lost", body, "warning")


def feed_changed(event: Mapping[str, Any], degraded: bool) -> Message:
    """An asset's live feed went degraded (with the reason) or recovered."""
    symbol = event.get("symbol", "?")
    extra = ", ".join(
        f"{k}={v}" for k, v in sorted(event.items()) if k in ("reason", "last_bar_ts_ms")
    )
    if degraded:
        return Message(
            "feed_degraded", f"Chloe: {symbol} feed degraded", f"{symbol}: {extra}", "warning"
        )
    return Message("feed_recovered", f"Chloe: {symbol} feed recovered", f"{symbol}: {extra}")


_ERROR_FIELDS = ("symbol", "task", "target", "problem", "error", "path", "file")


def critical_error(event: Mapping[str, Any]) -> Message:
    """An error or critical log event: its name, level and the fields that say what broke."""
    name = str(event.get("event", "error"))
    level = str(event.get("level", "error"))
    lines = [f"{level}: {name}"]
    lines += [f"{k}: {event[k]}" for k in _ERROR_FIELDS if event.get(k) is not None]
    return Message("critical_error", f"Chloe {level}: {name}", "\n".join(lines), "failure")


def daemon_started(*, feed: str, trading: Sequence[str], journal_lines: int) -> Message:
    """The daemon is up: its feed, what trades, how much journal it recovered."""
    body = (
        f"feed {feed}; trading {', '.join(trading) or 'nothing'}; "
        f"journal {journal_lines} lines recovered"
    )
    return Message("daemon_started", "Chloe started", body)


def daemon_stopped(*, fills: int, last_bar_ts: int | None, portfolio: TradeStats) -> Message:
    """The daemon stopped cleanly: this run's fills, its last bar and the portfolio's figures."""
    last = fmt_iso_utc(last_bar_ts) if last_bar_ts is not None else "none"
    body = f"fills this run {fills}; last bar {last}\n" + stats_line("portfolio", portfolio)
    return Message("daemon_stopped", "Chloe stopped", body)
