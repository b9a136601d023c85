"""The journal's round trips with their signals and bars, read from a reports directory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.ledger.round_trips import RoundTrip, round_trips
from engine_alpha.market.bars import Bar
from engine_alpha.ops.reports_reader import ReportsSnapshot, load_bars, load_reports

__all__ = ["load_round_trips", "snapshot_round_trips"]


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
