"""`chloe panel`: re-reads and redraws when the reports change, and only then."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console, RenderableType

from engine_alpha.config.config_loader import PAPER_FILE
from engine_alpha.dashboard.live_panel import LivePanel, run_live_panel
from tests.ops.factory import DAY_MS, T0, Journal


class _CountingPanel(LivePanel):
    renders = 0

    def render(self) -> RenderableType:
        self.renders += 1
        return super().render()


def test_the_panel_redraws_when_a_fill_arrives(config_dir: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    journal = Journal()
    journal.trades("ETHUSDT", [5.0] * 3)
    journal.write(reports)
    panel = _CountingPanel(config_dir, reports)
    polls = 0

    def sleep(_seconds: float) -> None:
        nonlocal polls
        polls += 1
        if polls == 2:
            journal.trades("ETHUSDT", [7.0, -1.0], start_ts=T0 + 10 * DAY_MS)
            journal.write(reports)

    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=True, color_system=None)
    assert run_live_panel(panel, interval_s=0.0, max_polls=5, console=console, sleep=sleep) == 0
    assert panel.renders == 2  # the first view, then once for the new fills
    text = out.getvalue()
    assert "ETHUSDT" in text and "journal fills 6" in text and "journal fills 10" in text


def test_a_bad_config_shows_the_problem_instead_of_crashing(
    config_dir: Path, tmp_path: Path
) -> None:
    (config_dir / PAPER_FILE).write_text("{")
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=True, color_system=None)
    panel = LivePanel(config_dir, tmp_path / "reports")
    assert run_live_panel(panel, max_polls=1, console=console, sleep=lambda _s: None) == 0
    assert "cannot show the panel" in out.getvalue() and "invalid JSON" in out.getvalue()
