"""Data snooping: is the best of K searched candidates better than nothing, once the search is
counted? White's Reality Check and Hansen's SPA (consistent), by the stationary bootstrap.

Input: a T x K matrix d of per-period excess performance (candidate k's return minus the
benchmark's, e.g. minus 0 for "no trade"); the null is max_k E[d_k] <= 0. All K columns are
resampled with the same stationary-bootstrap rows (Politis and Romano 1994), so the
candidates' dependence on each other is kept.

- **Reality Check** (White 2000, "A Reality Check for Data Snooping", Econometrica 68:1097-1126,
  sec. 2): V = max_k sqrt(T) dbar_k; V*_b = max_k sqrt(T) (dbar*_{b,k} - dbar_k);
  p = #{V*_b >= V} / B.
- **SPA** (Hansen 2005, "A Test for Superior Predictive Ability", JBES 23:365-380, eqs. 5-8):
  studentised, T_SPA = max(0, max_k sqrt(T) dbar_k / w_k), with w_k^2 the variance of
  sqrt(T) dbar_k under the stationary bootstrap in closed form (Hansen's kernel estimator,
  `bootstrap.stationary_mean_variance`: exact, so no resampling noise enters the
  studentisation); the consistent recentring
  mu^c_k = dbar_k * 1{dbar_k >= -sqrt(w_k^2 / T * 2 log log T)} recentres every candidate
  except the clearly bad ones, which keep their negative mean in the null so they cannot
  inflate the p-value;
  T*_b = max(0, max_k sqrt(T) (dbar*_{b,k} - mu^c_k) / w_k);
  p = #{T*_b >= T_SPA} / B.

The Reality Check is the SPA without studentisation and with every candidate kept in the null
(Hansen's "upper" version): conservative when the set holds poor or noisy candidates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine_alpha.research.bootstrap import (
    bootstrap_means,
    default_block_length,
    stationary_mean_variance,
)

__all__ = ["SnoopingResult", "reality_check_p", "snooping_tests", "spa_p"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SnoopingResult:
    """The best candidate (by mean) and the two p-values for "the best has no edge"."""

    best: int
    best_mean: float
    reality_check_p: float
    spa_p: float
    spa_statistic: float
    block_length: float
    replicates: int


def reality_check_p(means: FloatArray, boot_means: FloatArray, n_periods: int) -> float:
    """White's p-value from the K sample means and the B x K bootstrap means."""
    root = math.sqrt(n_periods)
    observed = root * float(np.max(means))
    null = root * np.max(boot_means - means, axis=1)
    return float(np.mean(null >= observed))


def spa_p(
    means: FloatArray, boot_means: FloatArray, n_periods: int, omega: FloatArray
) -> tuple[float, float]:
    """Hansen's consistent SPA p-value and statistic from the K means, the B x K bootstrap
    means and w_k, the standard deviation of sqrt(T) dbar_k. A candidate with no spread
    (w_k = 0) is left out of both maxima."""
    root = math.sqrt(n_periods)
    live = omega > 0.0
    if not live.any():
        return 1.0, 0.0
    means, boot_means, omega = means[live], boot_means[:, live], omega[live]
    statistic = max(0.0, float(np.max(root * means / omega)))
    threshold = -omega / root * math.sqrt(2.0 * math.log(math.log(n_periods)))
    recentred = np.where(means >= threshold, means, 0.0)
    null = np.maximum(0.0, np.max(root * (boot_means - recentred) / omega, axis=1))
    return float(np.mean(null >= statistic)), statistic


def snooping_tests(
    excess: FloatArray,
    *,
    rng: np.random.Generator,
    block: float | None = None,
    replicates: int = 1_000,
) -> SnoopingResult:
    """Both tests on a T x K excess-performance matrix (T >= 3, for log log T > 0), from one
    set of stationary-bootstrap resamples with mean block `block` (default round(T^(1/3)))."""
    d = np.asarray(excess, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] < 3 or d.shape[1] < 1:
        raise ValueError(f"need a T x K matrix with T >= 3 and K >= 1, got shape {d.shape}")
    n = d.shape[0]
    length = default_block_length(n) if block is None else block
    means = d.mean(axis=0)
    boot = bootstrap_means(d, rng=rng, block=length, replicates=replicates)
    omega = np.sqrt(np.maximum(stationary_mean_variance(d, length), 0.0))
    spa, statistic = spa_p(means, boot, n, omega)
    best = int(np.argmax(means))
    return SnoopingResult(
        best=best,
        best_mean=float(means[best]),
        reality_check_p=reality_check_p(means, boot, n),
        spa_p=spa,
        spa_statistic=statistic,
        block_length=length,
        replicates=replicates,
    )
