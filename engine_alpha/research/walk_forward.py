"""Walk-forward research: in each fold, choose on the train window and measure on the test window.

Each fold (`folds.walk_forward_folds`) picks the focus regime and the best cell from its train
samples alone, with the same rule as the single split (`analysis.select`: the best mean among
groups of at least `min_samples`), then measures those choices on its test window. The test
windows tile the tail without overlap, so the out-of-sample figure is pooled: every fold's test
samples of the group that fold chose. The edge holds when the pooled edge is positive and more
than half the folds that chose something measured a positive edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine_alpha.research.edge import Summary, best_key, group_summaries, summarize
from engine_alpha.research.folds import Fold, FoldScheme

__all__ = ["FoldResult", "WalkForward", "walk_forward"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class FoldResult:
    """One fold: its windows, every sample in its test window, and its train-window choices
    (None: no group had enough samples) with their edges in train and in test."""

    fold: Fold
    test_overall: Summary
    focus_regime: int | None
    regime_train: Summary | None
    regime_test: Summary | None
    best_cell: int | None
    cell_train: Summary | None
    cell_test: Summary | None


@dataclass(frozen=True, slots=True)
class WalkForward:
    """Every fold and the pooled out-of-sample edge of each fold's chosen regime and cell."""

    scheme: FoldScheme
    folds: list[FoldResult]
    pooled_regime: Summary
    pooled_cell: Summary

    @property
    def positive_folds(self) -> int:
        """Folds whose chosen regime had a positive edge in their test window."""
        return sum(1 for f in self.folds if f.regime_test is not None and f.regime_test.mean > 0.0)

    @property
    def deciding_folds(self) -> int:
        """Folds that chose a regime and had test samples of it."""
        return sum(1 for f in self.folds if f.regime_test is not None and f.regime_test.samples)

    @property
    def holds(self) -> bool:
        """Pooled out-of-sample edge > 0 and positive in more than half the deciding folds."""
        return (
            self.pooled_regime.samples > 0
            and self.pooled_regime.mean > 0.0
            and 2 * self.positive_folds > self.deciding_folds
        )


def walk_forward(
    folds: list[Fold],
    scheme: FoldScheme,
    *,
    start_ts: IntArray,
    end_ts: IntArray,
    regime: IntArray,
    cell: IntArray,
    values: FloatArray,
    n_regimes: int,
    n_cells: int,
    min_samples: int,
) -> WalkForward:
    """The folds' choices and test edges from samples spanning bar times [start, end]."""
    results = []
    pooled_regime: list[FloatArray] = []
    pooled_cell: list[FloatArray] = []
    for fold in folds:
        train, test = fold.masks(start_ts, end_ts)
        regimes = group_summaries(regime[train], values[train], n_regimes)
        cells = group_summaries(cell[train], values[train], n_cells)
        focus = best_key(regimes, min_samples)
        best = best_key(cells, min_samples)
        regime_test = cell_test = None
        if focus is not None:
            chosen = values[test & (regime == focus)]
            pooled_regime.append(chosen)
            regime_test = summarize(chosen)
        if best is not None:
            chosen = values[test & (cell == best)]
            pooled_cell.append(chosen)
            cell_test = summarize(chosen)
        results.append(
            FoldResult(
                fold=fold,
                test_overall=summarize(values[test]),
                focus_regime=focus,
                regime_train=None if focus is None else regimes[focus],
                regime_test=regime_test,
                best_cell=best,
                cell_train=None if best is None else cells[best],
                cell_test=cell_test,
            )
        )
    return WalkForward(scheme, results, _pool(pooled_regime), _pool(pooled_cell))


def _pool(parts: list[FloatArray]) -> Summary:
    return summarize(np.concatenate(parts) if parts else np.zeros(0))
