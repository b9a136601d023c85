"""A parameter sweep judged as a search: every point scored walk-forward over every asset, the
best point's out-of-sample figures, the Probability of Backtest Overfitting of the search and
the Deflated Sharpe Ratio of the best point's trades.

- **A point's score** is its pooled walk-forward out-of-sample edge over the assets: every
  fold's test samples of the regime that fold chose in its train window (`walk_forward.py`),
  pooled over assets (a sample-weighted mean). The best point is the one with the highest
  score among points with at least `min_samples` pooled samples.
- **PBO** (`overfitting.py`, CSCV with 16 blocks): the performance matrix is, per UTC day of
  the walk-forward's test span (rows) and point (columns), the sum of net bps of that point's
  out-of-sample trades exiting that day, over all assets (0 on a day without a trade): how
  often the point best on half the days is at best median on the other half.
- **DSR** (`sharpe.py`): the per-trade Sharpe ratio of the best point's out-of-sample trades
  against the expected maximum of as many skill-less trials as points were tried, with the
  variance of the points' per-trade Sharpe ratios and the best trades' skewness and kurtosis.
  A DSR above 0.95 says the best point's trades beat what the search alone would produce.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from engine_alpha.core.units import DAY_MS
from engine_alpha.research.executor_tasks import TaskKey
from engine_alpha.research.overfitting import PboResult, probability_of_backtest_overfitting
from engine_alpha.research.sharpe import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    kurtosis,
    sharpe_ratio,
    skewness,
)
from engine_alpha.research.sweep_points import ModelPoint, PointScore

__all__ = ["PBO_SPLITS", "GridError", "PointSummary", "SweepSummary", "load_grid", "summarise"]

FloatArray = npt.NDArray[np.float64]
PBO_SPLITS = 16


class GridError(ValueError):
    """A grid file that cannot be swept; the message names the file and what is wrong."""


def load_grid(path: Path) -> dict[str, list[Any]]:
    """A JSON object of parameter name (dotted for nested ones) to a non-empty list of values."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise GridError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise GridError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise GridError(f"{path}: a grid is a JSON object of parameter -> [values, ...]")
    for name, values in data.items():
        if not isinstance(values, list) or not values:
            raise GridError(f"{path}: {name}: a grid lists one or more values, got {values!r}")
    return data


@dataclass(frozen=True, slots=True)
class PointSummary:
    """One point over every asset: its pooled walk-forward out-of-sample edge and trades."""

    index: int
    params: Mapping[str, Any]
    edge_bps: float
    samples: int
    positive_assets: int
    assets: int
    trades: int
    trade_mean_bps: float
    trade_sharpe: float


@dataclass(frozen=True, slots=True)
class SweepSummary:
    """Every point's summary, the best point, and the search's PBO and the best's DSR."""

    points: list[PointSummary]
    best: int | None
    pbo: PboResult | None
    pbo_days: int
    dsr: float | None
    expected_max_sharpe: float | None
    sharpe_variance: float | None


def summarise(
    points: Sequence[ModelPoint],
    scores: Mapping[TaskKey, PointScore],
    symbols: Sequence[str],
    min_samples: int,
) -> SweepSummary:
    """The sweep's verdict from every (asset, point) score."""
    summaries = [
        _point(i, p, [scores[TaskKey(s, i)] for s in symbols]) for i, p in enumerate(points)
    ]
    eligible = [s for s in summaries if s.samples >= min_samples and not math.isnan(s.edge_bps)]
    best = max(eligible, key=lambda s: s.edge_bps).index if eligible else None
    matrix = _daily(scores, len(points), symbols)
    pbo = None
    if len(points) >= 2 and matrix.shape[0] >= PBO_SPLITS:
        pbo = probability_of_backtest_overfitting(matrix, PBO_SPLITS)
    dsr = sr0 = variance = None
    sharpes = [s.trade_sharpe for s in summaries if not math.isnan(s.trade_sharpe)]
    if best is not None and len(sharpes) >= 2:
        pnl = np.array([v for s in symbols for v in scores[TaskKey(s, best)].wf_trade_pnl_bps])
        chosen = summaries[best].trade_sharpe
        if len(pnl) >= 3 and not math.isnan(chosen):
            variance = float(np.var(sharpes, ddof=1))
            sr0 = expected_max_sharpe(len(points), variance)
            dsr = deflated_sharpe_ratio(
                chosen, len(pnl), len(points), variance, skew=skewness(pnl), kurt=kurtosis(pnl)
            )
    return SweepSummary(summaries, best, pbo, matrix.shape[0], dsr, sr0, variance)


def _point(index: int, point: ModelPoint, scores: list[PointScore]) -> PointSummary:
    samples = sum(s.wf_samples for s in scores)
    total = sum(s.wf_edge_bps * s.wf_samples for s in scores if s.wf_samples)
    pnl = np.array([v for s in scores for v in s.wf_trade_pnl_bps])
    return PointSummary(
        index=index,
        params=point.params,
        edge_bps=total / samples if samples else math.nan,
        samples=samples,
        positive_assets=sum(1 for s in scores if s.wf_samples and s.wf_edge_bps > 0.0),
        assets=len(scores),
        trades=len(pnl),
        trade_mean_bps=float(pnl.mean()) if len(pnl) else math.nan,
        trade_sharpe=sharpe_ratio(pnl) if len(pnl) >= 2 else math.nan,
    )


def _daily(
    scores: Mapping[TaskKey, PointScore], n_points: int, symbols: Sequence[str]
) -> FloatArray:
    """Days x points: the sum of net bps of each point's out-of-sample trades exiting that day."""
    days = [t // DAY_MS for s in scores.values() if s.symbol in symbols for t in s.wf_trade_exit_ms]
    if not days:
        return np.zeros((0, n_points))
    first, last = min(days), max(days)
    matrix = np.zeros((last - first + 1, n_points))
    for key, score in scores.items():
        if key.asset in symbols and score.wf_trade_exit_ms:
            rows = np.array(score.wf_trade_exit_ms, dtype=np.int64) // DAY_MS - first
            np.add.at(matrix[:, key.point], rows, np.array(score.wf_trade_pnl_bps))
    return matrix
