"""A research run: each asset's CSV collected and analysed in turn, then the JSON reports.

Each asset runs the signal model it is given (by default the one its profile names); the
reports record the model's identity (name and every parameter) beside the figures, so the
rollout gate and the risk report can tell research of the configured model from research of
another. Serial on purpose: the full data set takes about 4 s on one core (docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine_alpha.config.models import AssetProfile
from engine_alpha.market.csv_bars import bars_path
from engine_alpha.research.analysis import AssetResult, ResearchSettings, analyse
from engine_alpha.research.collect import ModelFailedError, collect_file
from engine_alpha.research.report import asset_report, headline, summary_report, write_json
from engine_alpha.research.split import HALVES
from engine_alpha.signals.catalog import ChosenModel, chosen

__all__ = [
    "DEFAULT_TICK_SIZE",
    "ResearchRun",
    "research_asset",
    "run_research",
    "write_comparison",
    "write_reports",
]

DEFAULT_TICK_SIZE = 1e-8

_Outcome = AssetResult | str


@dataclass(frozen=True, slots=True)
class ResearchRun:
    """The results of a run by symbol, and why any requested asset could not be researched."""

    settings: ResearchSettings
    data_dir: Path
    timeframe: str
    results: dict[str, AssetResult]
    problems: dict[str, str]
    models: dict[str, ChosenModel]


def research_asset(
    data_dir: Path,
    symbol: str,
    timeframe: str,
    settings: ResearchSettings,
    tick_size: float,
    *,
    model: ChosenModel | None = None,
) -> _Outcome:
    """One asset's result on `model` (default: the breakout), or the reason it has none
    (missing file, no accepted bar, a model that broke its contract)."""
    path = bars_path(data_dir, symbol, timeframe)
    model = model or chosen(None)
    try:
        series = collect_file(path, symbol, settings.timeframe_ms, model.factory, model.name)
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror or exc}"
    except ModelFailedError as exc:
        return str(exc)
    if not series.bars:
        return f"{path}: no accepted bar"
    try:
        return analyse(series, settings, tick_size)
    except ValueError as exc:  # e.g. more walk-forward folds than the data can hold
        return f"{path}: {exc}"


def run_research(
    data_dir: Path,
    symbols: Sequence[str],
    timeframe: str,
    settings: ResearchSettings,
    *,
    tick_sizes: Mapping[str, float] | None = None,
    models: Mapping[str, ChosenModel] | None = None,
    on_asset: Callable[[str], object] = lambda _: None,
) -> ResearchRun:
    """Research every symbol in order, each on its model in `models` (absent: the breakout with
    its defaults); `on_asset` is told as each one starts (progress)."""
    ticks = tick_sizes or {}
    default = chosen(None)
    used = {symbol: (models or {}).get(symbol, default) for symbol in symbols}
    results: dict[str, AssetResult] = {}
    problems: dict[str, str] = {}
    for symbol in symbols:
        on_asset(symbol)
        tick = ticks.get(symbol, DEFAULT_TICK_SIZE)
        outcome = research_asset(data_dir, symbol, timeframe, settings, tick, model=used[symbol])
        if isinstance(outcome, str):
            problems[symbol] = outcome
        else:
            results[symbol] = outcome
    return ResearchRun(settings, data_dir, timeframe, results, problems, used)


def write_reports(
    run: ResearchRun,
    root: Path,
    current: Mapping[str, AssetProfile],
    *,
    generated_at: str,
    written: Callable[[Path], object] = lambda _: None,
) -> None:
    """Write `<SYMBOL>/edge.json` for each asset and `summary.json` under `root` (the reports'
    `research/` folder, or a model's folder under `research/compare/`)."""
    for symbol, result in run.results.items():
        source = str(bars_path(run.data_dir, symbol, run.timeframe))
        path = root / symbol / "edge.json"
        report = asset_report(
            result,
            run.settings,
            source=source,
            generated_at=generated_at,
            model=run.models[symbol].identity,
        )
        write_json(path, report)
        written(path)
    path = root / "summary.json"
    write_json(
        path,
        summary_report(
            run.results,
            run.settings,
            current,
            generated_at=generated_at,
            problems=run.problems,
            models={symbol: model.identity for symbol, model in run.models.items()},
        ),
    )
    written(path)


def write_comparison(runs: Mapping[str, ResearchRun], path: Path, *, generated_at: str) -> None:
    """Write models side by side (`research/compare/comparison.json`): each label's model
    identity, and per asset and label the proposal and each half's headline figures."""
    symbols = list(dict.fromkeys(s for run in runs.values() for s in run.results))
    assets: dict[str, Any] = {}
    for symbol in symbols:
        assets[symbol] = {}
        for label, run in runs.items():
            result = run.results.get(symbol)
            if result is None:
                assets[symbol][label] = {"not_researched": run.problems.get(symbol)}
                continue
            cost = run.settings.cost_bps
            assets[symbol][label] = {
                "proposal": {
                    "tier": result.tier,
                    "edge_bps": result.edge_bps,
                    "reason": result.tier_reason,
                },
                **{half: headline(result, half, cost) for half in HALVES},
            }
    models = {
        label: next(iter(run.models.values())).identity if run.models else None
        for label, run in runs.items()
    }
    write_json(path, {"generated_at": generated_at, "models": models, "assets": assets})
