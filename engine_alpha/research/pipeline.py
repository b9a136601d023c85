"""A research run: each asset's CSV collected and analysed in turn, then the JSON reports.

Serial on purpose: the full data set takes about 4 s on one core (docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine_alpha.config.models import AssetProfile
from engine_alpha.market.csv_bars import bars_path
from engine_alpha.research.analysis import AssetResult, ResearchSettings, analyse
from engine_alpha.research.collect import collect_file
from engine_alpha.research.report import asset_report, summary_report, write_json

__all__ = [
    "DEFAULT_TICK_SIZE",
    "ResearchRun",
    "research_asset",
    "run_research",
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


def research_asset(
    data_dir: Path, symbol: str, timeframe: str, settings: ResearchSettings, tick_size: float
) -> _Outcome:
    """One asset's result, or the reason it has none (missing file, no accepted bar)."""
    path = bars_path(data_dir, symbol, timeframe)
    try:
        series = collect_file(path, symbol, settings.timeframe_ms)
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror or exc}"
    if not series.bars:
        return f"{path}: no accepted bar"
    return analyse(series, settings, tick_size)


def run_research(
    data_dir: Path,
    symbols: Sequence[str],
    timeframe: str,
    settings: ResearchSettings,
    *,
    tick_sizes: Mapping[str, float] | None = None,
    on_asset: Callable[[str], object] = lambda _: None,
) -> ResearchRun:
    """Research every symbol in order; `on_asset` is told as each one starts (progress)."""
    ticks = tick_sizes or {}
    results: dict[str, AssetResult] = {}
    problems: dict[str, str] = {}
    for symbol in symbols:
        on_asset(symbol)
        tick = ticks.get(symbol, DEFAULT_TICK_SIZE)
        outcome = research_asset(data_dir, symbol, timeframe, settings, tick)
        if isinstance(outcome, str):
            problems[symbol] = outcome
        else:
            results[symbol] = outcome
    return ResearchRun(settings, data_dir, timeframe, results, problems)


def write_reports(
    run: ResearchRun,
    reports_dir: Path,
    current: Mapping[str, AssetProfile],
    *,
    generated_at: str,
    written: Callable[[Path], object] = lambda _: None,
) -> None:
    """Write `research/<SYMBOL>/edge.json` for each asset and `research/summary.json`."""
    root = reports_dir / "research"
    for symbol, result in run.results.items():
        source = str(bars_path(run.data_dir, symbol, run.timeframe))
        path = root / symbol / "edge.json"
        write_json(
            path, asset_report(result, run.settings, source=source, generated_at=generated_at)
        )
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
        ),
    )
    written(path)
