"""The trader: applies one bar time's decisions to the portfolio, in a fixed order.

Phases per bar time, each over the assets in run order (SPEC §7), so the journal is the same in
replay and live: (A) at the open, pending reverse closes then pending entries are filled, sized
against the caps at that moment; (B) intrabar stops and targets; (C) at the close, timeouts;
(D) the close's signals become pending orders for the next bar, or refusals with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from engine_alpha.config.models import ExecutionSettings
from engine_alpha.execution.book import Book
from engine_alpha.execution.paper_broker import (
    FillCosts,
    Position,
    close_line,
    entry_side,
    fill_price,
    intrabar_exit,
    open_line,
    stop_and_target,
)
from engine_alpha.execution.sizing import AssetCaps, size_order
from engine_alpha.ledger.arithmetic import fee_usd
from engine_alpha.ledger.journal import Journal
from engine_alpha.ledger.signal_log import SignalLog
from engine_alpha.market.bars import Bar, BarTime
from engine_alpha.market.rules import MarketRules
from engine_alpha.strategy.decided import Decided


@dataclass(frozen=True, slots=True)
class AssetPlan:
    """How the trader treats an asset: trading (caps, mode) or not (research, exit-only)."""

    symbol: str
    trades: bool
    mode: str
    caps: AssetCaps | None
    rules: MarketRules
    idle_reason: str = "research_only"


@dataclass(slots=True)
class PendingOrder:
    """A signal of the last close, to be filled at the asset's next open."""

    direction: str
    regime: str
    confidence: float
    bucket: int
    atr: float
    signal_bar_ts: int
    vol_multiplier: float
    reverse: bool

    def to_json(self) -> dict[str, Any]:
        """The order as JSON data (saved with the live model state)."""
        return {f: getattr(self, f) for f in _PENDING_TYPES}

    @classmethod
    def from_json(cls, data: Any) -> PendingOrder:
        """Back from `to_json`; ValueError naming the field that does not fit."""
        if not isinstance(data, dict) or sorted(data) != sorted(_PENDING_TYPES):
            raise ValueError(f"pending order fields {data!r}")
        for name, kind in _PENDING_TYPES.items():
            if type(data[name]) is not kind:
                raise ValueError(f"pending order {name}: {data[name]!r} is not a {kind.__name__}")
        return cls(**data)


_PENDING_TYPES: dict[str, type] = {
    "direction": str,
    "regime": str,
    "confidence": float,
    "bucket": int,
    "atr": float,
    "signal_bar_ts": int,
    "vol_multiplier": float,
    "reverse": bool,
}


def pending_from_json(data: Any) -> dict[str, PendingOrder]:
    """Pending orders by symbol from their JSON data; ValueError naming what does not fit."""
    if not isinstance(data, dict):
        raise ValueError("pending orders: not an object")
    return {symbol: PendingOrder.from_json(order) for symbol, order in data.items()}


def mark_bar_time_groups(lines: list[dict[str, Any]]) -> None:
    """Give each fill the seq of the last fill of its bar time (`group_end_seq`).

    A bar time's fills are the unit of recovery: written together, and rolled back together
    when a crash leaves them incomplete. The marker depends on the bars only, never on how
    bar times were batched into commits, so a resumed run writes the same lines.
    """
    end = len(lines)
    for i in range(end - 1, -1, -1):
        line = lines[i]
        if i == end - 1 or lines[i + 1]["bar_ts"] != line["bar_ts"]:
            group_end = line["seq"]
        line["group_end_seq"] = group_end


