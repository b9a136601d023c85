"""`chloe panel`: the multi-asset panel as a live terminal view that refreshes as fills arrive.

It polls the size and mtime of the report files and of the config files every `interval_s`,
and re-reads only when one of them changed. Read-only, like `chloe status`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

from engine_alpha.config.config_loader import PAPER_FILE, PROFILER_FILE, ConfigError, load_config
from engine_alpha.dashboard.multi_asset_panel import gather, panel_renderable, status_dict
from engine_alpha.ledger.journal import JournalError
from engine_alpha.market.bars import Bar
from engine_alpha.ops.reports_reader import load_bars, report_mtimes

__all__ = ["LivePanel", "run_live_panel"]


class LivePanel:
    """Builds the panel renderable from the current files; keeps bars loaded once per config."""

    def __init__(self, config_dir: Path, reports_dir: Path) -> None:
        self.config_dir = config_dir
        self.reports_dir = reports_dir
        self._bars: Mapping[str, Sequence[Bar]] | None = None
        self._bars_key: tuple[str, str] | None = None

    def stamp(self) -> tuple[int, ...]:
        """What changes when there is something new to show."""
        extra = (self.config_dir / PAPER_FILE, self.config_dir / PROFILER_FILE)
        return report_mtimes(self.reports_dir, extra)

    def render(self) -> RenderableType:
        """The panel now, or the problem that stops it from being computed."""
        now = datetime.now(UTC).strftime("%H:%M:%S")
        footer = Text(f"updated {now} UTC; watching {self.reports_dir}; Ctrl-C quits", "dim")
        try:
            config = load_config(self.config_dir)
            feed = config.paper.feed
            key = (feed.data_dir, feed.timeframe)
            if self._bars is None or key != self._bars_key:
                self._bars = load_bars(Path(feed.data_dir), config.paper.activation_order, key[1])
                self._bars_key = key
            status = status_dict(gather(config, self.reports_dir, self._bars))
        except (ConfigError, JournalError) as exc:
            return Group(Text(f"cannot show the panel:\n{exc}", "bold red"), footer)
        return Group(panel_renderable(status), footer)


def run_live_panel(
    panel: LivePanel,
    *,
    interval_s: float = 1.0,
    max_polls: int | None = None,
    console: Console | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Show the panel and refresh it on change until Ctrl-C (or `max_polls` polls, for tests)."""
    last = panel.stamp()
    polls = 0
    with Live(panel.render(), console=console, auto_refresh=False, screen=False) as live:
        try:
            while max_polls is None or polls < max_polls:
                sleep(interval_s)
                polls += 1
                stamp = panel.stamp()
                if stamp != last:
                    last = stamp
                    live.update(panel.render(), refresh=True)
        except KeyboardInterrupt:
            pass
    return 0
