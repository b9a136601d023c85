"""Significance that respects time and the search: block-bootstrap intervals and p-values per
group, Benjamini-Yekutieli q-values over the cells searched, and the data-snooping tests
(Reality Check, SPA) of the choices made in sample.

Samples live on the bar grid: at most one signal per bar, so a half of T bars is a T x K matrix
whose column k holds the net return of each signal of group k at its bar and 0 elsewhere, with
a matching 0/1 matrix of which bars hold one. Resampling whole rows (bars) in stationary blocks
keeps what the forward windows share (a 4-bar window overlaps the next three) and the
volatility clusters; a group's bootstrap mean is its resampled sum over its resampled count.

- **Interval**: the percentile interval of that ratio (Efron and Tibshirani 1993, ch. 13).
- **p-value** of "the group's mean is <= 0": the per-bar mean of column k has the sign of the
  group's mean, and sqrt(T) times it has the stationary bootstrap's variance in closed form
  (`bootstrap.stationary_mean_variance`); p = 1 - Phi(sqrt(T) mean / w). A counted bootstrap
  p-value cannot go below 1/(B+1), which no cell could then pass after the BY correction of
  40 tests; the closed-form variance is the bootstrap's own, without its resampling noise.
- **q-values**: Benjamini-Yekutieli over the cells that could be chosen (at least
  `min_samples` in-sample samples): valid under any dependence between cells.
- **Search**: the focus regime, the best bucket and the best cell are each the best of a set
  of candidates; `snooping.spa_p` and `reality_check_p` test "no candidate of that set has an
  edge" from the same bootstrap rows (skipped, p = 1, when no candidate's mean is positive).

Every draw comes from one generator seeded by (seed, symbol), so a run is reproducible and an
asset's figures do not depend on which other assets were researched.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine_alpha.research.bootstrap import (
    bootstrap_means,
    default_block_length,
    stationary_mean_variance,
)
from engine_alpha.research.multiple_testing import by_q_values
from engine_alpha.research.snooping import reality_check_p, spa_p

__all__ = [
    "MIN_TESTED",
    "GroupTest",
    "HalfTests",
    "SearchTest",
    "asset_rng",
    "block_length",
    "group_tests",
    "on_bar_grid",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Fewer samples than this get no interval or p-value: resampling a handful of values gives an
# interval far narrower than the truth (every resample is made of the same few numbers).
MIN_TESTED = 10


@dataclass(frozen=True, slots=True)
class GroupTest:
    """A group's block-bootstrap 95% interval of its mean and the p-value of "mean <= 0"
    (groups of at least MIN_TESTED samples)."""

    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True, slots=True)
class SearchTest:
    """The data-snooping test of one choice: the best of `candidates` groups."""

    candidates: int
    spa_p: float
    reality_check_p: float | None  # None when skipped (no candidate with a positive mean)


@dataclass(frozen=True, slots=True)
class HalfTests:
    """One half's tests: per regime, per cell (None: fewer than MIN_TESTED samples), the
    cells' q-values (NaN: not a candidate) and the bootstrap means, kept for the search tests."""

    block_length: float
    regimes: list[GroupTest | None]
    cells: list[GroupTest | None]
    cell_q: FloatArray
    column_means: FloatArray  # per-bar means of the regime columns, then the cell columns
    boot_means: FloatArray  # replicates x the same columns
    omega: FloatArray  # sqrt of the closed-form bootstrap variance of sqrt(T) x each mean
    bars: int

    def search(self, columns: list[int], eligible: list[bool]) -> SearchTest:
        """SPA and Reality Check of the best of the eligible `columns` (indices into the
        regime columns, then the cell columns: regime r is r, cell c is n_regimes + c)."""
        chosen = [c for c, ok in zip(columns, eligible, strict=True) if ok]
        if not chosen or self.bars < 3 or float(np.max(self.column_means[chosen])) <= 0.0:
            return SearchTest(len(chosen), 1.0, None)
        means, boot = self.column_means[chosen], self.boot_means[:, chosen]
        p, _ = spa_p(means, boot, self.bars, self.omega[chosen])
        return SearchTest(len(chosen), p, reality_check_p(means, boot, self.bars))


