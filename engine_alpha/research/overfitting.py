"""The Probability of Backtest Overfitting by combinatorially symmetric cross-validation (CSCV).

Bailey, Borwein, Lopez de Prado and Zhu (2017, online 2015), "The Probability of Backtest
Overfitting", Journal of Computational Finance 20(4):39-69, sec. 2.2, steps 1-6:

1. M is a T x N matrix: the per-period performance (e.g. returns) of N configurations tried.
2. Its rows are cut into S contiguous submatrices M_s of (nearly) equal length, S even.
3. Every one of the C(S, S/2) ways to choose S/2 of them is a train set J (rows in time order);
   the other S/2 are its test set.
4. On J the configuration n* with the best performance statistic R is chosen; on the test set,
   its relative rank w = rank(R_test[n*]) / (N + 1), rank 1 the worst of the N.
5. The logit lambda = ln(w / (1 - w)): above 0 when the in-sample choice beats the median out
   of sample.
6. PBO = the share of combinations with lambda <= 0: how often the best in sample is at best
   median out of sample. Near 0 for a real, stable edge; near 1/2 or above for selection on
   noise (a best-on-noise choice is a random draw out of sample).

The performance statistic is the Sharpe ratio (mean / standard deviation), as in the paper, or
the mean (the Sharpe ratio of a column without spread counts as 0). Ties in the test ranks
share their average rank; a tie in sample goes to the first column.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["PboResult", "probability_of_backtest_overfitting"]

FloatArray = npt.NDArray[np.float64]
Metric = Literal["sharpe", "mean"]


@dataclass(frozen=True, slots=True)
class PboResult:
    """PBO, every combination's logit, and the in-sample choice of each combination."""

    pbo: float
    logits: tuple[float, ...]
    chosen: tuple[int, ...]
    n_splits: int

    @property
    def n_combinations(self) -> int:
        return len(self.logits)


def probability_of_backtest_overfitting(
    performance: FloatArray, n_splits: int = 16, metric: Metric = "sharpe"
) -> PboResult:
    """PBO of choosing the best of the N columns of a T x N performance matrix, by CSCV with
    `n_splits` (S, even) contiguous row blocks; C(16, 8) = 12,870 combinations by default."""
    m = np.asarray(performance, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError(f"need a T x N matrix with N >= 2 configurations, got {m.shape}")
    if n_splits < 2 or n_splits % 2:
        raise ValueError(f"the number of splits is even and at least 2, got {n_splits}")
    if m.shape[0] < n_splits:
        raise ValueError(f"{m.shape[0]} periods are too few for {n_splits} splits")
    train = np.array(
        [
            [s in chosen for s in range(n_splits)]
            for chosen in itertools.combinations(range(n_splits), n_splits // 2)
        ]
    )
    in_sample, out_sample = _scores(m, n_splits, train, metric)
    rows = np.arange(len(train))
    best = np.argmax(in_sample, axis=1)
    at_best = out_sample[rows, best][:, None]
    below = np.count_nonzero(out_sample < at_best, axis=1)
    tied = np.count_nonzero(out_sample == at_best, axis=1)
    w = (below + (tied + 1) / 2.0) / (m.shape[1] + 1)
    logits = [math.log(v / (1.0 - v)) for v in w.tolist()]
    chosen = [int(b) for b in best]
    pbo = sum(1 for lam in logits if lam <= 0.0) / len(logits)
    return PboResult(pbo, tuple(logits), tuple(chosen), n_splits)


def _scores(
    m: FloatArray, n_splits: int, train: npt.NDArray[np.bool_], metric: Metric
) -> tuple[FloatArray, FloatArray]:
    """The statistic of every column on every train set and its test set (C x N each), from
    per-block counts, sums and sums of squares: one matrix product per half."""
    shift = m.mean(axis=0)  # sums of squares about it lose less precision; added back below
    centred = m - shift
    blocks = np.array_split(np.arange(m.shape[0]), n_splits)
    count = np.array([len(b) for b in blocks], dtype=np.float64)
    total = np.array([centred[b].sum(axis=0) for b in blocks])
    squares = np.array([(centred[b] ** 2).sum(axis=0) for b in blocks])
    halves = []
    for member in (train, ~train):
        pick = member.astype(np.float64)
        n = (pick @ count)[:, None]
        offset = pick @ total / n
        mean = offset + shift
        if metric == "mean":
            halves.append(mean)
            continue
        variance = np.maximum(pick @ squares - n * offset**2, 0.0) / np.maximum(n - 1.0, 1.0)
        sd = np.sqrt(variance)
        with np.errstate(divide="ignore", invalid="ignore"):
            halves.append(np.where(sd > 1e-12 * (1.0 + np.abs(mean)), mean / sd, 0.0))
    return halves[0], halves[1]
