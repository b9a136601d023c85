"""Valid journal lines for tests: open and close pairs, fees and PnL computed as SPEC §3 says."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from engine_alpha.ledger.records import FillLine

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
T0 = 1_700_006_400_000  # 2023-11-15 00:00 UTC, a day boundary


def canonical(line: dict[str, Any]) -> dict[str, Any]:
    """A line in the shape and key order `Journal.append` writes."""
    return FillLine.model_validate(line).model_dump(exclude_none=True)


def write_lines(path: Path, lines: list[dict[str, Any]]) -> bytes:
    """Write lines as the journal does (one orjson object per line) and return the bytes."""
    data = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    path.write_bytes(data)
    return data


@dataclass
class JournalFactory:
    """Builds a consistent journal: seq in order, one open trade per symbol, PnL net of fees."""

    fee_bps: float = 10.0
    slippage_bps: float = 2.0
    mode: str = "paper"
    lines: list[dict[str, Any]] = field(default_factory=list)
    next_seq: int = 1
    _open: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _take_seq(self) -> int:
        self.next_seq += 1
        return self.next_seq - 1

    def _fee(self, notional_usd: float) -> float:
        return notional_usd * self.fee_bps / 10_000.0

    def open(
        self,
        symbol: str,
        *,
        bar_ts: int,
        price: float,
        qty: float,
        direction: str = "long",
        confidence: float = 0.85,
    ) -> dict[str, Any]:
        """Append the open line of a new trade."""
        notional = qty * price
        line = canonical(
            {
                "seq": self._take_seq(),
                "fill_id": f"{symbol}-{bar_ts}-open",
                "trade_id": f"{symbol}-{bar_ts}",
                "bar_ts": bar_ts,
                "wall_ts": "2023-11-15T00:00:00.000+00:00",
                "symbol": symbol,
                "timeframe": "1h",
                "mode": self.mode,
                "action": "open",
                "side": "buy" if direction == "long" else "sell",
                "direction": direction,
                "qty": qty,
                "price": price,
                "notional_usd": notional,
                "fee_usd": self._fee(notional),
                "fee_bps": self.fee_bps,
                "slippage_bps": self.slippage_bps,
                "regime": "high_vol",
                "confidence": confidence,
                "bucket": min(9, int(confidence * 10)),
                "reason": "signal",
                "signal_bar_ts": bar_ts - HOUR_MS,
                "stop_price": price * (0.98 if direction == "long" else 1.02),
                "target_price": price * (1.03 if direction == "long" else 0.97),
                "expires_bar_ts": bar_ts + 12 * HOUR_MS,
            }
        )
        self._open[symbol] = line
        self.lines.append(line)
        return line

    def close(
        self, symbol: str, *, bar_ts: int, price: float, reason: str = "target"
    ) -> dict[str, Any]:
        """Append the close line of `symbol`'s open trade."""
        entry = self._open.pop(symbol)
        qty, direction = entry["qty"], entry["direction"]
        notional = qty * price
        fee = self._fee(notional)
        sign = 1.0 if direction == "long" else -1.0
        pnl = sign * (price - entry["price"]) * qty - entry["fee_usd"] - fee
        line = canonical(
            {
                **{k: entry[k] for k in ("trade_id", "symbol", "timeframe", "mode", "direction")},
                **{k: entry[k] for k in ("regime", "confidence", "bucket", "signal_bar_ts")},
                "seq": self._take_seq(),
                "fill_id": f"{entry['trade_id']}-close",
                "bar_ts": bar_ts,
                "wall_ts": "2023-11-15T00:00:00.000+00:00",
                "action": "close",
                "side": "sell" if direction == "long" else "buy",
                "qty": qty,
                "price": price,
                "notional_usd": notional,
                "fee_usd": fee,
                "fee_bps": self.fee_bps,
                "slippage_bps": self.slippage_bps,
                "reason": reason,
                "entry_price": entry["price"],
                "entry_bar_ts": entry["bar_ts"],
                "entry_fee_usd": entry["fee_usd"],
                "pnl_usd": pnl,
                "pnl_bps": pnl / entry["notional_usd"] * 10_000.0,
            }
        )
        self.lines.append(line)
        return line

    def trade(
        self,
        symbol: str,
        *,
        bar_ts: int,
        entry_price: float,
        exit_price: float,
        qty: float = 1.0,
        direction: str = "long",
        hold_bars: int = 1,
    ) -> float:
        """Open and close one trade; returns its net PnL."""
        self.open(symbol, bar_ts=bar_ts, price=entry_price, qty=qty, direction=direction)
        close = self.close(symbol, bar_ts=bar_ts + hold_bars * HOUR_MS, price=exit_price)
        pnl: float = close["pnl_usd"]
        return pnl
