"""What `chloe research` does, step by step: config, run, reports, tables, proposed profiles."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from engine_alpha.cli.progress import TerminalProgress
from engine_alpha.config.config_loader import (
    PROFILER_FILE,
    ChloeConfig,
    ConfigError,
    load_config,
    load_json,
)
from engine_alpha.config.models import SignalModelChoice
from engine_alpha.config.signal_models import check_params
from engine_alpha.core.exit_codes import EXIT_CONFIG, EXIT_FAILED, EXIT_OK
from engine_alpha.ledger.reports_dir import RESEARCH_DIR
from engine_alpha.market.rules import load_market_rules
from engine_alpha.research.analysis import ResearchSettings
from engine_alpha.research.folds import FoldScheme
from engine_alpha.research.pipeline import (
    ResearchRun,
    run_research,
    write_comparison,
    write_reports,
)
from engine_alpha.research.profiles import (
    check_with_paper_config,
    profile_diff,
    propose_profiler,
)
from engine_alpha.research.render import asset_table, cell_table, comparison_table, diff_table
from engine_alpha.research.report import write_json
from engine_alpha.research.split import DEFAULT_SPLIT, Split
from engine_alpha.signals.catalog import ChosenModel, chosen

__all__ = ["ResearchCommand"]

_WIDE = 180
COMPARE_DIR = "compare"


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
    models: Sequence[Mapping[str, Any]] = field(default_factory=list)
    min_samples: int = 30
    walk_forward: int = 0
    fold_scheme: FoldScheme = "anchored"
    replicates: int = 1_000
    seed: int = 0
    alpha: float = 0.05
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
        try:
            models = self._checked_models()
        except ValueError as exc:
            print(f"chloe research: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        if len(models) > 1:
            return self._compare(config, models, out)
        run = self._research(config, out, models[0][1] if models else None)
        if not run.results:
            print("chloe research: no asset could be researched", file=sys.stderr)
            return EXIT_FAILED
        if self.propose_path is None and not self.write_profiles:
            return EXIT_OK
        return self._profiles(config, run, out)

    def _checked_models(self) -> list[tuple[str, ChosenModel]]:
        """The `--model` choices; ValueError when they or the profile options cannot be used."""
        profiler_path = self.config_dir / PROFILER_FILE
        if self.propose_path is not None and _same(self.propose_path, profiler_path):
            raise ValueError(
                f"{self.propose_path} is the operator's profiler file; "
                "use --write-profiles to replace it"
            )
        models = _resolve(self.models)
        if len(models) > 1 and (self.propose_path is not None or self.write_profiles):
            raise ValueError(
                "proposing profiles needs one model; compare models first, "
                "then research the chosen one"
            )
        return models

    def _settings(self, config: ChloeConfig) -> ResearchSettings:
        return ResearchSettings(
            horizon_bars=self.horizon_bars,
            split=self.split or DEFAULT_SPLIT,
            min_samples=self.min_samples,
            execution=config.paper.execution,
            timeframe_ms=config.timeframe_ms,
            walk_forward=self.walk_forward,
            fold_scheme=self.fold_scheme,
            replicates=self.replicates,
            seed=self.seed,
            alpha=self.alpha,
        )

    def _run(
        self, config: ChloeConfig, out: Console, model: ChosenModel | None, label: str = ""
    ) -> ResearchRun:
        """Research every asset on `model`, or each on its profile's model when None."""
        feed = config.paper.feed
        data_dir = self.data_dir or Path(feed.data_dir)
        symbols = list(self.assets or config.profiler.assets)
        profiles = config.profiler.assets
        models = {
            s: model or chosen(profiles[s].signal_model if s in profiles else None) for s in symbols
        }
        try:
            ticks = {s: r.tick_size for s, r in load_market_rules(Path(feed.markets_file)).items()}
        except ConfigError as exc:
            out.print(f"[yellow]no market rules ({exc}); fills are not rounded to a tick[/]")
            ticks = {}
        settings = self._settings(config)
        return _with_progress(
            data_dir,
            symbols,
            feed.timeframe,
            settings,
            ticks=ticks,
            models=models,
            label=label or "research",
        )

    def _research(
        self, config: ChloeConfig, out: Console, model: ChosenModel | None
    ) -> ResearchRun:
        run = self._run(config, out, model)
        settings = run.settings
        current = config.profiler.assets
        write_reports(
            run,
            self.reports_dir / RESEARCH_DIR,
            current,
            generated_at=self.now().isoformat(),
            written=lambda p: out.print(f"wrote {p}"),
        )
        out.print(asset_table(run.results, settings, current, _model_title(run)))
        if self.show_cells:
            for result in run.results.values():
                out.print(cell_table(result, self.min_samples))
        for symbol, problem in run.problems.items():
            out.print(f"[red]{symbol}: not researched: {problem}[/]")
        return run

    def _compare(
        self, config: ChloeConfig, models: Sequence[tuple[str, ChosenModel]], out: Console
    ) -> int:
        """Every asset on each model, same data and split, side by side (research/compare/)."""
        root = self.reports_dir / RESEARCH_DIR / COMPARE_DIR
        generated_at = self.now().isoformat()
        current = config.profiler.assets
        runs: dict[str, ResearchRun] = {}
        for label, model in models:
            run = self._run(config, out, model, label)
            write_reports(
                run,
                root / label,
                current,
                generated_at=generated_at,
                written=lambda p: out.print(f"wrote {p}"),
            )
            out.print(asset_table(run.results, run.settings, current, _model_title(run, label)))
            for symbol, problem in run.problems.items():
                out.print(f"[red]{label} {symbol}: not researched: {problem}[/]")
            runs[label] = run
        path = root / "comparison.json"
        write_comparison(runs, path, generated_at=generated_at)
        out.print(f"wrote {path}")
        out.print(comparison_table(runs))
        if not any(run.results for run in runs.values()):
            print("chloe research: no asset could be researched", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_OK

    def _profiles(self, config: ChloeConfig, run: ResearchRun, out: Console) -> int:
        profiler_path = self.config_dir / PROFILER_FILE
        try:
            current = load_json(profiler_path)
            proposed, kept = propose_profiler(
                current, run.results, config.paper, profiler_path, run.models
            )
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


def _resolve(raw: Sequence[Mapping[str, Any]]) -> list[tuple[str, ChosenModel]]:
    """Each `--model` with its `--param`s checked and resolved, labelled by name (`name-2` for
    a name given again); ValueError naming the option and the problem."""
    out: list[tuple[str, ChosenModel]] = []
    seen: dict[str, int] = {}
    for item in raw:
        name, params = str(item["name"]), dict(item["params"])
        where = f"--model {name}" + "".join(f" --param {k}" for k in params)
        try:
            check_params(name, params)
            model = chosen(SignalModelChoice(name=name, params=params))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        seen[name] = seen.get(name, 0) + 1
        out.append((name if seen[name] == 1 else f"{name}-{seen[name]}", model))
    return out


def _model_title(run: ResearchRun, label: str = "") -> str:
    """What the table is of: one model's label, or the models the profiles name."""
    names = sorted({m.name for s, m in run.models.items() if s in run.results})
    if label:
        return f"model {label}"
    return "model " + ", ".join(names) if names else ""


def _with_progress(
    data_dir: Path,
    symbols: Sequence[str],
    timeframe: str,
    settings: ResearchSettings,
    *,
    ticks: dict[str, float],
    models: Mapping[str, ChosenModel],
    label: str,
) -> ResearchRun:
    """`run_research` with assets done/total and an ETA on stderr when it is a terminal."""
    with TerminalProgress.on_stderr_tty(label, "assets") as progress:
        started: list[str] = []

        def on_asset(symbol: str) -> None:
            progress.show(len(started), len(symbols))
            started.append(symbol)

        run = run_research(
            data_dir,
            symbols,
            timeframe,
            settings,
            tick_sizes=ticks,
            models=models,
            on_asset=on_asset,
        )
        progress.show(len(symbols), len(symbols))
    return run


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=_WIDE)


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()
