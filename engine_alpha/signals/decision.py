"""What the signal model decided at one bar's close: the contract between model and strategy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


def bucket_of(confidence: float) -> int:
    """Confidence bucket = min(9, floor(confidence x 10)) (SPEC §3)."""
    return min(9, int(confidence * 10.0))


@dataclass(slots=True)
class BarDecision:
    """The model's view of one closed bar.

    `regime` is None while the model warms up; `direction` is None on a bar with no signal
    (a neutral bar has no confidence and no bucket). `atr` sizes stops and targets.
    """

    ts_ms: int
    close: float
    atr: float
    regime: str | None
    direction: str | None
    confidence: float | None
    bucket: int | None


@dataclass(frozen=True, slots=True)
class DecisionColumns:
    """Every bar's decision of a series as numpy columns: `regime` an index into REGIMES (-1:
    none), `direction` +1 long / -1 short / 0 none, `confidence` NaN and `bucket` -1 without a
    signal. What a model's optional batch path returns (`ModelPlugin.batch`)."""

    atr: npt.NDArray[np.float64]
    regime: npt.NDArray[np.int64]
    direction: npt.NDArray[np.int64]
    confidence: npt.NDArray[np.float64]
    bucket: npt.NDArray[np.int64]
