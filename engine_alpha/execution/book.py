"""The book: open positions, daily notional used and closed PnL, built only from journal lines.

The trader applies each fill line here as it writes it, and recovery applies the journal's lines
in the same order, so a restarted daemon holds exactly the state an uninterrupted one would.
`snapshot` / `restore` let a checkpoint (`ledger/checkpoint.py`) cache that state.
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections import Counter
from collections.abc import Iterator, Mapping
from itertools import compress
from typing import Any

from pydantic import ValidationError

from engine_alpha.core.units import DAY_MS
from engine_alpha.execution.paper_broker import Position, position_from_open_line
from engine_alpha.ledger.journal import JournalFacts
from engine_alpha.ledger.metrics import StatsAccumulator, TradeStats, left_sum
from engine_alpha.ledger.records import FillLine

__all__ = ["DAY_MS", "Book", "ClosedTrades"]

_ACC_INTS = ("trades", "wins", "losses")
_ACC_FLOATS = (
    "starting_equity_usd",
    "peak_equity_usd",
    "gross_profit_usd",
    "gross_loss_usd",
    "net_pnl_usd",
    "max_drawdown_pct",
)


def _le_bytes(values: array[Any]) -> str:
    """The array's items little-endian, base64 (JSON-safe, exact)."""
    if sys.byteorder != "little":
        values = array(values.typecode, values)
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


def _from_le_bytes(typecode: str, text: Any) -> array[Any]:
    if type(text) is not str:
        raise ValueError("closed trades: an array is not a base64 string")
    values: array[Any] = array(typecode)
    values.frombytes(base64.b64decode(text, validate=True))
    if sys.byteorder != "little":
        values.byteswap()
    return values


def _acc_fields(acc: StatsAccumulator) -> dict[str, Any]:
    return {name: getattr(acc, name) for name in (*_ACC_INTS, *_ACC_FLOATS)}


def _acc_from_fields(data: Any, trades: int) -> StatsAccumulator:
    """An accumulator with the saved fields; ValueError unless they are sound and count `trades`."""
    if type(data) is not dict or set(data) != {*_ACC_INTS, *_ACC_FLOATS}:
        raise ValueError("closed trades: accumulator fields missing or unknown")
    if any(type(data[k]) is not int or data[k] < 0 for k in _ACC_INTS):
        raise ValueError("closed trades: accumulator counts are not counts")
    if any(type(data[k]) is not float for k in _ACC_FLOATS):
        raise ValueError("closed trades: accumulator amounts are not floats")
    if data["trades"] != trades or data["wins"] + data["losses"] > trades:
        raise ValueError(f"closed trades: accumulator counts {data['trades']}, log {trades}")
    acc = StatsAccumulator(data["starting_equity_usd"])
    for name, value in data.items():
        setattr(acc, name, value)
    return acc