def asset_rng(seed: int, symbol: str) -> np.random.Generator:
    """The generator of one asset's bootstrap: from the run's seed and the symbol only."""
    return np.random.default_rng([seed, zlib.crc32(symbol.encode())])


def block_length(bars: int, horizon_bars: int) -> float:
    """The mean block length: round(T^(1/3)), and at least the forward window's length."""
    return float(max(horizon_bars, default_block_length(bars)))


def on_bar_grid(
    rows: IntArray, keys: IntArray, values: FloatArray, bars: int, n_keys: int
) -> tuple[FloatArray, FloatArray]:
    """(values, presence), each bars x n_keys: sample i at row rows[i], column keys[i]."""
    if len(np.unique(rows)) != len(rows):
        raise ValueError("two samples on one bar: the grid holds one signal per bar")
    x = np.zeros((bars, n_keys))
    present = np.zeros((bars, n_keys))
    x[rows, keys] = values
    present[rows, keys] = 1.0
    return x, present


def group_tests(
    rows: IntArray,
    regime: IntArray,
    cell: IntArray,
    values: FloatArray,
    *,
    bars: int,
    n_regimes: int,
    n_cells: int,
    min_samples: int,
    rng: np.random.Generator,
    block: float,
    replicates: int,
) -> HalfTests:
    """Every regime's and cell's test in one half from one set of bootstrap rows (none when
    the half has fewer than 3 bars)."""
    if bars < 3:
        k = n_regimes + n_cells
        return HalfTests(
            block, [None] * n_regimes, [None] * n_cells, np.full(n_cells, np.nan),
            np.zeros(k), np.zeros((0, k)), np.zeros(k), bars,
        )  # fmt: skip
    xr, pr = on_bar_grid(rows, regime, values, bars, n_regimes)
    xc, pc = on_bar_grid(rows, cell, values, bars, n_cells)
    x = np.hstack([xr, xc])
    counts = np.hstack([pr, pc]).sum(axis=0)
    boot = bootstrap_means(np.hstack([x, pr, pc]), rng=rng, block=block, replicates=replicates)
    k = x.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = boot[:, :k] / boot[:, k:]
    means = x.mean(axis=0)
    omega = np.sqrt(np.maximum(stationary_mean_variance(x, block), 0.0))
    tests: list[GroupTest | None] = []
    for j in range(k):
        if counts[j] < MIN_TESTED:
            tests.append(None)
            continue
        drawn = ratio[:, j][~np.isnan(ratio[:, j])]
        low, high = np.quantile(drawn, [0.025, 0.975]) if len(drawn) else (math.nan, math.nan)
        tests.append(GroupTest(float(low), float(high), _p_greater(means[j], omega[j], bars)))
    p = np.array(
        [
            t.p_value
            if t is not None and counts[n_regimes + c] >= max(min_samples, MIN_TESTED)
            else math.nan
            for c, t in enumerate(tests[n_regimes:])
        ]
    )
    return HalfTests(
        block_length=block,
        regimes=tests[:n_regimes],
        cells=tests[n_regimes:],
        cell_q=by_q_values(p),
        column_means=means,
        boot_means=boot[:, :k],
        omega=omega,
        bars=bars,
    )


def _p_greater(mean: float, omega: float, bars: int) -> float:
    """One-sided p of "mean <= 0" from the normal limit with the bootstrap's own variance."""
    if omega <= 0.0:
        return 1.0 if mean <= 0.0 else 0.0
    z = math.sqrt(bars) * mean / omega
    return 0.5 * math.erfc(z / math.sqrt(2.0))
