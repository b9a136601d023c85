"""What `chloe research sweep` does: check the grid, score every (asset, point) walk-forward on
local processes or a Dask cluster, judge the search, write `research/sweeps/<id>/`, and, if
asked, research the best point as `chloe research` does and propose profiles from it."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from engine_alpha.cli.progress import TerminalProgress
from engine_alpha.cli.research_command import ResearchCommand
from engine_alpha.config.config_loader import ChloeConfig, ConfigError, load_config
from engine_alpha.core.exit_codes import EXIT_CONFIG, EXIT_FAILED, EXIT_OK
from engine_alpha.core.formatting import fmt_mean_n
from engine_alpha.ledger.reports_dir import RESEARCH_DIR
from engine_alpha.market.rules import load_market_rules
from engine_alpha.research.analysis import ResearchSettings
from engine_alpha.research.executor import ClusterExtraMissingError, executor_for
from engine_alpha.research.executor_tasks import Executor, TaskDone, TaskKey
from engine_alpha.research.folds import FoldScheme
from engine_alpha.research.report import write_json
from engine_alpha.research.sweep import GridError, SweepSummary, load_grid, summarise
from engine_alpha.research.sweep_points import (
    ModelPoint,
    PointScore,
    SweepAsset,
    check_points,
    grid_points,
    load_assets,
    score_grid,
)
from engine_alpha.signals.catalog import plugin

__all__ = ["SWEEPS_DIR", "SweepCommand", "sweep_json"]

SWEEPS_DIR = "sweeps"
_SHOWN = 10


@dataclass(slots=True)
class SweepCommand:
    """The options of one `chloe research sweep`; `run` returns the exit status."""

    config_dir: Path
    reports_dir: Path
    model: str
    grid_path: Path
    now: Callable[[], datetime]
    walk_forward: int = 4
    fold_scheme: FoldScheme = "anchored"
    data_dir: Path | None = None
    assets: Sequence[str] | None = None
    horizon_bars: int = 4
    min_samples: int = 30
    scheduler: str | None = None
    workers: int | None = None
    sweep_id: str | None = None
    propose_path: Path | None = None
    write_profiles: bool = False
    console: Console | None = None

    def run(self) -> int:
        out = self.console or Console(width=max(Console().width, 120))
        try:
            config = load_config(self.config_dir)
            points = self._points()
            executor = executor_for(self.scheduler, workers=self.workers)
        except (ConfigError, GridError, ValueError, ClusterExtraMissingError) as exc:
            print(f"chloe research sweep: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        settings = ResearchSettings(
            horizon_bars=self.horizon_bars,
            min_samples=self.min_samples,
            execution=config.paper.execution,
            timeframe_ms=config.timeframe_ms,
            walk_forward=self.walk_forward,
            fold_scheme=self.fold_scheme,
            tests=False,
        )
        assets, problems = self._assets(config)
        for symbol, problem in problems.items():
            out.print(f"[red]{symbol}: not swept: {problem}[/]")
        if not assets:
            print("chloe research sweep: no asset could be swept", file=sys.stderr)
            return EXIT_FAILED
        started = self.now()
        folder = self.reports_dir / RESEARCH_DIR / SWEEPS_DIR / self._id(started)
        write_json(folder / "grid.json", self._grid_json(points, settings, list(assets)))
        try:
            scores = self._score(assets, points, settings, executor)
        except ValueError as exc:  # a point the data cannot be scored at (e.g. too many folds)
            print(f"chloe research sweep: {exc}", file=sys.stderr)
            return EXIT_FAILED
        summary = summarise(points, scores, list(assets), self.min_samples)
        write_json(folder / "points.json", _points_json(points, scores, list(assets)))
        write_json(folder / "summary.json", sweep_json(summary, self, started, list(assets)))
        out.print(f"wrote {folder}")
        out.print(_table(summary, self.model))
        out.print(_verdict(summary))
        if summary.best is None or (self.propose_path is None and not self.write_profiles):
            return EXIT_OK
        return self._propose(points[summary.best], list(assets), out)

    def _points(self) -> list[ModelPoint]:
        plugin(self.model)  # ValueError naming the installed models
        grid = load_grid(self.grid_path)
        points = grid_points(self.model, grid)
        try:
            check_points(points)
        except ValueError as exc:
            raise GridError(f"{self.grid_path}: {exc}") from None
        return points

    def _assets(self, config: ChloeConfig) -> tuple[dict[str, SweepAsset], dict[str, str]]:
        feed = config.paper.feed
        data_dir = self.data_dir or Path(feed.data_dir)
        try:
            ticks = {s: r.tick_size for s, r in load_market_rules(Path(feed.markets_file)).items()}
        except ConfigError:
            ticks = {}
        assets: dict[str, SweepAsset] = {}
        problems: dict[str, str] = {}
        for symbol in self.assets or list(config.profiler.assets):
            try:
                loaded = load_assets(data_dir, [symbol], feed.timeframe, config.timeframe_ms, ticks)
            except OSError as exc:
                problems[symbol] = f"cannot read its bars: {exc.strerror or exc}"
                continue
            if not loaded[symbol].bars:
                problems[symbol] = "no accepted bar"
                continue
            assets.update(loaded)
        return assets, problems

    def _id(self, started: datetime) -> str:
        return self.sweep_id or f"{started:%Y%m%dT%H%M%SZ}-{self.model}"

    def _grid_json(
        self, points: list[ModelPoint], settings: ResearchSettings, symbols: list[str]
    ) -> dict[str, Any]:
        return {
            "model": self.model,
            "grid": load_grid(self.grid_path),
            "points": [dict(p.params) for p in points],
            "assets": symbols,
            "walk_forward": {"folds": settings.walk_forward, "scheme": settings.fold_scheme},
            "horizon_bars": settings.horizon_bars,
            "min_samples": settings.min_samples,
            "scheduler": self.scheduler,
        }

    def _score(
        self,
        assets: dict[str, SweepAsset],
        points: list[ModelPoint],
        settings: ResearchSettings,
        executor: Executor,
    ) -> dict[TaskKey, PointScore]:
        """Every task, with a progress bar on a terminal, else one JSON line per finished point."""
        finished: dict[int, int] = {}
        terminal = sys.stderr.isatty()
        with TerminalProgress("sweep", "tasks", enabled=terminal) as progress:

            def on_done(done: TaskDone) -> None:
                progress.show(done.done, done.total)
                point = done.key.point
                finished[point] = finished.get(point, 0) + 1
                if finished[point] == len(assets) and not terminal:
                    line = {
                        "event": "sweep_point_done",
                        "point": point,
                        "params": dict(points[point].params),
                        "points_done": sum(1 for n in finished.values() if n == len(assets)),
                        "points": len(points),
                    }
                    sys.stdout.write(orjson.dumps(line).decode() + "\n")
                    sys.stdout.flush()

            return score_grid(assets, points, settings, executor, on_done)

    def _propose(self, best: ModelPoint, symbols: list[str], out: Console) -> int:
        """`chloe research --model <model> --param ...` of the best point, proposing profiles."""
        out.print(f"researching the best point ({self.model} {dict(best.params)}) to propose")
        return ResearchCommand(
            config_dir=self.config_dir,
            reports_dir=self.reports_dir,
            now=self.now,
            data_dir=self.data_dir,
            horizon_bars=self.horizon_bars,
            assets=symbols,
            models=[{"name": self.model, "params": dict(best.params)}],
            min_samples=self.min_samples,
            walk_forward=self.walk_forward,
            fold_scheme=self.fold_scheme,
            propose_path=self.propose_path,
            write_profiles=self.write_profiles,
            console=out,
        ).run()


def _num(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def sweep_json(
    summary: SweepSummary, command: SweepCommand, started: datetime, symbols: list[str]
) -> dict[str, Any]:
    """The content of `research/sweeps/<id>/summary.json`."""
    best = None if summary.best is None else summary.points[summary.best]
    return {
        "model": command.model,
        "started_at": started.isoformat(),
        "assets": symbols,
        "points": [
            {
                "index": p.index,
                "params": dict(p.params),
                "wf_edge_bps": _num(p.edge_bps),
                "wf_samples": p.samples,
                "positive_assets": p.positive_assets,
                "trades": p.trades,
                "trade_mean_bps": _num(p.trade_mean_bps),
                "trade_sharpe": _num(p.trade_sharpe),
            }
            for p in summary.points
        ],
        "best": None
        if best is None
        else {
            "index": best.index,
            "params": dict(best.params),
            "wf_edge_bps": _num(best.edge_bps),
            "wf_samples": best.samples,
            "positive_assets": best.positive_assets,
            "assets": best.assets,
            "trades": best.trades,
            "trade_mean_bps": _num(best.trade_mean_bps),
            "trade_sharpe": _num(best.trade_sharpe),
        },
        "pbo": None
        if summary.pbo is None
        else {
            "pbo": summary.pbo.pbo,
            "splits": summary.pbo.n_splits,
            "combinations": summary.pbo.n_combinations,
            "days": summary.pbo_days,
        },
        "deflated_sharpe": None
        if summary.dsr is None
        else {
            "dsr": summary.dsr,
            "expected_max_sharpe": summary.expected_max_sharpe,
            "sharpe_variance": summary.sharpe_variance,
            "trials": len(summary.points),
        },
    }


def _points_json(
    points: list[ModelPoint], scores: dict[TaskKey, PointScore], symbols: list[str]
) -> list[dict[str, Any]]:
    """Every point's score on every asset (the trades counted, not listed)."""
    out = []
    for index, point in enumerate(points):
        per_asset = {}
        for symbol in symbols:
            s = scores[TaskKey(symbol, index)]
            per_asset[symbol] = {
                "signals": s.signals,
                "focus_regime": s.focus_regime,
                "in_sample_edge_bps": _num(s.in_sample_edge_bps),
                "in_sample_samples": s.in_sample_samples,
                "oos_edge_bps": _num(s.oos_edge_bps),
                "oos_samples": s.oos_samples,
                "wf_edge_bps": _num(s.wf_edge_bps),
                "wf_samples": s.wf_samples,
                "wf_positive_folds": s.wf_positive_folds,
                "wf_deciding_folds": s.wf_deciding_folds,
                "wf_trades": len(s.wf_trade_pnl_bps),
            }
        out.append({"index": index, "params": dict(point.params), "assets": per_asset})
    return out


