"""The pf_local.json content from a Book (SPEC §4): the daemon's running figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine_alpha.execution.book import Book
from engine_alpha.ledger.metrics import summarize


def book_report(
    book: Book,
    *,
    symbols: Sequence[str],
    starting_equity_usd: float,
    asset_equity_usd: Mapping[str, float],
    as_of_bar_ts: int | None,
    generated_at: str,
) -> dict[str, Any]:
    """PF, drawdown and counts per asset and for the portfolio, open positions, daily caps used."""
    assets: dict[str, Any] = {}
    for symbol in sorted(set(symbols) | set(book.positions) | set(book.closed_pnls)):
        stats = summarize(book.closed_pnls.get(symbol, []), asset_equity_usd.get(symbol) or 1.0)
        position = book.positions.get(symbol)
        block = stats.as_dict()
        block["open_position"] = (
            None
            if position is None
            else {
                "trade_id": position.trade_id,
                "direction": position.direction,
                "qty": position.qty,
                "entry_price": position.entry_price,
                "entry_bar_ts": position.entry_bar_ts,
                "notional_usd": position.notional_usd,
            }
        )
        block["daily_notional_used_usd"] = (
            0.0 if as_of_bar_ts is None else book.daily_used_usd(symbol, as_of_bar_ts)
        )
        assets[symbol] = block
    portfolio = summarize(book.portfolio_pnls, starting_equity_usd).as_dict()
    portfolio["open_positions"] = len(book.positions)
    portfolio["open_exposure_usd"] = book.open_exposure_usd()
    return {
        "generated_at": generated_at,
        "as_of_bar_ts": as_of_bar_ts,
        "portfolio": portfolio,
        "assets": assets,
    }
