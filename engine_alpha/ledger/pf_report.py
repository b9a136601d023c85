"""`reports/pf_local.json`: PF, drawdown and counts per asset and for the portfolio (SPEC §4).

The report is a function of the journal's lines, in journal (exit) order: the daemon renders it
from its live book with `report_from_book`, `recompute_report` rebuilds it from `trades.jsonl`,
and the two agree except for `generated_at` (`report_differences` says where they don't).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import orjson

from engine_alpha.core.atomic_files import replace_atomic
from engine_alpha.core.units import DAY_MS
from engine_alpha.ledger.journal import read_journal
from engine_alpha.ledger.metrics import TradeStats, left_sum, summarize
from engine_alpha.ledger.records import FillLine

__all__ = [
    "DAY_MS",
    "BookView",
    "LedgerFold",
    "OpenPositionView",
    "build_report",
    "recompute_report",
    "report_differences",
    "report_from_book",
    "write_report_atomic",
]


class OpenPositionView(Protocol):
    """What the report shows of an open position."""

    @property
    def trade_id(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def qty(self) -> float: ...
    @property
    def entry_price(self) -> float: ...
    @property
    def entry_bar_ts(self) -> int: ...
    @property
    def notional_usd(self) -> float: ...


class BookView(Protocol):
    """The state a report is made of, folded from journal lines in order.

    Stats are `summarize` of the closed trades' net PnL in exit order, drawdown against the
    given starting equity: the daemon's Book keeps running accumulators, LedgerFold lists.
    """

    @property
    def positions(self) -> Mapping[str, OpenPositionView]: ...
    def closed_symbols(self) -> Iterable[str]: ...
    def asset_stats(self, symbol: str, starting_equity_usd: float) -> TradeStats: ...
    def portfolio_stats(self, starting_equity_usd: float) -> TradeStats: ...
    def daily_used_usd(self, symbol: str, bar_ts: int) -> float: ...


class _OpenPosition(NamedTuple):
    trade_id: str
    direction: str
    qty: float
    entry_price: float
    entry_bar_ts: int
    notional_usd: float


class LedgerFold:
    """A BookView built from journal lines alone: the recomputation side of the check.

    Deliberately the plain way (lists of PnLs, `summarize` at each report), so that it checks
    the daemon's Book and its accumulators rather than sharing their code.
    """

    __slots__ = ("_daily", "closed_pnls", "portfolio_pnls", "positions")

    def __init__(self) -> None:
        self.closed_pnls: dict[str, list[float]] = {}
        self.portfolio_pnls: list[float] = []
        self.positions: dict[str, _OpenPosition] = {}
        self._daily: dict[tuple[str, int], float] = {}

    def apply(self, line: Mapping[str, Any]) -> None:
        """Fold one fill line, in journal order."""
        symbol = line["symbol"]
        if line["action"] == "open":
            self.positions[symbol] = _OpenPosition(
                trade_id=line["trade_id"],
                direction=line["direction"],
                qty=line["qty"],
                entry_price=line["price"],
                entry_bar_ts=line["bar_ts"],
                notional_usd=line["notional_usd"],
            )
            key = (symbol, line["bar_ts"] // DAY_MS)
            self._daily[key] = self._daily.get(key, 0.0) + line["notional_usd"]
        else:
            self.positions.pop(symbol, None)
            self.closed_pnls.setdefault(symbol, []).append(line["pnl_usd"])
            self.portfolio_pnls.append(line["pnl_usd"])

    def daily_used_usd(self, symbol: str, bar_ts: int) -> float:
        """Notional of the positions `symbol` opened on the UTC day of `bar_ts`."""
        return self._daily.get((symbol, bar_ts // DAY_MS), 0.0)

    def closed_symbols(self) -> list[str]:
        """Symbols with at least one closed trade."""
        return list(self.closed_pnls)

    def asset_stats(self, symbol: str, starting_equity_usd: float) -> TradeStats:
        """`summarize` of `symbol`'s closed-trade PnLs."""
        return summarize(self.closed_pnls.get(symbol, ()), starting_equity_usd)

    def portfolio_stats(self, starting_equity_usd: float) -> TradeStats:
        """`summarize` of all closed-trade PnLs."""
        return summarize(self.portfolio_pnls, starting_equity_usd)


