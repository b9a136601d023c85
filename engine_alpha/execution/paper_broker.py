"""Paper fills and exit rules: pure functions over a Position and a Bar (SPEC §3 Fill, Trade PnL).

Every fill is moved against us by the slippage, rounded to the tick against us, and pays the
taker fee. Exits: stop and target from ATR multiples (stop first when a bar touches both; a bar
that opens beyond a level fills at its open), the maximum holding time, an opposite signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine_alpha.core.units import BPS
from engine_alpha.ledger.arithmetic import fee_usd, net_pnl_usd, slippage_paid_bps
from engine_alpha.market.bars import Bar
from engine_alpha.market.rules import round_price


@dataclass(frozen=True, slots=True)
class FillCosts:
    """The assumptions a fill used; recorded on every journal line."""

    fee_bps: float
    slippage_bps: float


@dataclass(slots=True)
class Position:
    """One open paper position; everything recovery needs is on its journal open line."""

    trade_id: str
    symbol: str
    mode: str
    direction: str
    qty: float
    entry_price: float
    entry_bar_ts: int
    entry_fee_usd: float
    notional_usd: float
    stop_price: float
    target_price: float
    expires_bar_ts: int
    regime: str
    confidence: float
    bucket: int
    signal_bar_ts: int


def entry_side(direction: str) -> str:
    """The order side that opens a position in `direction`."""
    return "buy" if direction == "long" else "sell"


def exit_side(direction: str) -> str:
    """The order side that closes a position in `direction`."""
    return "sell" if direction == "long" else "buy"


def fill_price(raw_price: float, side: str, slippage_bps: float, tick_size: float) -> float:
    """The raw price moved against us by the slippage and rounded to the tick against us.

    The rounding adds to the cost: what a fill really paid is `slippage_paid_bps`, which every
    journal line records beside its reference price and the tick (docs/decisions.md).
    """
    factor = 1.0 + slippage_bps / BPS if side == "buy" else 1.0 - slippage_bps / BPS
    return round_price(raw_price * factor, tick_size, side)


def round_trip_pnl_bps(
    direction: str, entry_raw: float, exit_raw: float, costs: FillCosts, tick_size: float
) -> float:
    """Net bps of a round trip entered at `entry_raw` and left at `exit_raw`, each side filled
    as the trader fills it (slippage, then the tick against us, then the fee): research's edge.
    """
    entry = fill_price(entry_raw, entry_side(direction), costs.slippage_bps, tick_size)
    exit_price = fill_price(exit_raw, exit_side(direction), costs.slippage_bps, tick_size)
    pnl = net_pnl_usd(
        direction,
        entry_price=entry,
        exit_price=exit_price,
        qty=1.0,
        entry_fee_usd=fee_usd(entry, costs.fee_bps),
        exit_fee_usd=fee_usd(exit_price, costs.fee_bps),
    )
    return pnl / entry * BPS


def fill_costs_fields(
    reference_price: float, price: float, side: str, tick_size: float
) -> dict[str, float]:
    """The journal fields that say what a fill assumed: reference, tick, slippage really paid."""
    return {
        "reference_price": reference_price,
        "tick_size": tick_size,
        "slippage_paid_bps": slippage_paid_bps(reference_price, price, side),
    }


def stop_and_target(
    direction: str, entry_price: float, atr: float, stop_atr: float, target_atr: float
) -> tuple[float, float]:
    """Stop and target levels, ATR multiples away from the entry."""
    if direction == "long":
        return entry_price - stop_atr * atr, entry_price + target_atr * atr
    return entry_price + stop_atr * atr, entry_price - target_atr * atr


def intrabar_exit(position: Position, bar: Bar) -> tuple[str, float] | None:
    """Stop or target touched in `bar`: (reason, raw exit price), the stop checked first."""
    stop, target = position.stop_price, position.target_price
    if position.direction == "long":
        if bar.low <= stop:
            return "stop", min(bar.open, stop)
        if bar.high >= target:
            return "target", max(bar.open, target)
        return None
    if bar.high >= stop:
        return "stop", max(bar.open, stop)
    if bar.low <= target:
        return "target", min(bar.open, target)
    return None


def trade_pnl_usd(position: Position, exit_price: float, exit_fee_usd: float) -> float:
    """Net PnL: direction x (exit - entry) x qty - fees of both sides."""
    return net_pnl_usd(
        position.direction,
        entry_price=position.entry_price,
        exit_price=exit_price,
        qty=position.qty,
        entry_fee_usd=position.entry_fee_usd,
        exit_fee_usd=exit_fee_usd,
    )


def open_line(
    position: Position,
    *,
    reference_price: float,
    tick_size: float,
    timeframe: str,
    costs: FillCosts,
    wall_ts: str,
) -> dict[str, Any]:
    """The journal line of an entry fill at `reference_price` (the bar's open; seq set later)."""
    return {
        "seq": 0,
        "fill_id": f"{position.trade_id}-open",
        "trade_id": position.trade_id,
        "bar_ts": position.entry_bar_ts,
        "wall_ts": wall_ts,
        "symbol": position.symbol,
        "timeframe": timeframe,
        "mode": position.mode,
        "action": "open",
        "side": entry_side(position.direction),
        "direction": position.direction,
        "qty": position.qty,
        "price": position.entry_price,
        "notional_usd": position.notional_usd,
        "fee_usd": position.entry_fee_usd,
        "fee_bps": costs.fee_bps,
        "slippage_bps": costs.slippage_bps,
        "regime": position.regime,
        "confidence": position.confidence,
        "bucket": position.bucket,
        "reason": "signal",
        "signal_bar_ts": position.signal_bar_ts,
        "stop_price": position.stop_price,
        "target_price": position.target_price,
        "expires_bar_ts": position.expires_bar_ts,
        **fill_costs_fields(
            reference_price, position.entry_price, entry_side(position.direction), tick_size
        ),
    }


def close_line(
    position: Position,
    *,
    bar_ts: int,
    raw_price: float,
    reason: str,
    tick_size: float,
    timeframe: str,
    costs: FillCosts,
    wall_ts: str,
) -> dict[str, Any]:
    """Close `position` at `raw_price` (slipped and charged here) and return its journal line."""
    side = exit_side(position.direction)
    price = fill_price(raw_price, side, costs.slippage_bps, tick_size)
    notional = position.qty * price
    fee = fee_usd(notional, costs.fee_bps)
    pnl = trade_pnl_usd(position, price, fee)
    return {
        "seq": 0,
        "fill_id": f"{position.trade_id}-close",
        "trade_id": position.trade_id,
        "bar_ts": bar_ts,
        "wall_ts": wall_ts,
        "symbol": position.symbol,
        "timeframe": timeframe,
        "mode": position.mode,
        "action": "close",
        "side": side,
        "direction": position.direction,
        "qty": position.qty,
        "price": price,
        "notional_usd": notional,
        "fee_usd": fee,
        "fee_bps": costs.fee_bps,
        "slippage_bps": costs.slippage_bps,
        "regime": position.regime,
        "confidence": position.confidence,
        "bucket": position.bucket,
        "reason": reason,
        "signal_bar_ts": position.signal_bar_ts,
        "entry_price": position.entry_price,
        "entry_bar_ts": position.entry_bar_ts,
        "entry_fee_usd": position.entry_fee_usd,
        "pnl_usd": pnl,
        "pnl_bps": pnl / position.notional_usd * BPS,
        **fill_costs_fields(raw_price, price, side, tick_size),
    }


def position_from_open_line(line: dict[str, Any]) -> Position:
    """Rebuild an open position from its journal open line (recovery)."""
    return Position(
        trade_id=line["trade_id"],
        symbol=line["symbol"],
        mode=line["mode"],
        direction=line["direction"],
        qty=line["qty"],
        entry_price=line["price"],
        entry_bar_ts=line["bar_ts"],
        entry_fee_usd=line["fee_usd"],
        notional_usd=line["notional_usd"],
        stop_price=line["stop_price"],
        target_price=line["target_price"],
        expires_bar_ts=line["expires_bar_ts"],
        regime=line["regime"],
        confidence=line["confidence"],
        bucket=line["bucket"],
        signal_bar_ts=line["signal_bar_ts"],
    )
