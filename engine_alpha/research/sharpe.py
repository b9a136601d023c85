"""Is a Sharpe ratio real after a search? The Probabilistic and the Deflated Sharpe Ratio.

All Sharpe ratios here are per period (mean / standard deviation of the period returns, not
annualised); to use an annual figure divide it by sqrt(periods per year) first.

- **PSR** (Bailey and Lopez de Prado 2012, "The Sharpe Ratio Efficient Frontier", J. of Risk
  15(2), eq. 8; restated as eq. 2 of the DSR paper): the probability that the true Sharpe ratio
  exceeds a benchmark SR*, given the estimate SR over T periods with skewness g3 and (non-
  excess) kurtosis g4 of the returns:
  PSR(SR*) = Phi((SR - SR*) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1)/4 SR^2)).
- **Expected maximum Sharpe of N trials** (Bailey and Lopez de Prado 2014, "The Deflated Sharpe
  Ratio: Correcting for Selection Bias, Backtest Overfitting and Non-Normality", J. of
  Portfolio Management 40(5):94-107, eq. 1 / the False Strategy theorem): with zero true
  Sharpe and V the variance of the N trials' Sharpe estimates,
  SR0 = sqrt(V) ((1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e))),
  gamma the Euler-Mascheroni constant.
- **DSR** (same paper, eq. 2): PSR with SR* = SR0, the probability that the best trial's
  Sharpe beats what the best of N skill-less trials would show.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

__all__ = [
    "EULER_GAMMA",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "kurtosis",
    "probabilistic_sharpe_ratio",
    "sharpe_ratio",
    "skewness",
]

FloatArray = npt.NDArray[np.float64]
EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


def sharpe_ratio(returns: FloatArray) -> float:
    """Mean over standard deviation (ddof=1) of per-period returns; NaN with no spread."""
    x = np.asarray(returns, dtype=np.float64)
    # Equal returns have no spread, although their float mean can miss them by an ulp.
    varied = len(x) > 1 and float(x.min()) != float(x.max())
    sd = float(x.std(ddof=1)) if varied else 0.0
    return float(x.mean()) / sd if sd > 0.0 else math.nan


def skewness(returns: FloatArray) -> float:
    """The sample's third standardised moment, m3 / m2^1.5 (population moments, as the
    papers use them); 0 for a symmetric sample."""
    m2, m3, _ = _central_moments(returns)
    spread: float = m2**1.5
    return m3 / spread


def kurtosis(returns: FloatArray) -> float:
    """The sample's fourth standardised moment m4 / m2^2, not excess: 3 for a normal."""
    m2, _, m4 = _central_moments(returns)
    return m4 / m2**2


def probabilistic_sharpe_ratio(
    sharpe: float, benchmark: float, n_obs: int, skew: float = 0.0, kurt: float = 3.0
) -> float:
    """PSR(SR*): P(true Sharpe > benchmark) from the estimate over n_obs periods."""
    if n_obs < 2:
        raise ValueError(f"a PSR needs at least 2 observations, got {n_obs}")
    variance = 1.0 - skew * sharpe + (kurt - 1.0) / 4.0 * sharpe**2
    if variance <= 0.0:
        raise ValueError(f"skewness {skew} and kurtosis {kurt} give no valid PSR at {sharpe}")
    return _NORMAL.cdf((sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(variance))


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """SR0, the expected maximum Sharpe of n_trials skill-less trials whose Sharpe estimates
    have variance `sharpe_variance`; 0 for a single trial (nothing was selected)."""
    if n_trials < 1:
        raise ValueError(f"at least 1 trial, got {n_trials}")
    if n_trials == 1:
        return 0.0
    z = (1.0 - EULER_GAMMA) * _NORMAL.inv_cdf(1.0 - 1.0 / n_trials) + EULER_GAMMA * (
        _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    )
    return math.sqrt(sharpe_variance) * z


def deflated_sharpe_ratio(
    sharpe: float,
    n_obs: int,
    n_trials: int,
    sharpe_variance: float,
    *,
    skew: float = 0.0,
    kurt: float = 3.0,
) -> float:
    """DSR = PSR(SR0): the chance the selected trial's Sharpe is real after n_trials tries."""
    benchmark = expected_max_sharpe(n_trials, sharpe_variance)
    return probabilistic_sharpe_ratio(sharpe, benchmark, n_obs, skew, kurt)


def _central_moments(returns: FloatArray) -> tuple[float, float, float]:
    x = np.asarray(returns, dtype=np.float64)
    centred = x - x.mean()
    m2 = float(np.mean(centred**2))
    if m2 <= 0.0:
        raise ValueError("moments of a sample with no spread are undefined")
    return m2, float(np.mean(centred**3)), float(np.mean(centred**4))
