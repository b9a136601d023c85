"""How a status number is written for people: one set of formatters for the table and the HTML."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["fmt_bool", "fmt_num", "fmt_pf", "fmt_ts", "fmt_usd"]


def fmt_num(value: float | int | None, digits: int = 2) -> str:
    """A number with `digits` decimals; `-` when absent."""
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def fmt_usd(value: float | None) -> str:
    """USD with cents and a thousands separator."""
    return "-" if value is None else f"{value:,.2f}"


def fmt_pf(pf: float | None, wins: int, trades: int) -> str:
    """PF to 2 decimals, or why it is not a number: no trades, or no losses."""
    if pf is not None:
        return f"{pf:.2f}"
    if trades == 0:
        return "n/a (no trades)"
    return "n/a (no losses)" if wins else "n/a (no wins)"


def fmt_bool(value: bool | None) -> str:
    """yes / no / -."""
    if value is None:
        return "-"
    return "yes" if value else "no"


def fmt_ts(ts_ms: int | None) -> str:
    """Bar time in UTC: `2023-12-30 14:00`."""
    if ts_ms is None:
        return "-"
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
