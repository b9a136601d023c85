"""The arithmetic every fill line must satisfy: notional, fee, slippage paid, a close's PnL.

The broker computes a fill's figures with these functions, and recovery checks every line read
against them, so a line edited by hand (a PnL moved, a fee changed) stops the start with the
line named, instead of flowing into PF, drawdown and the caps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine_alpha.core.units import BPS

__all__ = ["fee_usd", "fill_arithmetic_problem", "net_pnl_usd", "slippage_paid_bps"]

_REL_TOL = 1e-9  # the writer's own formulas agree to the last bit; this only absorbs old writers


def fee_usd(notional_usd: float, fee_bps: float) -> float:
    """Taker fee of one fill."""
    return notional_usd * fee_bps / BPS


def net_pnl_usd(
    direction: str,
    *,
    entry_price: float,
    exit_price: float,
    qty: float,
    entry_fee_usd: float,
    exit_fee_usd: float,
) -> float:
    """Net PnL of a round trip: direction x (exit - entry) x qty - fees of both sides."""
    sign = 1.0 if direction == "long" else -1.0
    return sign * (exit_price - entry_price) * qty - entry_fee_usd - exit_fee_usd


def slippage_paid_bps(reference_price: float, price: float, side: str) -> float:
    """What a fill paid against its reference price, in bps (a cost is positive either side)."""
    move = price - reference_price if side == "buy" else reference_price - price
    return move / reference_price * BPS


def _differs(written: float, expected: float) -> bool:
    return abs(written - expected) > _REL_TOL * max(1.0, abs(written), abs(expected))


def fill_arithmetic_problem(line: Mapping[str, Any]) -> str | None:
    """Why a (schema-valid) fill line's figures contradict each other, or None when they hold."""
    qty, price, notional = line["qty"], line["price"], line["notional_usd"]
    if _differs(notional, qty * price):
        return f"notional_usd {notional!r} is not qty x price ({qty * price!r})"
    fee = fee_usd(notional, line["fee_bps"])
    if _differs(line["fee_usd"], fee):
        return f"fee_usd {line['fee_usd']!r} is not notional x fee_bps ({fee!r})"
    return _costs_problem(line) or (_close_problem(line) if line["action"] == "close" else None)


def _costs_problem(line: Mapping[str, Any]) -> str | None:
    reference = line.get("reference_price")
    if reference is None:
        return None  # a line written before fills recorded their costs
    if not reference > 0.0 or not line["tick_size"] >= 0.0:
        return f"reference_price {reference!r} / tick_size {line['tick_size']!r} out of range"
    paid = slippage_paid_bps(reference, line["price"], line["side"])
    if _differs(line["slippage_paid_bps"], paid):
        return f"slippage_paid_bps {line['slippage_paid_bps']!r} is not what its prices give"
    return None


def _close_problem(line: Mapping[str, Any]) -> str | None:
    qty, entry_price = line["qty"], line["entry_price"]
    pnl = net_pnl_usd(
        line["direction"],
        entry_price=entry_price,
        exit_price=line["price"],
        qty=qty,
        entry_fee_usd=line["entry_fee_usd"],
        exit_fee_usd=line["fee_usd"],
    )
    if _differs(line["pnl_usd"], pnl):
        return f"pnl_usd {line['pnl_usd']!r} is not what its prices, qty and fees give ({pnl!r})"
    pnl_bps = line.get("pnl_bps")
    if pnl_bps is not None and _differs(pnl_bps, pnl / (qty * entry_price) * BPS):
        return f"pnl_bps {pnl_bps!r} is not pnl_usd over the entry notional"
    return None
