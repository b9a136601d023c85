"""Fixtures for the market tests: CSV files written to tmp_path and a logger that records events."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
import structlog
from structlog.testing import LogCapture
from structlog.typing import EventDict, FilteringBoundLogger

HEADER = "timestamp_ms,open,high,low,close,volume"
HOUR_MS = 3_600_000
T0 = 1_688_169_600_000  # 2023-07-01 00:00 UTC, the first bar of the bundled sample

WriteCsv = Callable[..., Path]


def row(ts_ms: int, price: float = 100.0, volume: float = 1.0) -> str:
    """A well-formed CSV row of a flat-ish candle around `price`."""
    return f"{ts_ms},{price},{price + 1},{price - 1},{price + 0.5},{volume}"


def hourly_rows(count: int, start_ms: int = T0) -> list[str]:
    """`count` consecutive well-formed hourly rows."""
    return [row(start_ms + i * HOUR_MS, 100.0 + i) for i in range(count)]


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """Write `<symbol>-1h.csv` under tmp_path from rows (header added unless `header=` is given)."""

    def write(symbol: str, rows: Iterable[str], *, header: str | None = HEADER) -> Path:
        path = tmp_path / f"{symbol}-1h.csv"
        lines = ([header] if header is not None else []) + list(rows)
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        return path

    return write


@pytest.fixture
def captured() -> tuple[FilteringBoundLogger, list[EventDict]]:
    """A structlog logger independent of the global config, and the list of events it records."""
    capture = LogCapture()
    log: FilteringBoundLogger = structlog.wrap_logger(
        structlog.ReturnLogger(),
        processors=[capture],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )
    return log, capture.entries
