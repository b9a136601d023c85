"""Option types shared by the commands: whole numbers with a floor, a level in (0, 1)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["at_least", "level"]


def at_least(low: int) -> Callable[[str], int]:
    """An option type: a whole number >= `low` (argparse names the option on an error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    return parse


def level(text: str) -> float:
    """An option type: a number strictly between 0 and 1 (a test's level)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {value}")
    return value
