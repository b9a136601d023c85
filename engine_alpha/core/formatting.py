"""How a number is written for people: the one set of formatters for every surface.

The terminal table (`chloe status`, `chloe panel`), the HTML report, the research tables, the
console log on a terminal and systemd's STATUS line all write numbers through these functions,
always from the full-precision value (never from a figure already rounded for a file).
Machine-readable output (JSON log lines, `--json`, the report files) keeps full precision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

__all__ = [
    "fmt_bool",
    "fmt_date",
    "fmt_edge",
    "fmt_iso_utc",
    "fmt_mean_n",
    "fmt_num",
    "fmt_pf",
    "fmt_risk",
    "fmt_signed",
    "fmt_ts",
    "fmt_usd",
    "fmt_wall_utc",
    "is_time_key",
]

_TIME_SUFFIXES = ("_ts", "_ts_ms", "_after_ms", "_from_ms", "_until_ms")
_TIME_KEYS = frozenset({"ts", "ts_ms", "cutoff_ms"})


def fmt_num(value: float | int | None, digits: int = 2, *, grouped: bool = False) -> str:
    """A number with `digits` decimals (and thousands separators if `grouped`); `-` if absent."""
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if grouped else f"{value:.{digits}f}"


def fmt_risk(score: float | None, level: str | None) -> str:
    """A risk score and its level: `0.25 low`; `-` when there is none."""
    return "-" if score is None else f"{score:.2f} {level}"


def fmt_signed(value: float | None, digits: int = 1) -> str:
    """A number with its sign (`+68.6`, `-27.3`) and `digits` decimals; `-` when absent or NaN."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value:+.{digits}f}"


def fmt_edge(mean: float | None, ci95: Sequence[float] | None, samples: int) -> str:
    """A research edge in bps: `-17.7 [-35, -0] n=72`, without the interval when there is none."""
    if mean is None or samples == 0 or math.isnan(mean):
        return "-"
    if ci95 is None or math.isnan(ci95[0]):
        return f"{mean:+.1f} n={samples}"
    return f"{mean:+.1f} [{ci95[0]:+.0f}, {ci95[1]:+.0f}] n={samples}"


def fmt_mean_n(mean: float | None, samples: int) -> str:
    """A mean in bps and its sample count: `-41.8 (n=153)`; `-` without samples."""
    if mean is None or samples == 0 or math.isnan(mean):
        return "-"
    return f"{mean:+.1f} (n={samples})"


def fmt_usd(value: float | None) -> str:
    """USD with cents and a thousands separator."""
    return "-" if value is None else f"{value:,.2f}"


def fmt_pf(pf: float | None, wins: int, trades: int) -> str:
    """PF to 2 decimals, or why it is not a number: no trades, or no losses."""
    if pf is not None:
        return f"{pf:.2f}"
    if trades == 0:
        return "n/a (no trades)"
    return "n/a (no losses)" if wins else "n/a (no wins)"


def fmt_bool(value: bool | None) -> str:
    """yes / no / -."""
    if value is None:
        return "-"
    return "yes" if value else "no"


def fmt_ts(ts_ms: int | None) -> str:
    """Bar time in UTC: `2023-12-30 14:00`."""
    if ts_ms is None:
        return "-"
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def fmt_date(ts_ms: int) -> str:
    """The UTC date of a bar time: `2023-12-30`."""
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d")


def fmt_iso_utc(ts_ms: int) -> str:
    """A time in epoch milliseconds as ISO 8601 UTC: `2023-07-24T10:00:00Z`."""
    text = datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat(timespec="milliseconds")
    return text.replace(".000+00:00", "Z").replace("+00:00", "Z")


def fmt_wall_utc(iso_text: str | None) -> str:
    """A wall-clock ISO 8601 time from a report (`updated_at`) as `2026-12-03 06:42:20 UTC`."""
    if not iso_text:
        return "unknown"
    try:
        when = datetime.fromisoformat(iso_text)
    except ValueError:
        return iso_text
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def is_time_key(key: str) -> bool:
    """Whether a log field named `key` holds a point in time in epoch ms (not a duration)."""
    return key in _TIME_KEYS or key.endswith(_TIME_SUFFIXES)


def parse_utc_time(text: str) -> int:
    """A date or time given by a person (`2023-07-01`, `2023-07-01T12:00`, UTC unless it says
    otherwise) in epoch milliseconds; ValueError naming the text when it is neither."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected a date like 2023-07-01, got {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)
