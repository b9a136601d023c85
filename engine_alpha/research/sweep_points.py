"""Research scored at many model-parameter points, per asset, on any executor.

Each asset's bars are read and validated once (`load_assets`) and sent to the workers once;
each task runs one point: the bars through a fresh model built from the point's parameters
(`plugin(model).create(params)`; the model's batch path when it has one, which decides
identically and several times faster), then the analysis (`analysis.analyse`, with the walk-forward
folds the settings ask for and without the bootstrap tests, which judge one asset's cells, not
a point), and returns a few figures (`PointScore`). `score_grid` runs every (asset, point) on
local processes or a Dask cluster (`executor.py`); the results are the same, bit for bit,
wherever they ran.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from engine_alpha.config.models import REGIMES
from engine_alpha.market.bars import Bar
from engine_alpha.market.csv_bars import bars_path, read_bars
from engine_alpha.market.validation import BarValidator
from engine_alpha.research.analysis import AssetResult, ResearchSettings, analyse
from engine_alpha.research.collect import collect_bars, collect_columns
from engine_alpha.research.executor import run_grid
from engine_alpha.research.executor_tasks import Executor, OnDone, TaskDone, TaskKey
from engine_alpha.research.pipeline import DEFAULT_TICK_SIZE
from engine_alpha.signals.catalog import plugin

__all__ = [
    "ModelPoint",
    "PointScore",
    "SweepAsset",
    "check_points",
    "grid_points",
    "load_assets",
    "score_grid",
    "score_point",
]


@dataclass(frozen=True, slots=True, eq=False)
class SweepAsset:
    """One asset's accepted bars (validated as the replay feed does) and its tick size.

    Pickled as numpy columns (a few ms, not a list of objects): a worker rebuilds the bars once
    when the data arrives, and every point of the asset then reads the same list."""

    symbol: str
    timeframe_ms: int
    tick_size: float
    bars: list[Bar]

    def __reduce__(self) -> tuple[Callable[..., SweepAsset], tuple[Any, ...]]:
        ts = np.array([b.ts_ms for b in self.bars], dtype=np.int64)
        ohlcv = np.array(
            [(b.open, b.high, b.low, b.close, b.volume) for b in self.bars], dtype=np.float64
        ).reshape(len(self.bars), 5)
        return _from_columns, (self.symbol, self.timeframe_ms, self.tick_size, ts, ohlcv)


def _from_columns(
    symbol: str,
    timeframe_ms: int,
    tick_size: float,
    ts: npt.NDArray[np.int64],
    ohlcv: npt.NDArray[np.float64],
) -> SweepAsset:
    bars = [
        Bar(symbol, t, o, h, lo, c, v)
        for t, (o, h, lo, c, v) in zip(ts.tolist(), ohlcv.tolist(), strict=True)
    ]
    return SweepAsset(symbol, timeframe_ms, tick_size, bars)


@dataclass(frozen=True, slots=True)
class ModelPoint:
    """A model and its parameters (JSON data, checked by `score_grid` before anything runs)."""

    model: str
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PointScore:
    """One asset at one point: signals; the single split's in-sample focus regime and its edge
    in and out of sample; every signal's edge and the simulated trades out of sample; and, with
    walk-forward folds, the pooled out-of-sample edge of each fold's chosen regime, how many
    folds measured it positive, and those folds' daemon-exit trades (exit time, net bps).

    Edges are net forward returns in bps (NaN without samples)."""

    symbol: str
    signals: int
    focus_regime: str | None
    in_sample_edge_bps: float
    in_sample_samples: int
    oos_edge_bps: float
    oos_samples: int
    oos_all_edge_bps: float
    oos_all_samples: int
    oos_trade_pnl_bps: float
    oos_trades: int
    wf_edge_bps: float
    wf_samples: int
    wf_positive_folds: int
    wf_deciding_folds: int
    wf_trade_exit_ms: tuple[int, ...]
    wf_trade_pnl_bps: tuple[float, ...]


def grid_points(model: str, grid: Mapping[str, Sequence[Any]]) -> list[ModelPoint]:
    """Every combination of `grid`'s values, the last key varying fastest; a dotted key
    (`regime.trend_adx`) sets a nested parameter."""
    names = list(grid)
    points = []
    for values in itertools.product(*(grid[name] for name in names)):
        params: dict[str, Any] = {}
        for name, value in zip(names, values, strict=True):
            *parents, leaf = name.split(".")
            inner = params
            for part in parents:
                inner = inner.setdefault(part, {})
            inner[leaf] = value
        points.append(ModelPoint(model, params))
    return points


def load_assets(
    data_dir: Path,
    symbols: Sequence[str],
    timeframe: str,
    timeframe_ms: int,
    tick_sizes: Mapping[str, float] | None = None,
) -> dict[str, SweepAsset]:
    """Each symbol's CSV read and validated once (refused rows and bars are skipped)."""
    ticks = tick_sizes or {}
    assets = {}
    for symbol in symbols:
        validator = BarValidator(symbol, timeframe_ms)
        path = bars_path(data_dir, symbol, timeframe)
        bars = [
            bar
            for bar in read_bars(path, on_refusal=lambda _: None, symbol=symbol)
            if validator.check(bar) is None
        ]
        assets[symbol] = SweepAsset(
            symbol, timeframe_ms, ticks.get(symbol, DEFAULT_TICK_SIZE), bars
        )
    return assets


