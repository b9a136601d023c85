"""Every signal as one paper trade under the daemon's exit rules, with `paper_broker`'s functions.

Each signal trades alone: no caps, no one-position-per-asset, no reverse exit (docs/research.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine_alpha.config.models import ExecutionSettings
from engine_alpha.execution.paper_broker import (
    FillCosts,
    Position,
    close_line,
    entry_side,
    fill_price,
    intrabar_exit,
    stop_and_target,
)
from engine_alpha.ledger.arithmetic import fee_usd
from engine_alpha.market.bars import Bar

__all__ = ["EXIT_REASONS", "OPEN_AT_END", "SimulatedTrades", "simulate_trades"]

EXIT_REASONS = ("stop", "target", "timeout")
OPEN_AT_END = -1
_REASON_CODE = {reason: code for code, reason in enumerate(EXIT_REASONS)}


@dataclass(frozen=True, slots=True)
class SimulatedTrades:
    """Per signal: net `pnl_bps` (NaN if open at the end), exit reason code, exit bar index, and
    the entry and exit fill prices (`paper_broker.fill_price`, as the journal records them).
    """

    pnl_bps: npt.NDArray[np.float64]
    reason: npt.NDArray[np.int64]
    exit_idx: npt.NDArray[np.int64]
    entry_price: npt.NDArray[np.float64]
    exit_price: npt.NDArray[np.float64]


def simulate_trades(
    bars: list[Bar],
    signal_idx: npt.NDArray[np.int64],
    direction: npt.NDArray[np.int64],
    atr: npt.NDArray[np.float64],
    execution: ExecutionSettings,
    *,
    tick_size: float,
    timeframe_ms: int,
) -> SimulatedTrades:
    """Simulate one trade per signal; `direction` and `atr` are per bar (indexed by signal)."""
    costs = FillCosts(execution.fee_bps, execution.slippage_bps)
    hold_ms = (execution.max_hold_bars - 1) * timeframe_ms
    count = len(signal_idx)
    pnl = np.full(count, np.nan)
    reason = np.full(count, OPEN_AT_END, dtype=np.int64)
    exit_idx = np.full(count, len(bars), dtype=np.int64)
    entry_price, exit_price = np.full(count, np.nan), np.full(count, np.nan)
    for n, i in enumerate(signal_idx.tolist()):
        if i + 1 >= len(bars):
            continue
        side = "long" if direction[i] > 0 else "short"
        position = _open(
            bars[i + 1], side, float(atr[i]), execution, tick_size=tick_size, hold_ms=hold_ms
        )
        entry_price[n] = position.entry_price
        done = _run(bars, i + 1, position, costs, tick_size)
        if done is not None:
            pnl[n], reason[n], exit_idx[n], exit_price[n] = done
    return SimulatedTrades(pnl, reason, exit_idx, entry_price, exit_price)


def _open(
    bar: Bar,
    direction: str,
    atr: float,
    execution: ExecutionSettings,
    *,
    tick_size: float,
    hold_ms: int,
) -> Position:
    """A one-unit position entered at `bar`'s open, as the trader opens it."""
    price = fill_price(bar.open, entry_side(direction), execution.slippage_bps, tick_size)
    stop, target = stop_and_target(direction, price, atr, execution.stop_atr, execution.target_atr)
    return Position(
        trade_id=f"{bar.symbol}-{bar.ts_ms}",
        symbol=bar.symbol,
        mode="research",
        direction=direction,
        qty=1.0,
        entry_price=price,
        entry_bar_ts=bar.ts_ms,
        entry_fee_usd=fee_usd(price, execution.fee_bps),
        notional_usd=price,
        stop_price=stop,
        target_price=target,
        expires_bar_ts=bar.ts_ms + hold_ms,
        regime="",
        confidence=0.0,
        bucket=0,
        signal_bar_ts=bar.ts_ms,
    )


def _run(
    bars: list[Bar], start: int, position: Position, costs: FillCosts, tick_size: float
) -> tuple[float, int, int, float] | None:
    """Walk bars from the entry bar until a stop, target or timeout: (pnl_bps, reason, index,
    exit fill price).
    """
    for k in range(start, len(bars)):
        bar = bars[k]
        hit = intrabar_exit(position, bar)
        if hit is None and bar.ts_ms >= position.expires_bar_ts:
            hit = ("timeout", bar.close)
        if hit is not None:
            line = close_line(
                position,
                bar_ts=bar.ts_ms,
                raw_price=hit[1],
                reason=hit[0],
                tick_size=tick_size,
                timeframe="",
                costs=costs,
                wall_ts="",
            )
            return float(line["pnl_bps"]), _REASON_CODE[hit[0]], k, float(line["price"])
    return None
