"""What `chloe research` does, step by step: config, run, reports, tables, proposed profiles."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.console import Console

from engine_alpha.cli.progress import TerminalProgress
from engine_alpha.config.config_loader import (
    PROFILER_FILE,
    ChloeConfig,
    ConfigError,
    load_config,
    load_json,
)
from engine_alpha.core.exit_codes import EXIT_CONFIG, EXIT_FAILED, EXIT_OK
from engine_alpha.market.rules import load_market_rules
from engine_alpha.research.analysis import ResearchSettings
from engine_alpha.research.pipeline import ResearchRun, run_research, write_reports
from engine_alpha.research.profiles import (
    check_with_paper_config,
    profile_diff,
    propose_profiler,
)
from engine_alpha.research.render import asset_table, cell_table, diff_table
from engine_alpha.research.report import write_json
from engine_alpha.research.split import DEFAULT_SPLIT, Split

__all__ = ["ResearchCommand"]

_WIDE = 180


@dataclass(slots=True)
class ResearchCommand:
    """The options of one `chloe research` invocation; `run` returns the exit status."""

    config_dir: Path
    reports_dir: Path
    now: Callable[[], datetime]
    data_dir: Path | None = None
    horizon_bars: int = 4
    split: Split | None = None
    assets: Sequence[str] | None = None
    min_samples: int = 30
    propose_path: Path | None = None
    write_profiles: bool = False
    show_cells: bool = False
    console: Console | None = None

    def run(self) -> int:
        """Research, write the reports, print the tables, then propose profiles if asked."""
        out = self.console or _console()
        try:
            config = load_config(self.config_dir)
        except ConfigError as exc:
            print(f"chloe research: config rejected:\n{exc}", file=sys.stderr)
            return EXIT_CONFIG
        profiler_path = self.config_dir / PROFILER_FILE
        if self.propose_path is not None and _same(self.propose_path, profiler_path):
            print(
                f"chloe research: {self.propose_path} is the operator's profiler file; "
                "use --write-profiles to replace it",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        run = self._research(config, out)
        if not run.results:
            print("chloe research: no asset could be researched", file=sys.stderr)
            return EXIT_FAILED
        if self.propose_path is None and not self.write_profiles:
            return EXIT_OK
        return self._profiles(config, run, out)

    def _research(self, config: ChloeConfig, out: Console) -> ResearchRun:
        feed = config.paper.feed
        settings = ResearchSettings(
            horizon_bars=self.horizon_bars,
            split=self.split or DEFAULT_SPLIT,
            min_samples=self.min_samples,
            execution=config.paper.execution,
            timeframe_ms=config.timeframe_ms,
        )
        data_dir = self.data_dir or Path(feed.data_dir)
        symbols = list(self.assets or config.profiler.assets)
        try:
            ticks = {s: r.tick_size for s, r in load_market_rules(Path(feed.markets_file)).items()}
        except ConfigError as exc:
            out.print(f"[yellow]no market rules ({exc}); fills are not rounded to a tick[/]")
            ticks = {}
        run = _with_progress(data_dir, symbols, feed.timeframe, settings, ticks)
        current = config.profiler.assets
        write_reports(
            run,
            self.reports_dir,
            current,
            generated_at=self.now().isoformat(),
            written=lambda p: out.print(f"wrote {p}"),
        )
        out.print(asset_table(run.results, settings, current))
        if self.show_cells:
            for result in run.results.values():
                out.print(cell_table(result, self.min_samples))
        for symbol, problem in run.problems.items():
            out.print(f"[red]{symbol}: not researched: {problem}[/]")
        return run

    def _profiles(self, config: ChloeConfig, run: ResearchRun, out: Console) -> int:
        profiler_path = self.config_dir / PROFILER_FILE
        try:
            current = load_json(profiler_path)
            proposed, kept = propose_profiler(current, run.results, config.paper, profiler_path)
        except ConfigError as exc:
            print(f"chloe research: proposed profile rejected:\n{exc}", file=sys.stderr)
            return EXIT_CONFIG
        changes = profile_diff(current, proposed)
        title = f"Proposed changes to {profiler_path} ({len(changes)} fields)"
        out.print(diff_table(changes, title) if changes else f"{title}: none")
        for symbol, note in kept.items():
            out.print(f"{symbol}: {note}")
        if self.propose_path is not None:
            write_json(self.propose_path, proposed)
            out.print(f"wrote the proposal to {self.propose_path}")
        if not self.write_profiles:
            return EXIT_OK
        try:
            check_with_paper_config(proposed, self.config_dir)
        except ConfigError as exc:
            print(
                f"chloe research: not writing {profiler_path}: the daemon would reject it:\n{exc}",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        write_json(profiler_path, proposed)
        out.print(f"wrote {profiler_path}")
        return EXIT_OK


def _with_progress(
    data_dir: Path,
    symbols: Sequence[str],
    timeframe: str,
    settings: ResearchSettings,
    ticks: dict[str, float],
) -> ResearchRun:
    """`run_research` with assets done/total and an ETA on stderr when it is a terminal."""
    with TerminalProgress.on_stderr_tty("research", "assets") as progress:
        started: list[str] = []

        def on_asset(symbol: str) -> None:
            progress.show(len(started), len(symbols))
            started.append(symbol)

        run = run_research(
            data_dir, symbols, timeframe, settings, tick_sizes=ticks, on_asset=on_asset
        )
        progress.show(len(symbols), len(symbols))
    return run


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=_WIDE)


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()
