"""The in-sample / out-of-sample time split: a fraction of each asset's span, or a UTC date."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_SPLIT", "HALVES", "Split", "half_masks", "parse_split"]

HALVES = ("in_sample", "out_of_sample", "all")


@dataclass(frozen=True, slots=True)
class Split:
    """Either a fraction of the span in (0, 1) or a cutoff time (UTC ms); exactly one is set."""

    fraction: float | None = None
    cutoff_ms: int | None = None

    def __post_init__(self) -> None:
        if (self.fraction is None) == (self.cutoff_ms is None):
            raise ValueError("a split is either a fraction or a cutoff time")
        if self.fraction is not None and not 0.0 < self.fraction < 1.0:
            raise ValueError(f"a split fraction must be in (0, 1), got {self.fraction}")

    def describe(self) -> str:
        """How the operator would write this split on the command line."""
        if self.fraction is not None:
            return f"{self.fraction:.6g}"
        assert self.cutoff_ms is not None
        return datetime.fromtimestamp(self.cutoff_ms / 1000, UTC).isoformat()

    def cutoff(self, first_ts_ms: int, last_ts_ms: int, timeframe_ms: int) -> int:
        """The first out-of-sample bar time, on the grid: a fraction f of n bar slots keeps
        the first floor(f * n) in sample."""
        if self.cutoff_ms is not None:
            return self.cutoff_ms - self.cutoff_ms % timeframe_ms
        assert self.fraction is not None
        slots = (last_ts_ms - first_ts_ms) // timeframe_ms + 1
        return first_ts_ms + math.floor(self.fraction * slots) * timeframe_ms


DEFAULT_SPLIT = Split(fraction=2.0 / 3.0)


def parse_split(text: str) -> Split:
    """`0.7` (a fraction of each asset's span) or `2023-01-01` / `2023-01-01T12:00` (UTC)."""
    try:
        fraction = float(text)
    except ValueError:
        pass
    else:
        return Split(fraction=fraction)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"split {text!r} is neither a fraction in (0, 1) nor a date like 2023-01-01"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return Split(cutoff_ms=int(when.timestamp() * 1000))


def half_masks(
    start_ts: npt.NDArray[np.int64], end_ts: npt.NDArray[np.int64], cutoff_ms: int
) -> dict[str, npt.NDArray[np.bool_]]:
    """Masks per half of samples spanning bar times [start, end]: in sample if end < cutoff,
    out of sample if start >= cutoff; a straddling sample is only in `all`."""
    return {
        "in_sample": end_ts < cutoff_ms,
        "out_of_sample": start_ts >= cutoff_ms,
        "all": np.ones(len(start_ts), dtype=np.bool_),
    }
