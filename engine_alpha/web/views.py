"""What the web view shows, read from the reports directory by the same code as the commands.

`/api/status` is `chloe status --json` (`status_dict` over `gather`), `/api/trades` is
`chloe trades --json` with the same filters, `/` is `chloe report --html` with a script that
follows the reports. A view is rebuilt only when a watched report file changed (size, mtime),
one rebuild at a time; the daemon is never asked anything.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import structlog

from engine_alpha.config.config_loader import PAPER_FILE, ChloeConfig, ConfigError, load_config
from engine_alpha.dashboard.html_report import curves, heatmaps, render_html
from engine_alpha.dashboard.multi_asset_panel import PanelData, gather, status_dict
from engine_alpha.dashboard.trades_view import trades_section_html
from engine_alpha.ledger.reports_dir import SIGNALS_FILE
from engine_alpha.ledger.round_trips import trades_summary
from engine_alpha.ops.reports_reader import (
    is_signal_record,
    load_bars,
    read_jsonl,
    report_mtimes,
)
from engine_alpha.ops.trades import trip_row
from engine_alpha.research.html import read_summary, read_sweep, research_section_html
from engine_alpha.risk.multi_asset_risk_engine import VolatilityMemo

__all__ = ["Rendered", "ReportsView"]

MAX_SIGNALS = 5000


@dataclass(frozen=True, slots=True)
class Rendered:
    """One reading of the reports: its version, the status, the page and the round trips."""

    version: str
    status: dict[str, Any]
    html: str
    data: PanelData


class ReportsView:
    """The reports directory as the web view serves it, rebuilt when it changes."""

    def __init__(self, config_dir: Path, reports_dir: Path, data_dir: Path | None) -> None:
        self.config_dir = config_dir
        self.reports_dir = reports_dir
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._current: Rendered | None = None
        self._bars: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self._memo = VolatilityMemo()  # each rebuild feeds the models only the bars since the last
        self._config: ChloeConfig = load_config(config_dir)  # ConfigError: refused at start
        self._log = structlog.get_logger("chloe.web")

    def version(self) -> str:
        """A fingerprint of the watched report files: it changes when the reports move on."""
        extra = (self.config_dir / PAPER_FILE,)
        return "-".join(map(str, report_mtimes(self.reports_dir, extra)))

    def current(self) -> Rendered:
        """The latest reading, rebuilt first when the reports changed since the last one."""
        with self._lock:
            version = self.version()
            if self._current is None or self._current.version != version:
                self._current = self._build(version)
            return self._current

    def _build(self, version: str) -> Rendered:
        try:
            self._config = load_config(self.config_dir)
        except ConfigError as exc:  # the last good config serves on, as the daemon's does
            self._log.warning("web_config_rejected", problem=str(exc))
        data = gather(self._config, self.reports_dir, self._load_bars(self._config), self._memo)
        status = status_dict(data)
        reports = data.snapshot.reports_dir
        research = research_section_html(read_summary(reports), read_sweep(reports))
        trades = trades_section_html(status["trades"], data.trips, data.bars)
        page = render_html(status, curves(data), heatmaps(data), research, trades)
        return Rendered(version, status, page, data)

    def _load_bars(self, config: ChloeConfig) -> dict[str, Any]:
        """The bar files (charts, excursions, volatility), read again only when they change."""
        feed = config.paper.feed
        data_dir = self.data_dir or Path(feed.data_dir)
        files = sorted(data_dir.glob("*.csv")) if data_dir.is_dir() else []
        key: tuple[Any, ...] = (str(data_dir), feed.timeframe, tuple(config.paper.activation_order))
        key += tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files)
        if self._bars is None or self._bars[0] != key:
            bars = load_bars(data_dir, config.paper.activation_order, feed.timeframe)
            self._bars = (key, bars)
        return self._bars[1]

    def trades(self, symbol: str | None, since_ms: int | None, open_only: bool) -> dict[str, Any]:
        """`chloe trades --json [--symbol] [--since] [--open]`."""
        trips = [
            t
            for t in self.current().data.trips
            if (symbol is None or t.symbol == symbol)
            and (since_ms is None or t.entry_bar_ts >= since_ms)
            and (t.closed != open_only)
        ]
        return {"round_trips": [trip_row(t) for t in trips], **trades_summary(trips)}

    def signals(self, symbol: str | None, reason: str | None, limit: int) -> dict[str, Any]:
        """The signal log's records of `symbol` and `reason` (each optional), the newest `limit`
        of them in log order, and how many matched."""
        records, _ = read_jsonl(self.reports_dir / SIGNALS_FILE, is_signal_record)
        matched = [
            r
            for r in records
            if (symbol is None or r.get("symbol") == symbol)
            and (reason is None or r.get("reason") == reason)
        ]
        shown = matched[-limit:] if limit else []
        return {"matched": len(matched), "returned": len(shown), "signals": shown}

    def research(self) -> dict[str, Any]:
        """The research summary, the sweep and each asset's `edge.json`, as research wrote them."""
        assets: dict[str, Any] = {}
        root = self.reports_dir / "research"
        for path in sorted(root.glob("*/edge.json")) if root.is_dir() else []:
            try:
                assets[path.parent.name] = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError) as exc:
                assets[path.parent.name] = {"error": f"{path.name}: {exc}"}
        return {
            "summary": read_summary(self.reports_dir),
            "sweep": read_sweep(self.reports_dir),
            "assets": assets,
        }


def as_json(data: Mapping[str, Any] | dict[str, Any]) -> bytes:
    """The API's JSON: the same serializer as the commands' `--json`."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2)