def _position_block(position: OpenPositionView | None) -> dict[str, Any] | None:
    if position is None:
        return None
    return {
        "trade_id": position.trade_id,
        "direction": position.direction,
        "qty": position.qty,
        "entry_price": position.entry_price,
        "entry_bar_ts": position.entry_bar_ts,
        "notional_usd": position.notional_usd,
    }


def report_from_book(
    book: BookView,
    *,
    symbols: Sequence[str],
    starting_equity_usd: float,
    asset_equity_usd: Mapping[str, float],
    as_of_bar_ts: int | None,
    generated_at: str,
) -> dict[str, Any]:
    """The pf_local.json content: every symbol of `symbols`, then any other traded one.

    Asset drawdown uses `asset_equity_usd` (its daily cap), else the portfolio's equity.

    """
    extra = sorted((set(book.closed_symbols()) | set(book.positions)) - set(symbols))
    assets: dict[str, Any] = {}
    for symbol in [*symbols, *extra]:
        equity = asset_equity_usd.get(symbol, starting_equity_usd)
        block = book.asset_stats(symbol, equity).as_dict()
        block["open_position"] = _position_block(book.positions.get(symbol))
        block["daily_notional_used_usd"] = (
            book.daily_used_usd(symbol, as_of_bar_ts) if as_of_bar_ts is not None else 0.0
        )
        assets[symbol] = block
    portfolio = book.portfolio_stats(starting_equity_usd).as_dict()
    portfolio["open_positions"] = len(book.positions)
    portfolio["open_exposure_usd"] = left_sum(
        book.positions[s].notional_usd for s in sorted(book.positions)
    )
    return {
        "generated_at": generated_at,
        "as_of_bar_ts": as_of_bar_ts,
        "portfolio": portfolio,
        "assets": assets,
    }


def build_report(
    lines: Iterable[FillLine | Mapping[str, Any]],
    *,
    symbols: Sequence[str],
    starting_equity_usd: float,
    asset_equity_usd: Mapping[str, float],
    as_of_bar_ts: int | None,
    generated_at: str,
) -> dict[str, Any]:
    """The pf_local.json content of journal lines given in journal order."""
    fold = LedgerFold()
    for line in lines:
        fold.apply(line.model_dump() if isinstance(line, FillLine) else line)
    return report_from_book(
        fold,
        symbols=symbols,
        starting_equity_usd=starting_equity_usd,
        asset_equity_usd=asset_equity_usd,
        as_of_bar_ts=as_of_bar_ts,
        generated_at=generated_at,
    )


def recompute_report(
    journal_path: Path,
    *,
    symbols: Sequence[str],
    starting_equity_usd: float,
    asset_equity_usd: Mapping[str, float],
    as_of_bar_ts: int | None,
    generated_at: str,
) -> dict[str, Any]:
    """The report rebuilt from `trades.jsonl` (read-only; a torn last line is not counted)."""
    fold = LedgerFold()
    read_journal(journal_path, fold.apply)
    return report_from_book(
        fold,
        symbols=symbols,
        starting_equity_usd=starting_equity_usd,
        asset_equity_usd=asset_equity_usd,
        as_of_bar_ts=as_of_bar_ts,
        generated_at=generated_at,
    )


def report_differences(
    written: Mapping[str, Any], recomputed: Mapping[str, Any], *, _prefix: str = ""
) -> list[str]:
    """Dotted paths where two reports differ, ignoring `generated_at`; empty when they agree."""
    diffs = []
    for key in sorted(set(written) | set(recomputed)):
        if not _prefix and key == "generated_at":
            continue
        a, b = written.get(key), recomputed.get(key)
        path = f"{_prefix}{key}"
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            diffs.extend(report_differences(a, b, _prefix=f"{path}."))
        elif key not in written or key not in recomputed or a != b or type(a) is not type(b):
            diffs.append(f"{path}: {a!r} != {b!r}")
    return diffs


def write_report_atomic(path: Path, report: Mapping[str, Any]) -> None:
    """Replace `path` with `report` atomically: temp file, fsync, rename, fsync of the directory."""
    replace_atomic(path, orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
