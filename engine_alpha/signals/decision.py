"""What the signal model decided at one bar's close: the contract between model and strategy."""

from __future__ import annotations

from dataclasses import dataclass


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