class Trader:
    """Owns the book, the pending orders and the writes of one run; one instance per daemon."""

    def __init__(
        self,
        *,
        book: Book,
        journal: Journal,
        signal_log: SignalLog,
        plans: Mapping[str, AssetPlan],
        execution: ExecutionSettings,
        timeframe: str,
        timeframe_ms: int,
        max_exposure_usd: float,
        wall_clock: Callable[[], str],
    ) -> None:
        self.book = book
        self.journal = journal
        self.signal_log = signal_log
        self.plans = dict(plans)
        self.execution = execution
        self.costs = FillCosts(execution.fee_bps, execution.slippage_bps)
        self.timeframe = timeframe
        self.timeframe_ms = timeframe_ms
        self.max_exposure_usd = max_exposure_usd
        self.wall_clock = wall_clock
        self.pending: dict[str, PendingOrder] = {}
        self.unacked: list[dict[str, Any]] = []
        self.fills_acked = 0
        self.last_bar_ts: int | None = None
        self._log = structlog.get_logger("chloe.trader")

    def reconfigure(
        self,
        *,
        plans: Mapping[str, AssetPlan],
        execution: ExecutionSettings,
        max_exposure_usd: float,
    ) -> None:
        """Take a reloaded config: new plans, caps and fill assumptions apply from the next fill."""
        self.plans = dict(plans)
        self.execution = execution
        self.costs = FillCosts(execution.fee_bps, execution.slippage_bps)
        self.max_exposure_usd = max_exposure_usd

    # ------------------------------------------------------------------ the bar-time step

    def step(self, bar_time: BarTime, decided: Mapping[str, Decided], *, trading: bool) -> None:
        """Apply one bar time; with `trading` False only pending orders are re-derived (warm-up)."""
        self.last_bar_ts = bar_time.ts_ms
        bars = bar_time.bars
        if trading:
            if self.pending:
                for bar in bars:
                    self._fill_pending(bar)
            if self.book.positions:
                for bar in bars:
                    self._check_intrabar(bar)
                for bar in bars:
                    self._check_timeout(bar)
        for bar in bars:
            item = decided.get(bar.symbol)
            if item is not None:
                self._decide(item, log_signals=trading)

    def _fill_pending(self, bar: Bar) -> None:
        pending = self.pending.pop(bar.symbol, None)
        if pending is None:
            return
        position = self.book.positions.get(bar.symbol)
        if pending.reverse and position is not None:
            self._close(position, bar.ts_ms, bar.open, "reverse")
        if bar.symbol not in self.book.positions:
            self._open(bar, pending)

    def _check_intrabar(self, bar: Bar) -> None:
        position = self.book.positions.get(bar.symbol)
        if position is None:
            return
        hit = intrabar_exit(position, bar)
        if hit is not None:
            self._close(position, bar.ts_ms, hit[1], hit[0])

    def _check_timeout(self, bar: Bar) -> None:
        position = self.book.positions.get(bar.symbol)
        if position is not None and bar.ts_ms >= position.expires_bar_ts:
            self._close(position, bar.ts_ms, bar.close, "timeout")

    def _decide(self, item: Decided, *, log_signals: bool) -> None:
        decision = item.decision
        symbol = item.bar.symbol
        self.pending.pop(symbol, None)
        if decision.direction is None:
            return
        plan = self.plans[symbol]
        refusal = item.refusal if plan.trades else plan.idle_reason
        position = self.book.positions.get(symbol)
        if refusal is None and position is not None and position.direction == decision.direction:
            refusal = "position_open"
        if refusal is not None:
            if log_signals:
                self._record_signal(item, "refused", refusal)
            return
        assert decision.regime is not None  # a direction is only ever given after warm-up
        assert decision.confidence is not None and decision.bucket is not None
        self.pending[symbol] = PendingOrder(
            direction=decision.direction,
            regime=decision.regime,
            confidence=decision.confidence,
            bucket=decision.bucket,
            atr=decision.atr,
            signal_bar_ts=decision.ts_ms,
            vol_multiplier=item.vol_multiplier,
            reverse=position is not None,
        )

    # ------------------------------------------------------------------ fills

    def _open(self, bar: Bar, pending: PendingOrder) -> None:
        plan = self.plans[bar.symbol]
        assert plan.caps is not None
        price = fill_price(
            bar.open, entry_side(pending.direction), self.costs.slippage_bps, plan.rules.tick_size
        )
        sized = size_order(
            plan.caps,
            confidence=pending.confidence,
            vol_multiplier=pending.vol_multiplier,
            daily_used_usd=self.book.daily_used_usd(bar.symbol, bar.ts_ms),
            open_exposure_usd=self.book.open_exposure_usd(),
            max_exposure_usd=self.max_exposure_usd,
            price=price,
            rules=plan.rules,
        )
        numbers: dict[str, Any] = {
            "requested_usd": sized.requested_usd,
            "notional_usd": sized.notional_usd,
        }
        if sized.cut_by:
            numbers["cut_by"] = list(sized.cut_by)
        if sized.refusal is not None:
            self._record_pending(
                bar.symbol,
                bar.ts_ms,
                pending,
                plan.mode,
                outcome="refused",
                reason=sized.refusal,
                numbers=numbers,
            )
            return
        stop, target = stop_and_target(
            pending.direction,
            price,
            pending.atr,
            self.execution.stop_atr,
            self.execution.target_atr,
        )
        position = Position(
            trade_id=f"{bar.symbol}-{bar.ts_ms}",
            symbol=bar.symbol,
            mode=plan.mode,
            direction=pending.direction,
            qty=sized.qty,
            entry_price=price,
            entry_bar_ts=bar.ts_ms,
            entry_fee_usd=fee_usd(sized.notional_usd, self.costs.fee_bps),
            notional_usd=sized.notional_usd,
            stop_price=stop,
            target_price=target,
            expires_bar_ts=bar.ts_ms + (self.execution.max_hold_bars - 1) * self.timeframe_ms,
            regime=pending.regime,
            confidence=pending.confidence,
            bucket=pending.bucket,
            signal_bar_ts=pending.signal_bar_ts,
        )
        line = open_line(
            position,
            reference_price=bar.open,
            tick_size=plan.rules.tick_size,
            timeframe=self.timeframe,
            costs=self.costs,
            wall_ts=self.wall_clock(),
        )
        self._write(line)
        self._record_pending(
            bar.symbol, bar.ts_ms, pending, plan.mode, outcome="taken", reason=None, numbers=numbers
        )

    def _close(self, position: Position, bar_ts: int, raw_price: float, reason: str) -> None:
        line = close_line(
            position,
            bar_ts=bar_ts,
            raw_price=raw_price,
            reason=reason,
            tick_size=self.plans[position.symbol].rules.tick_size,
            timeframe=self.timeframe,
            costs=self.costs,
            wall_ts=self.wall_clock(),
        )
        self._write(line)

    def _write(self, line: dict[str, Any]) -> None:
        line["seq"] = self.journal.next_seq + len(self.unacked)
        self.unacked.append(line)
        self.book.apply(line)

    # ------------------------------------------------------------------ signal records

    def _record_signal(self, item: Decided, outcome: str, reason: str | None) -> None:
        d = item.decision
        self.signal_log.record(
            {
                "bar_ts": d.ts_ms,
                "symbol": item.bar.symbol,
                "mode": self.plans[item.bar.symbol].mode,
                "regime": d.regime,
                "direction": d.direction,
                "confidence": d.confidence,
                "bucket": d.bucket,
                "outcome": outcome,
                "reason": reason,
            }
        )

    def _record_pending(
        self,
        symbol: str,
        fill_bar_ts: int,
        pending: PendingOrder,
        mode: str,
        *,
        outcome: str,
        reason: str | None,
        numbers: dict[str, Any],
    ) -> None:
        self.signal_log.record(
            {
                "bar_ts": pending.signal_bar_ts,
                "fill_bar_ts": fill_bar_ts,
                "symbol": symbol,
                "mode": mode,
                "regime": pending.regime,
                "direction": pending.direction,
                "confidence": pending.confidence,
                "bucket": pending.bucket,
                "outcome": outcome,
                "reason": reason,
                "reverse": pending.reverse,
                **numbers,
            }
        )

    # ------------------------------------------------------------------ commit

    def commit(self) -> list[dict[str, Any]]:
        """Write the fills since the last commit (one fsync), then acknowledge them."""
        lines = self.unacked
        # The signal records go first: the journal's commit is what restart trusts, and the
        # records of any bar time it will re-execute are cut back at start (ledger/signal_log).
        self.signal_log.flush()
        if lines:
            mark_bar_time_groups(lines)
            self.journal.append(lines)
            self.journal.commit()
        self.unacked = []
        for line in lines:
            self._log.info(
                "fill",
                symbol=line["symbol"],
                seq=line["seq"],
                action=line["action"],
                reason=line["reason"],
                direction=line["direction"],
                qty=line["qty"],
                price=line["price"],
                notional_usd=line["notional_usd"],
                pnl_usd=line.get("pnl_usd"),
                bar_ts=line["bar_ts"],
            )
        self.fills_acked += len(lines)
        return lines