def _table(summary: SweepSummary, model: str) -> Table:
    ranked = sorted(
        summary.points, key=lambda p: -p.edge_bps if not math.isnan(p.edge_bps) else math.inf
    )
    table = Table(
        title=f"Sweep of {model}: the {min(_SHOWN, len(ranked))} best of {len(ranked)} points "
        "by pooled walk-forward out-of-sample edge (net bps)",
        caption="edge: every fold's test samples of the regime it chose in its train window, "
        "pooled over assets; trades: those folds' daemon-exit trades",
    )
    for name in ("#", "params", "wf OOS edge", "assets > 0", "trades", "trade Sharpe"):
        table.add_column(name, overflow="fold")
    for p in ranked[:_SHOWN]:
        mark = " (best)" if p.index == summary.best else ""
        table.add_row(
            f"{p.index}{mark}",
            " ".join(f"{k}={v}" for k, v in p.params.items()) or "(defaults)",
            fmt_mean_n(p.edge_bps, p.samples),
            f"{p.positive_assets}/{p.assets}",
            str(p.trades),
            "-" if math.isnan(p.trade_sharpe) else f"{p.trade_sharpe:+.3f}",
        )
    return table


def _verdict(summary: SweepSummary) -> str:
    pbo = "-" if summary.pbo is None else f"{summary.pbo.pbo:.2f}"
    dsr = "-" if summary.dsr is None else f"{summary.dsr:.3f}"
    return (
        f"PBO (CSCV, {summary.pbo_days} days): {pbo} (above 0.5: the best point in sample is "
        f"at best median out of sample more often than not); deflated Sharpe of the best "
        f"point's trades: {dsr} (above 0.95: better than the best of that many skill-less tries)"
    )
