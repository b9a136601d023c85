"""Edge math, pure numpy: forward returns, and per-group means with Student t 95% intervals.

Groups are small integer keys (regime, `regime|bucket` cell): one `np.bincount` pass does a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine_alpha.config.models import REGIMES
from engine_alpha.core.units import BPS

__all__ = [
    "BPS",
    "NO_REGIME",
    "N_BUCKETS",
    "N_CELLS",
    "Summary",
    "best_key",
    "cell_key",
    "cell_name",
    "forward_returns_bps",
    "group_summaries",
    "round_trip_cost_bps",
    "summarize",
    "t_critical_975",
]

N_BUCKETS = 10
N_CELLS = len(REGIMES) * N_BUCKETS
NO_REGIME = -1

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Two-sided 95% critical values of Student's t for 1..30 degrees of freedom.
_T975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
)  # fmt: skip
_Z975 = 1.959963984540054


def round_trip_cost_bps(fee_bps: float, slippage_bps: float) -> float:
    """What a round trip costs: a fee and a slippage on entry and on exit (24 bps by default)."""
    return 2.0 * fee_bps + 2.0 * slippage_bps


def t_critical_975(df: int) -> float:
    """Two-sided 95% critical value of Student's t: a table to 30 df, then Cornish-Fisher."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z, v = _Z975, float(df)
    z3, z5, z7, z9 = z**3, z**5, z**7, z**9
    return (
        z
        + (z3 + z) / (4 * v)
        + (5 * z5 + 16 * z3 + 3 * z) / (96 * v**2)
        + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v**3)
        + (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / (92160 * v**4)
    )


def forward_returns_bps(
    open_: FloatArray, close: FloatArray, signal_idx: IntArray, sign: FloatArray, horizon: int
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Signed gross bps from open[i+1] to close[i+horizon] per signal i (held `horizon` bars),
    and the mask of signals with a full window (the others get NaN)."""
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1 bar, got {horizon}")
    exit_idx = signal_idx + horizon
    valid = exit_idx < len(close)
    out = np.full(len(signal_idx), np.nan)
    i = signal_idx[valid]
    out[valid] = sign[valid] * (close[i + horizon] / open_[i + 1] - 1.0) * BPS
    return out, valid


def cell_key(regime_code: int, bucket: int) -> int:
    """The integer key of a `regime|bucket` cell."""
    return regime_code * N_BUCKETS + bucket


def cell_name(key: int) -> str:
    """`regime|bucket` of a cell key, e.g. `high_vol|8`."""
    return f"{REGIMES[key // N_BUCKETS]}|{key % N_BUCKETS}"


@dataclass(frozen=True, slots=True)
class Summary:
    """A group: count, mean (the edge), share above zero, 95% t interval of the mean.

    NaN where undefined: everything but `samples` with no sample, the interval with one."""

    samples: int
    mean: float
    hit_rate: float
    ci_low: float
    ci_high: float

    def shifted(self, offset: float) -> Summary:
        """The same group with every value moved by `offset` (e.g. net to gross)."""
        return Summary(
            self.samples,
            self.mean + offset,
            math.nan,
            self.ci_low + offset,
            self.ci_high + offset,
        )


def summarize(values: FloatArray) -> Summary:
    """One group's summary."""
    return group_summaries(np.zeros(len(values), dtype=np.int64), values, 1)[0]


def group_summaries(keys: IntArray, values: FloatArray, n_keys: int) -> list[Summary]:
    """The summary of every key in range(n_keys), from samples `values` grouped by `keys`."""
    n = np.bincount(keys, minlength=n_keys).astype(np.float64)
    total = np.bincount(keys, weights=values, minlength=n_keys)
    hits = np.bincount(keys, weights=(values > 0.0).astype(np.float64), minlength=n_keys)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        squares = np.bincount(keys, weights=(values - mean[keys]) ** 2, minlength=n_keys)
        sem = np.sqrt(squares / (n - 1.0) / n)
        hit_rate = hits / n
    out = []
    for k in range(n_keys):
        count = int(n[k])
        half = t_critical_975(count - 1) * float(sem[k]) if count > 1 else math.nan
        m = float(mean[k]) if count else math.nan
        out.append(Summary(count, m, float(hit_rate[k]), m - half, m + half))
    return out


def best_key(summaries: list[Summary], min_samples: int) -> int | None:
    """The key with the highest mean among groups of at least `min_samples` samples, or None."""
    best: int | None = None
    for key, s in enumerate(summaries):
        if s.samples >= min_samples and (best is None or s.mean > summaries[best].mean):
            best = key
    return best