class ClosedTrades:
    """Net PnL of closed trades in exit order, as running stats per symbol and for the portfolio.

    Stats are StatsAccumulators fed in journal order (bit-identical to `summarize` over the
    list), so a report costs O(symbols). Drawdown depends on the starting equity, which is
    config (an asset's daily cap) and can change at a reload or restart; so the PnLs are also
    kept as a compact log (10 bytes a trade, not lists of float objects) from which an
    accumulator asked for with another equity is rebuilt, once. Without `expect`ed equities
    accumulators are built at the first request; with them, as trades come.
    """

    __slots__ = ("_equity", "_ids", "_pnls", "_portfolio", "_stats", "_symbol_ids", "_symbols")

    def __init__(self) -> None:
        self._pnls: array[float] = array("d")
        self._symbol_ids: array[int] = array("H")
        self._symbols: list[str] = []
        self._ids: dict[str, int] = {}
        self._stats: dict[str, StatsAccumulator] = {}
        self._portfolio: StatsAccumulator | None = None
        self._equity: tuple[float, dict[str, float]] | None = None

    def expect(self, starting_equity_usd: float, asset_equity_usd: Mapping[str, float]) -> None:
        """Keep stats against these equities (an asset's, else the portfolio's) from now on."""
        self._equity = (starting_equity_usd, dict(asset_equity_usd))
        self.portfolio_stats(starting_equity_usd)
        for symbol in self._symbols:
            self.asset_stats(symbol, asset_equity_usd.get(symbol, starting_equity_usd))

    def __len__(self) -> int:
        return len(self._pnls)

    def add(self, symbol: str, pnl_usd: float) -> None:
        """Count one closed trade's net PnL (in exit order)."""
        if self._equity is not None and symbol not in self._stats:
            start, assets = self._equity
            self._stats[symbol] = self._rebuilt(symbol, assets.get(symbol, start))
        symbol_id = self._ids.get(symbol)
        if symbol_id is None:
            symbol_id = self._ids[symbol] = len(self._symbols)
            self._symbols.append(symbol)
        self._pnls.append(pnl_usd)
        self._symbol_ids.append(symbol_id)
        if self._portfolio is not None:
            self._portfolio.add(pnl_usd)
        acc = self._stats.get(symbol)
        if acc is not None:
            acc.add(pnl_usd)

    def symbols(self) -> list[str]:
        """Symbols with at least one closed trade, in order of their first close."""
        return list(self._symbols)

    def pnls(self, symbol: str | None = None) -> Iterator[float]:
        """Net PnLs in exit order, of `symbol` or of the portfolio (None)."""
        if symbol is None:
            return iter(self._pnls)
        symbol_id = self._ids.get(symbol)
        if symbol_id is None:
            return iter(())
        return compress(self._pnls, map(symbol_id.__eq__, self._symbol_ids))

    def asset_stats(self, symbol: str, starting_equity_usd: float) -> TradeStats:
        """`summarize` of `symbol`'s PnLs against `starting_equity_usd`."""
        acc = self._stats.get(symbol)
        if acc is None or acc.starting_equity_usd != starting_equity_usd:
            acc = self._stats[symbol] = self._rebuilt(symbol, starting_equity_usd)
        return acc.stats()

    def portfolio_stats(self, starting_equity_usd: float) -> TradeStats:
        """`summarize` of all PnLs against `starting_equity_usd`."""
        acc = self._portfolio
        if acc is None or acc.starting_equity_usd != starting_equity_usd:
            acc = self._portfolio = self._rebuilt(None, starting_equity_usd)
        return acc.stats()

    def _rebuilt(self, symbol: str | None, starting_equity_usd: float) -> StatsAccumulator:
        acc = StatsAccumulator(starting_equity_usd)
        for pnl in self.pnls(symbol):
            acc.add(pnl)
        return acc

    def snapshot(self) -> dict[str, Any]:
        """The log and the accumulators built so far, as plain JSON values.

        An asset without a closed trade has nothing to save (its accumulator is rebuilt from
        the equity alone), so whether a report has asked for it never changes the snapshot.
        """
        assets = {symbol: _acc_fields(acc) for symbol, acc in self._stats.items()}
        return {
            "symbols": list(self._symbols),
            "pnls_f64": _le_bytes(self._pnls),
            "symbol_ids_u16": _le_bytes(self._symbol_ids),
            "portfolio": _acc_fields(self._portfolio) if self._portfolio is not None else None,
            "assets": {symbol: acc for symbol, acc in assets.items() if acc["trades"]},
        }

    @classmethod
    def from_snapshot(cls, data: Any) -> ClosedTrades:
        """What `snapshot` saved; ValueError when it is malformed or contradicts itself."""
        if type(data) is not dict:
            raise ValueError("closed trades: not an object")
        closed = cls()
        symbols = data.get("symbols")
        if type(symbols) is not list or not all(type(s) is str for s in symbols):
            raise ValueError("closed trades: symbols is not a list of strings")
        if len(set(symbols)) != len(symbols):
            raise ValueError("closed trades: a symbol is listed twice")
        closed._symbols = symbols
        closed._ids = {symbol: i for i, symbol in enumerate(symbols)}
        closed._pnls = _from_le_bytes("d", data.get("pnls_f64"))
        closed._symbol_ids = _from_le_bytes("H", data.get("symbol_ids_u16"))
        if len(closed._pnls) != len(closed._symbol_ids):
            raise ValueError("closed trades: PnL and symbol logs differ in length")
        if closed._symbol_ids and max(closed._symbol_ids) >= len(symbols):
            raise ValueError("closed trades: a symbol id is out of range")
        portfolio, assets = data.get("portfolio"), data.get("assets")
        if portfolio is not None:
            closed._portfolio = _acc_from_fields(portfolio, len(closed._pnls))
        if type(assets) is not dict:
            raise ValueError("closed trades: assets is not an object")
        counts = Counter(closed._symbol_ids)
        for symbol, fields in assets.items():
            trades = counts[closed._ids[symbol]] if symbol in closed._ids else 0
            closed._stats[symbol] = _acc_from_fields(fields, trades)
        return closed


