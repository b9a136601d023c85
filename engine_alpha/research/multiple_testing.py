"""False discovery rate control over many cells: Benjamini-Hochberg and Benjamini-Yekutieli
q-values (adjusted p-values), as R's `p.adjust(p, "BH")` and `p.adjust(p, "BY")` give them.

Which to use is a statement about dependence:
- **BH** (Benjamini and Hochberg 1995, "Controlling the False Discovery Rate", JRSS B
  57:289-300) controls the FDR at level q for independent p-values and, more generally, under
  positive regression dependence (Benjamini and Yekutieli 2001, Theorem 1.2): cells whose
  statistics move together in the same direction.
- **BY** (Benjamini and Yekutieli 2001, "The control of the false discovery rate in multiple
  testing under dependency", Annals of Statistics 29:1165-1188, Theorem 1.3) controls it under
  any dependence, at the price of a factor c(m) = 1 + 1/2 + ... + 1/m (about ln m + 0.58).

A cell is a discovery at level q when its q-value is at most q.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["bh_q_values", "by_q_values", "harmonic_number"]

FloatArray = npt.NDArray[np.float64]


def harmonic_number(m: int) -> float:
    """c(m) = sum_{i=1..m} 1/i, Benjamini and Yekutieli's factor for arbitrary dependence."""
    return float(np.sum(1.0 / np.arange(1, m + 1))) if m > 0 else 0.0


def bh_q_values(p_values: FloatArray) -> FloatArray:
    """Benjamini-Hochberg: with p sorted ascending, q_(i) = min_{j >= i} min(1, m p_(j) / j),
    returned in the input's order. NaN p-values (untested cells) stay NaN and do not count in m."""
    return _step_up(p_values, 1.0)


def by_q_values(p_values: FloatArray) -> FloatArray:
    """Benjamini-Yekutieli: the BH q-values with m replaced by m c(m), valid under any
    dependence."""
    p = np.asarray(p_values, dtype=np.float64)
    return _step_up(p, harmonic_number(int(np.count_nonzero(~np.isnan(p)))))


def _step_up(p_values: FloatArray, factor: float) -> FloatArray:
    p = np.asarray(p_values, dtype=np.float64)
    if np.any((p < 0.0) | (p > 1.0)):
        raise ValueError("p-values must lie in [0, 1]")
    out = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    m = len(tested)
    if m == 0:
        return out
    order = tested[np.argsort(p[tested], kind="stable")]
    scaled = p[order] * factor * m / np.arange(1, m + 1)
    out[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return out
