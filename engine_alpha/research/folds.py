"""Walk-forward folds: anchored or rolling train windows, each followed by a test window.

The span of bar slots [first, last] is cut into N + 1 segments of (nearly) equal length on the
bar grid, counting slots as `split.Split` does, so a gap in the data does not move a boundary.
Fold k (0-based) tests on segment k + 1 and trains on what precedes it:

- **anchored**: from the first bar up to the test window (the train window grows);
- **rolling**: the one segment before the test window (a fixed length, the first fold's).

The test windows tile the last N segments: they never overlap and their union is everything
after the first segment (the pooled out-of-sample). Every boundary is a UTC bar time in ms.
A sample spans bar times [start, end] (a signal and its exit): it belongs to a window only if
it lies wholly inside, so no train sample ends at or after its test window begins (no
look-ahead), and a sample straddling a boundary is in neither.

The scheme is the one of Pardo (2008), "The Evaluation and Optimization of Trading
Strategies", ch. 11 (walk-forward analysis), on a fixed grid of equal segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from engine_alpha.core.formatting import fmt_iso_utc

__all__ = ["Fold", "FoldScheme", "walk_forward_folds"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FoldScheme = Literal["anchored", "rolling"]


@dataclass(frozen=True, slots=True)
class Fold:
    """One fold: bar-time windows [train_start, test_start) and [test_start, test_end), in UTC
    ms, and the positions of their bars in the bar-time array the folds were cut from."""

    index: int
    train_start_ms: int
    test_start_ms: int
    test_end_ms: int
    train_rows: tuple[int, int]
    test_rows: tuple[int, int]

    def masks(
        self, start_ts: npt.NDArray[np.int64], end_ts: npt.NDArray[np.int64]
    ) -> tuple[BoolArray, BoolArray]:
        """(train, test) masks of samples spanning bar times [start, end]: inside a window
        wholly, or not at all."""
        train = (start_ts >= self.train_start_ms) & (end_ts < self.test_start_ms)
        test = (start_ts >= self.test_start_ms) & (end_ts < self.test_end_ms)
        return train, test

    def describe(self) -> dict[str, int | str]:
        """The fold's windows as UTC times (the end times exclusive), for reports."""
        return {
            "fold": self.index,
            "train_start": fmt_iso_utc(self.train_start_ms),
            "test_start": fmt_iso_utc(self.test_start_ms),
            "test_end": fmt_iso_utc(self.test_end_ms),
            "train_bars": self.train_rows[1] - self.train_rows[0],
            "test_bars": self.test_rows[1] - self.test_rows[0],
        }


def walk_forward_folds(
    bar_ts_ms: IntArray, timeframe_ms: int, n_folds: int, scheme: FoldScheme = "anchored"
) -> list[Fold]:
    """`n_folds` folds over sorted bar times on a `timeframe_ms` grid (see the module doc).
    A window without a bar (too many folds for the data, or a gap) is refused."""
    ts = np.asarray(bar_ts_ms, dtype=np.int64)
    if n_folds < 1:
        raise ValueError(f"walk-forward needs at least 1 fold, got {n_folds}")
    if len(ts) == 0 or np.any(np.diff(ts) <= 0):
        raise ValueError("walk-forward needs bar times, strictly increasing")
    first = int(ts[0])
    slots = (int(ts[-1]) - first) // timeframe_ms + 1
    edges = [first + (j * slots // (n_folds + 1)) * timeframe_ms for j in range(n_folds + 2)]
    train_ms = edges[1] - edges[0]
    folds = []
    for k in range(n_folds):
        test_start, test_end = edges[k + 1], edges[k + 2]
        train_start = first if scheme == "anchored" else test_start - train_ms
        rows = np.searchsorted(ts, [train_start, test_start, test_end]).tolist()
        fold = Fold(k, train_start, test_start, test_end, (rows[0], rows[1]), (rows[1], rows[2]))
        if rows[0] == rows[1] or rows[1] == rows[2]:
            window = fold.describe()
            raise ValueError(f"walk-forward fold {k} has a window without bars: {window}")
        folds.append(fold)
    return folds