class Book:
    """Portfolio state keyed by symbol; every mutation is one journal line.

    Given the equities reports use (`reports.report_inputs`), it keeps stats against them as
    lines come, so the first report and a checkpoint have them at hand.
    """

    __slots__ = ("_daily", "_equity", "_open_lines", "closed", "last_bar_ts", "lines", "positions")

    def __init__(
        self,
        starting_equity_usd: float | None = None,
        asset_equity_usd: Mapping[str, float] | None = None,
    ) -> None:
        self.positions: dict[str, Position] = {}
        self._open_lines: dict[str, Mapping[str, Any]] = {}
        self._daily: dict[str, tuple[int, float]] = {}
        self.closed = ClosedTrades()
        self.last_bar_ts: int | None = None
        self.lines = 0
        self._equity = starting_equity_usd, dict(asset_equity_usd or {})
        if starting_equity_usd is not None:
            self.closed.expect(starting_equity_usd, self._equity[1])

    def apply(self, line: dict[str, Any]) -> None:
        """Apply one fill line (open or close), in journal order."""
        symbol = line["symbol"]
        bar_ts = line["bar_ts"]
        if line["action"] == "open":
            self.positions[symbol] = position_from_open_line(line)
            self._open_lines[symbol] = line
            day = bar_ts // DAY_MS
            prev_day, used = self._daily.get(symbol, (day, 0.0))
            self._daily[symbol] = (day, (used if prev_day == day else 0.0) + line["notional_usd"])
        else:
            self.positions.pop(symbol, None)
            self._open_lines.pop(symbol, None)
            self.closed.add(symbol, line["pnl_usd"])
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

    def closed_symbols(self) -> list[str]:
        """Symbols with at least one closed trade."""
        return self.closed.symbols()

    def asset_stats(self, symbol: str, starting_equity_usd: float) -> TradeStats:
        """PF, drawdown and counts of `symbol`'s closed trades (drawdown against the equity)."""
        return self.closed.asset_stats(symbol, starting_equity_usd)

    def portfolio_stats(self, starting_equity_usd: float) -> TradeStats:
        """PF, drawdown and counts of all closed trades (drawdown against the equity)."""
        return self.closed.portfolio_stats(starting_equity_usd)

    def snapshot(self) -> dict[str, Any]:
        """The whole state as plain JSON values: positions as their journal open lines."""
        return {
            "lines": self.lines,
            "last_bar_ts": self.last_bar_ts,
            "open_lines": [dict(line) for line in self._open_lines.values()],
            "daily": {symbol: list(entry) for symbol, entry in self._daily.items()},
            "closed": self.closed.snapshot(),
        }

    def restore(self, state: Any, facts: JournalFacts) -> None:
        """Replace the state with a `snapshot`, checked against what the journal's lines say.

        ValueError, and nothing changed, when the snapshot is malformed or disagrees with
        `facts` (line count, open trades, closed trades).
        """
        if type(state) is not dict:
            raise ValueError("book state is not an object")
        lines, last_bar_ts = state.get("lines"), state.get("last_bar_ts")
        if type(lines) is not int or lines != facts.lines:
            raise ValueError(f"book has {lines!r} lines, the journal prefix {facts.lines}")
        if (last_bar_ts is None) != (lines == 0) or type(last_bar_ts) not in (int, type(None)):
            raise ValueError(f"book last_bar_ts {last_bar_ts!r} with {lines} lines")
        open_lines = _open_lines(state.get("open_lines"))
        held = {symbol: line["trade_id"] for symbol, line in open_lines.items()}
        if held != facts.open_trades:
            raise ValueError(f"book holds {held}, the journal {facts.open_trades}")
        daily = _daily(state.get("daily"))
        closed = ClosedTrades.from_snapshot(state.get("closed"))
        if self._equity[0] is not None:
            closed.expect(self._equity[0], self._equity[1])
        if len(closed) != facts.closed_trades:
            raise ValueError(
                f"book has {len(closed)} closed trades, the journal {facts.closed_trades}"
            )
        self.positions = {s: position_from_open_line(line) for s, line in open_lines.items()}
        self._open_lines = dict(open_lines)
        self._daily = daily
        self.closed = closed
        self.last_bar_ts = last_bar_ts
        self.lines = lines


def _open_lines(data: Any) -> dict[str, dict[str, Any]]:
    """Open lines by symbol, each a valid FillLine of action open."""
    if type(data) is not list:
        raise ValueError("book open_lines is not a list")
    lines: dict[str, dict[str, Any]] = {}
    for raw in data:
        try:
            line = FillLine.model_validate(raw).model_dump(exclude_none=True)
        except ValidationError as exc:
            raise ValueError(f"book open line is not a valid fill: {exc}") from None
        if line["action"] != "open" or line["symbol"] in lines:
            raise ValueError(f"book open line {line['fill_id']!r} is not a symbol's one open")
        lines[line["symbol"]] = line
    return lines


def _daily(data: Any) -> dict[str, tuple[int, float]]:
    """Daily notional by symbol: (UTC day number, USD used that day)."""
    if type(data) is not dict:
        raise ValueError("book daily is not an object")
    daily: dict[str, tuple[int, float]] = {}
    for symbol, entry in data.items():
        if type(entry) is not list or len(entry) != 2:
            raise ValueError(f"book daily[{symbol!r}] is not [day, usd]")
        day, used = entry
        if type(day) is not int or type(used) is not float or not used >= 0.0:
            raise ValueError(f"book daily[{symbol!r}] = {entry!r} is not [day, usd]")
        daily[symbol] = (day, used)
    return daily
