"""The units every layer counts in, defined once: minute, hour, day in ms, basis points."""

from __future__ import annotations

from typing import Final

__all__ = ["BPS", "DAY_MS", "HOUR_MS", "MINUTE_MS"]

MINUTE_MS: Final = 60_000
HOUR_MS: Final = 3_600_000
DAY_MS: Final = 86_400_000  # a UTC calendar day: the daily caps reset at its boundary
BPS: Final = 10_000.0  # basis points in one
