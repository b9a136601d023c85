"""Block bootstraps of a mean for dependent samples: stationary and circular, seeded, pure numpy.

Samples in time are not independent (overlapping forward windows, volatility clusters), so
resampling single points understates the spread of a mean. A block bootstrap resamples runs
of consecutive samples instead, keeping the dependence inside each run:

- **stationary** (Politis and Romano 1994, "The Stationary Bootstrap", JASA 89:1303-1313):
  blocks of random length, geometric with mean `block` (a new block starts with probability
  1/block at each step), each starting at a uniform position, wrapped around the end;
- **circular** (Politis and Romano 1992, "A Circular Block-Resampling Procedure for Stationary
  Data"): blocks of exactly `block` samples at uniform starts, wrapped around the end, joined
  and cut to n.

Both keep the bootstrap mean unbiased (E*[mean*] = mean) because every position is equally
likely on the circle. The default block length is round(n^(1/3)): the order n^(1/3) is the
rate that minimises the error of block-bootstrap variance estimates (Hall, Horowitz and Jing
1995, "On blocking rules for the bootstrap with dependent data", Biometrika 82:561-574); the
constant 1 is a plain choice, not a data-driven one, so a caller who knows the dependence
length (e.g. the forward-return horizon) should pass a block at least that long.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "BlockScheme",
    "BootstrapInterval",
    "bootstrap_means",
    "circular_indices",
    "default_block_length",
    "mean_interval",
    "mean_p_value",
    "resample_indices",
    "stationary_indices",
    "stationary_mean_variance",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BlockScheme = Literal["stationary", "circular"]

# Resampled values held at once while averaging (about 32 MB of float64): memory stays flat
# whatever the number of replicates.
_CHUNK_VALUES = 4_000_000
# Samples that are mostly zero (signals on a per-bar grid) are averaged as draw counts times
# their nonzero rows: the same sums as gathering every drawn row, at a fraction of the cost.
_SPARSE_RATIO = 4


def default_block_length(n: int) -> int:
    """round(n^(1/3)), at least 1: the rate of Hall, Horowitz and Jing (1995)."""
    if n < 1:
        raise ValueError(f"a bootstrap needs at least one sample, got {n}")
    root: float = n ** (1.0 / 3.0)
    return max(1, round(root))


def stationary_indices(
    n: int, mean_block: float, rng: np.random.Generator, replicates: int
) -> IntArray:
    """`replicates` rows of n positions in [0, n): Politis and Romano's stationary bootstrap.

    Row by row: position 0 is uniform; each next position is a fresh uniform start with
    probability 1/mean_block, else the previous position plus one (mod n)."""
    _check(n, replicates)
    if mean_block < 1.0:
        raise ValueError(f"a mean block length is at least 1, got {mean_block}")
    steps = np.arange(n, dtype=np.int64)
    fresh = rng.random((replicates, n)) < 1.0 / mean_block
    fresh[:, 0] = True
    starts = rng.integers(0, n, size=(replicates, n), dtype=np.int64)
    # The step at which the current block began, then its start position plus the offset.
    began = np.maximum.accumulate(np.where(fresh, steps, 0), axis=1)
    first = np.take_along_axis(starts, began, axis=1)
    out: IntArray = (first + (steps - began)) % n
    return out


def circular_indices(n: int, block: int, rng: np.random.Generator, replicates: int) -> IntArray:
    """`replicates` rows of n positions in [0, n): circular blocks of exactly `block` samples."""
    _check(n, replicates)
    if block < 1:
        raise ValueError(f"a block length is at least 1, got {block}")
    n_blocks = -(-n // block)
    starts = rng.integers(0, n, size=(replicates, n_blocks), dtype=np.int64)
    offsets = np.arange(block, dtype=np.int64)
    out: IntArray = ((starts[:, :, None] + offsets) % n).reshape(replicates, -1)[:, :n]
    return out


def stationary_mean_variance(values: FloatArray, mean_block: float) -> FloatArray:
    """The exact variance of sqrt(n) * mean* under the stationary bootstrap, per column, in
    closed form (no resampling): c(0) + 2 sum_{i=1}^{n-1} (1 - i/n) (1-p)^i c(i), with p =
    1/mean_block and c(i) the circular autocovariance at lag i (Politis and Romano 1994,
    Lemma 1; the same weights written with ordinary autocovariances are Hansen's 2005 kernel
    k(n, i) = (1 - i/n)(1-p)^i + (i/n)(1-p)^(n-i))."""
    x = np.asarray(values, dtype=np.float64)
    n = x.shape[0]
    centred = x - x.mean(axis=0)
    spectrum = np.fft.rfft(centred, axis=0)
    autocov = np.fft.irfft(spectrum * np.conj(spectrum), n=n, axis=0) / n
    lags = np.arange(n, dtype=np.float64)
    weights = 2.0 * (1.0 - lags / n) * (1.0 - 1.0 / mean_block) ** lags
    weights[0] = 1.0
    out: FloatArray = np.tensordot(weights, autocov, axes=(0, 0))
    return out


def resample_indices(
    n: int, block: float, rng: np.random.Generator, replicates: int, scheme: BlockScheme
) -> IntArray:
    """Positions of one scheme: `block` is the mean (stationary) or exact (circular) length."""
    if scheme == "stationary":
        return stationary_indices(n, block, rng, replicates)
    return circular_indices(n, round(block), rng, replicates)


def bootstrap_means(
    values: FloatArray,
    *,
    rng: np.random.Generator,
    block: float | None = None,
    replicates: int = 2_000,
    scheme: BlockScheme = "stationary",
) -> FloatArray:
    """The mean of each of `replicates` block resamples of the rows of `values`.

    `values` is (n,) -> result (replicates,), or (n, k) -> (replicates, k): the k columns are
    resampled with the same rows, so their dependence on each other is kept (what the
    Reality Check and SPA need)."""
    x = np.asarray(values, dtype=np.float64)
    n = x.shape[0]
    length = default_block_length(n) if block is None else block
    out = np.empty((replicates, *x.shape[1:]))
    columns = int(np.prod(x.shape[1:], dtype=np.int64))
    flat = x.reshape(n, columns)
    rows = np.flatnonzero(np.any(flat != 0.0, axis=1))
    sparse = len(rows) * _SPARSE_RATIO < n
    for lo, hi in _chunks(replicates, n * (1 if sparse else columns)):
        idx = resample_indices(n, length, rng, hi - lo, scheme)
        if sparse:
            out[lo:hi] = (_draw_counts(idx, n)[:, rows] @ flat[rows]).reshape(
                hi - lo, *x.shape[1:]
            ) / n
        else:
            out[lo:hi] = x[idx].mean(axis=1)
    return out


def _draw_counts(idx: IntArray, n: int) -> FloatArray:
    """How often each of the n rows was drawn, per replicate (rows of `idx`)."""
    replicates = idx.shape[0]
    offsets = (np.arange(replicates, dtype=np.int64) * n)[:, None]
    counts = np.bincount((idx + offsets).ravel(), minlength=replicates * n)
    out: FloatArray = counts.reshape(replicates, n).astype(np.float64)
    return out


@dataclass(frozen=True, slots=True)
class BootstrapInterval:
    """A sample mean with its percentile interval, and how it was resampled."""

    mean: float
    low: float
    high: float
    confidence: float
    block_length: float
    replicates: int
    scheme: BlockScheme


def mean_interval(
    values: FloatArray,
    *,
    rng: np.random.Generator,
    block: float | None = None,
    replicates: int = 2_000,
    confidence: float = 0.95,
    scheme: BlockScheme = "stationary",
) -> BootstrapInterval:
    """The percentile interval of the mean (Efron and Tibshirani 1993, ch. 13): the
    (1-c)/2 and (1+c)/2 quantiles of the bootstrap means."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"a confidence is in (0, 1), got {confidence}")
    x = np.asarray(values, dtype=np.float64)
    length = default_block_length(len(x)) if block is None else block
    means = bootstrap_means(x, rng=rng, block=length, replicates=replicates, scheme=scheme)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return BootstrapInterval(
        float(x.mean()), float(low), float(high), confidence, length, replicates, scheme
    )