def score_point(asset: SweepAsset, point: ModelPoint, settings: ResearchSettings) -> PointScore:
    """The asset's bars through a fresh model of `point`, analysed as `chloe research` does."""
    chosen = plugin(point.model)
    if chosen.batch is not None:  # the same decisions, a whole series at once
        columns = chosen.decide_all(point.params, asset.bars)
        series = collect_columns(asset.bars, asset.symbol, asset.timeframe_ms, columns, point.model)
    else:
        new_model = functools.partial(chosen.create, point.params)
        series = collect_bars(asset.bars, asset.symbol, asset.timeframe_ms, new_model, point.model)
    if not series.bars:
        raise ValueError(f"{asset.symbol}: no accepted bar to score")
    return _score(analyse(series, settings, asset.tick_size))


def _score(result: AssetResult) -> PointScore:
    ins, oos = result.halves["in_sample"], result.halves["out_of_sample"]
    focus = result.selection.focus_regime
    nan = math.nan
    edge_in = ins.regimes[focus] if focus is not None else None
    edge_out = oos.regimes[focus] if focus is not None else None
    wf, trades = result.walk_forward, result.oos_trades
    return PointScore(
        symbol=result.symbol,
        signals=result.signals,
        focus_regime=None if focus is None else REGIMES[focus],
        in_sample_edge_bps=nan if edge_in is None else edge_in.mean,
        in_sample_samples=0 if edge_in is None else edge_in.samples,
        oos_edge_bps=nan if edge_out is None else edge_out.mean,
        oos_samples=0 if edge_out is None else edge_out.samples,
        oos_all_edge_bps=oos.overall.mean,
        oos_all_samples=oos.overall.samples,
        oos_trade_pnl_bps=oos.trades.overall.mean,
        oos_trades=oos.trades.overall.samples,
        wf_edge_bps=nan if wf is None else wf.pooled_regime.mean,
        wf_samples=0 if wf is None else wf.pooled_regime.samples,
        wf_positive_folds=0 if wf is None else wf.positive_folds,
        wf_deciding_folds=0 if wf is None else wf.deciding_folds,
        wf_trade_exit_ms=() if trades is None else tuple(trades.exit_ms.tolist()),
        wf_trade_pnl_bps=() if trades is None else tuple(trades.pnl_bps.tolist()),
    )


def check_points(points: Sequence[ModelPoint]) -> None:
    """ValueError naming the first point whose model is unknown or parameters are bad."""
    for index, point in enumerate(points):
        try:
            plugin(point.model).params.model_validate(dict(point.params))
        except (ValueError, ValidationError) as exc:
            raise ValueError(f"point {index} ({point.model} {dict(point.params)}): {exc}") from exc


def _ignore(_: TaskDone) -> None:
    return None


def score_grid(
    assets: Mapping[str, SweepAsset],
    points: Sequence[ModelPoint],
    settings: ResearchSettings,
    executor: Executor | None = None,
    on_done: OnDone = _ignore,
) -> dict[TaskKey, PointScore]:
    """Every asset scored at every point (points checked first), keyed and in task order."""
    check_points(points)
    return run_grid(
        functools.partial(score_point, settings=settings), assets, points, executor, on_done
    )
