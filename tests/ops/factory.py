"""Valid journal lines and signal records for rollout, risk and dashboard tests.

Fees default to 0 so a trade's net PnL is exactly (exit - entry) x qty x direction; every line
is validated with the real `FillLine` model before it is handed out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from engine_alpha.ledger.records import FillLine
from engine_alpha.ops.reports_reader import ResearchDistribution
from engine_alpha.research.distribution import distribution_json
from engine_alpha.signals.catalog import json_identity

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
T0 = 1_700_006_400_000  # 2023-11-15 00:00 UTC


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    """Write records one JSON object per line, as the daemon does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def signal(
    symbol: str,
    bar_ts: int,
    *,
    regime: str = "high_vol",
    bucket: int = 5,
    direction: str = "long",
    outcome: str = "refused",
    reason: str | None = "position_open",
    mode: str = "paper",
) -> dict[str, Any]:
    """One `signals.jsonl` record; its confidence sits inside `bucket`."""
    return {
        "bar_ts": bar_ts,
        "symbol": symbol,
        "mode": mode,
        "regime": regime,
        "direction": direction,
        "confidence": bucket / 10 + 0.05,
        "bucket": bucket,
        "outcome": outcome,
        "reason": reason,
    }


def uniform_signals(
    symbol: str, *, start_ts: int = T0, days: float = 8.0, per_bucket: int = 3, **kw: Any
) -> list[dict[str, Any]]:
    """`per_bucket` signals in each bucket 0-9, spread evenly over `days` of bar time."""
    n = per_bucket * 10
    step = round(days * DAY_MS / max(1, n - 1))
    return [signal(symbol, start_ts + i * step, bucket=i % 10, **kw) for i in range(n)]


@dataclass
class Journal:
    """Builds a consistent journal: seq in order, one open trade per symbol."""

    fee_bps: float = 0.0
    lines: list[dict[str, Any]] = field(default_factory=list)
    _open: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _add(self, raw: dict[str, Any]) -> dict[str, Any]:
        raw["seq"] = len(self.lines) + 1
        line = FillLine.model_validate(raw).model_dump(exclude_none=True)
        self.lines.append(line)
        return line

    def open(
        self,
        symbol: str,
        bar_ts: int,
        *,
        price: float = 100.0,
        qty: float = 1.0,
        direction: str = "long",
        regime: str = "high_vol",
        bucket: int = 5,
        mode: str = "paper",
    ) -> dict[str, Any]:
        """Append the open line of a new trade."""
        notional = qty * price
        line = self._add(
            {
                "fill_id": f"{symbol}-{bar_ts}-open",
                "trade_id": f"{symbol}-{bar_ts}",
                "bar_ts": bar_ts,
                "wall_ts": "2023-11-15T00:00:00.000+00:00",
                "symbol": symbol,
                "timeframe": "1h",
                "mode": mode,
                "action": "open",
                "side": "buy" if direction == "long" else "sell",
                "direction": direction,
                "qty": qty,
                "price": price,
                "notional_usd": notional,
                "fee_usd": notional * self.fee_bps / 10_000,
                "fee_bps": self.fee_bps,
                "slippage_bps": 2.0,
                "regime": regime,
                "confidence": bucket / 10 + 0.05,
                "bucket": bucket,
                "reason": "signal",
                "signal_bar_ts": bar_ts - HOUR_MS,
                "stop_price": price * 0.9,
                "target_price": price * 1.1,
                "expires_bar_ts": bar_ts + 12 * HOUR_MS,
            }
        )
        self._open[symbol] = line
        return line

    def close(self, symbol: str, bar_ts: int, *, price: float) -> dict[str, Any]:
        """Append the close of `symbol`'s open trade at `price`."""
        entry = self._open.pop(symbol)
        qty = entry["qty"]
        sign = 1.0 if entry["direction"] == "long" else -1.0
        notional = qty * price
        fee = notional * self.fee_bps / 10_000
        pnl = sign * (price - entry["price"]) * qty - entry["fee_usd"] - fee
        keep = ("trade_id", "symbol", "timeframe", "mode", "direction", "regime")
        keep += ("confidence", "bucket", "signal_bar_ts", "slippage_bps")
        return self._add(
            {
                **{k: entry[k] for k in keep},
                "fill_id": f"{entry['trade_id']}-close",
                "bar_ts": bar_ts,
                "wall_ts": "2023-11-15T00:00:00.000+00:00",
                "action": "close",
                "side": "sell" if sign > 0 else "buy",
                "qty": qty,
                "price": price,
                "notional_usd": notional,
                "fee_usd": fee,
                "fee_bps": self.fee_bps,
                "reason": "target" if pnl > 0 else "stop",
                "entry_price": entry["price"],
                "entry_bar_ts": entry["bar_ts"],
                "entry_fee_usd": entry["fee_usd"],
                "pnl_usd": pnl,
                "pnl_bps": pnl / entry["notional_usd"] * 10_000,
            }
        )

    def trade(
        self, symbol: str, bar_ts: int, pnl_usd: float, *, qty: float = 1.0, **kw: Any
    ) -> None:
        """A round trip entered at 100 USD, closed a bar later with net `pnl_usd` (no fees)."""
        line = self.open(symbol, bar_ts, qty=qty, **kw)
        sign = 1.0 if line["direction"] == "long" else -1.0
        self.close(symbol, bar_ts + HOUR_MS, price=100.0 + sign * pnl_usd / qty)

    def trades(
        self,
        symbol: str,
        pnls: Iterable[float],
        *,
        start_ts: int = T0,
        every_ms: int = DAY_MS,
        **kw: Any,
    ) -> None:
        """Round trips with these PnLs, one every `every_ms` of bar time."""
        for i, pnl in enumerate(pnls):
            self.trade(symbol, start_ts + i * every_ms, pnl, **kw)

    def write(self, reports: Path) -> Path:
        """Write `trades.jsonl` into `reports`."""
        return write_jsonl(reports / "trades.jsonl", self.lines)


REGIMES = ("trend_up", "trend_down", "high_vol", "chop")


def uniform_cells(per_cell: int = 100) -> dict[str, int]:
    """Research counts with the same number of signals in every `regime|bucket` cell."""
    return {f"{r}|{b}": per_cell for r in REGIMES for b in range(10)}


def research_of(cells: dict[str, int], source: str = "research/edge.json") -> ResearchDistribution:
    """A researched distribution of the current signal model, as the gate reads it."""
    block = distribution_json(cells, json_identity(None))
    return ResearchDistribution(source, block["model"], dict(block["cells"]))


def write_research(reports: Path, symbol: str, cells: dict[str, int]) -> Path:
    """`research/<SYMBOL>/edge.json` with only the block the gate reads, as research writes it."""
    path = reports / "research" / symbol / "edge.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        orjson.dumps(
            {"symbol": symbol, "signal_distribution": distribution_json(cells, json_identity(None))}
        )
    )
    return path