def mean_p_value(
    values: FloatArray,
    *,
    rng: np.random.Generator,
    block: float | None = None,
    replicates: int = 2_000,
    alternative: Literal["greater", "less", "two-sided"] = "greater",
    scheme: BlockScheme = "stationary",
) -> float:
    """Bootstrap p-value of the null "the mean is 0" against `alternative`.

    The bootstrap means are recentred on the null (m* - m, Davison and Hinkley 1997, "Bootstrap
    Methods and their Application", sec. 4.4), and the p-value counts those at least as extreme
    as the sample mean m, with the observed sample counted once: (1 + #) / (1 + B), which is
    never 0 and keeps the test's size at most its level."""
    x = np.asarray(values, dtype=np.float64)
    m = float(x.mean())
    centred = bootstrap_means(x, rng=rng, block=block, replicates=replicates, scheme=scheme) - m
    if alternative == "greater":
        extreme = centred >= m
    elif alternative == "less":
        extreme = centred <= m
    else:
        extreme = np.abs(centred) >= abs(m)
    return (1.0 + float(np.count_nonzero(extreme))) / (1.0 + replicates)


def _check(n: int, replicates: int) -> None:
    if n < 1:
        raise ValueError(f"a bootstrap needs at least one sample, got {n}")
    if replicates < 1:
        raise ValueError(f"a bootstrap needs at least one replicate, got {replicates}")


def _chunks(replicates: int, values_per_replicate: int) -> Iterator[tuple[int, int]]:
    step = max(1, _CHUNK_VALUES // max(1, values_per_replicate))
    for lo in range(0, replicates, step):
        yield lo, min(replicates, lo + step)
