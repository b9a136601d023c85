"""The journal's round trips with their signals and bars, read from a reports directory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.ledger.round_trips import RoundTrip, round_trips
from engine_alpha.market.bars import Bar
from engine_alpha.ops.reports_reader import ReportsSnapshot, load_bars, load_reports

__all__ = ["load_round_trips", "snapshot_round_trips", "trip_row"]


def snapshot_round_trips(
    config: ChloeConfig, snapshot: ReportsSnapshot, bars: Mapping[str, Sequence[Bar]]
) -> list[RoundTrip]:
    """Round trips of a reports snapshot, joined to its signal log, excursions from `bars`."""
    signals: dict[tuple[str, int], Mapping[str, Any]] = {
        (s["symbol"], s["bar_ts"]): s
        for s in snapshot.signals
        if isinstance(s.get("symbol"), str) and isinstance(s.get("bar_ts"), int)
    }
    return round_trips(snapshot.lines, signals, bars, config.timeframe_ms)


def load_round_trips(
    config: ChloeConfig, reports_dir: Path, data_dir: Path | None = None
) -> list[RoundTrip]:
    """Read the reports (the journal validated: `JournalError` when damaged) and the bars of
    the traded assets (`data_dir`, default the config's `feed.data_dir`)."""
    snapshot = load_reports(reports_dir)
    symbols = list(dict.fromkeys(str(line["symbol"]) for line in snapshot.lines))
    feed = config.paper.feed
    bars = load_bars(data_dir or Path(feed.data_dir), symbols, feed.timeframe)
    return snapshot_round_trips(config, snapshot, bars)


def _iso(ts_ms: int | None) -> str | None:
    if ts_ms is None:
        return None
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def trip_row(t: Any) -> dict[str, Any]:
    """One round trip as a CSV / JSON row (the CSV_COLUMNS)."""
    return {
        "symbol": t.symbol,
        "trade_id": t.trade_id,
        "direction": t.direction,
        "mode": t.mode,
        "entry_time": _iso(t.entry_bar_ts),
        "exit_time": _iso(t.exit_bar_ts),
        "entry_price": t.entry_price,
        "exit_price": t.exit_price,
        "qty": t.qty,
        "exit_reason": t.exit_reason,
        "holding_hours": t.holding_hours,
        "pnl_usd": t.pnl_usd,
        "pnl_bps": t.pnl_bps,
        "fees_usd": t.fees_usd,
        "regime": t.regime,
        "bucket": t.bucket,
        "confidence": t.confidence,
        "signal_time": _iso(t.signal_bar_ts),
        "mae_bps": t.mae_bps,
        "mfe_bps": t.mfe_bps,
    }
