"""What a bar file holds, read as replay reads it: first and last bar, count, gaps, refused rows.

`scan_file` puts every row of a `<SYMBOL>-<timeframe>.csv` through the CSV reader and the
`BarValidator` exactly as `ReplayFeed` does, so a row it calls refused is a row a replay (and
research) would skip, and a gap is a run of bar times a replay would find no bar at. The
downloader reads an existing file with it to resume after its last accepted bar, and
`chloe data check` reports it for each file of a data directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from engine_alpha.config.models import DEFAULT_MAX_PRICE_JUMP, timeframe_ms
from engine_alpha.core.formatting import fmt_ts
from engine_alpha.market.csv_bars import BAD_HEADER, RowRefusal, iter_csv_rows
from engine_alpha.market.validation import BarValidator

__all__ = ["FileScan", "Gap", "Refusal", "bar_files", "plausible_ts", "scan_file", "split_name"]

_TAIL_BYTES: Final = 1


@dataclass(frozen=True, slots=True)
class Gap:
    """Bar times with no bar between two accepted bars: `missing` bars after `after_ts_ms`."""

    after_ts_ms: int
    before_ts_ms: int
    missing: int

    def first_missing_ms(self, timeframe_ms: int) -> int:
        return self.after_ts_ms + timeframe_ms

    def last_missing_ms(self, timeframe_ms: int) -> int:
        return self.before_ts_ms - timeframe_ms

    def describe(self, timeframe_ms: int) -> str:
        """`2023-03-24 13:00 .. 2023-03-24 15:00 UTC (3 bars)`: the missing bars' open times."""
        first, last = self.first_missing_ms(timeframe_ms), self.last_missing_ms(timeframe_ms)
        span = fmt_ts(first) if first == last else f"{fmt_ts(first)} .. {fmt_ts(last)}"
        return f"{span} UTC ({self.missing} bar{'s' if self.missing != 1 else ''})"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A row or bar refused: its refusal code, its open time when known, its line when in a file."""

    code: str
    ts_ms: int | None = None
    line: int | None = None
    detail: str = ""

    def describe(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        when = f"{fmt_ts(self.ts_ms)} UTC " if self.ts_ms is not None else ""
        detail = f" ({self.detail})" if self.detail and self.ts_ms is None else ""
        return f"{where}{when}{self.code}{detail}"


@dataclass(slots=True)
class FileScan:
    """One bar file as replay sees it. `header_ok` False: a file replay refuses whole."""

    path: Path
    symbol: str
    timeframe_ms: int
    header_ok: bool = True
    bars: int = 0
    first_ts_ms: int | None = None
    last_ts_ms: int | None = None
    last_close: float | None = None
    ends_with_newline: bool = True
    gaps: list[Gap] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    @property
    def missing_bars(self) -> int:
        return sum(g.missing for g in self.gaps)


def scan_file(
    path: Path,
    symbol: str,
    timeframe_ms: int,
    *,
    max_price_jump: float = DEFAULT_MAX_PRICE_JUMP,
) -> FileScan:
    """Read `path` as replay does; raises `OSError` when it cannot be opened or read."""
    scan = FileScan(path, symbol, timeframe_ms)
    validator = BarValidator(symbol, timeframe_ms, max_price_jump=max_price_jump)

    def row_refused(refusal: RowRefusal) -> None:
        if refusal.code == BAD_HEADER:
            scan.header_ok = False
        scan.refused.append(Refusal(refusal.code, line=refusal.line, detail=refusal.detail))

    for line, bar in iter_csv_rows(path, symbol=symbol, on_refusal=row_refused):
        after = validator.last_ts_ms
        missing = validator.missing_before(bar)
        code = validator.check(bar)
        if code is not None:
            scan.refused.append(Refusal(code, ts_ms=plausible_ts(bar.ts_ms), line=line))
            continue
        if missing and after is not None:
            scan.gaps.append(Gap(after, bar.ts_ms, missing))
        scan.bars += 1
        if scan.first_ts_ms is None:
            scan.first_ts_ms = bar.ts_ms
        scan.last_ts_ms = bar.ts_ms
    scan.last_close = validator.last_close
    scan.ends_with_newline = _ends_with_newline(path)
    return scan


def split_name(path: Path) -> tuple[str, str] | None:
    """`(symbol, timeframe)` of a file named `<SYMBOL>-<timeframe>.csv`, else None."""
    if path.suffix != ".csv":
        return None
    symbol, sep, timeframe = path.stem.rpartition("-")
    if not sep or not symbol:
        return None
    try:
        timeframe_ms(timeframe)
    except ValueError:
        return None
    return symbol, timeframe


def bar_files(data_dir: Path) -> Iterator[tuple[Path, str, str]]:
    """`(path, symbol, timeframe)` of every bar file in `data_dir`, by name."""
    for path in sorted(data_dir.iterdir()):
        named = split_name(path)
        if named is not None and path.is_file():
            yield path, *named


def plausible_ts(ts_ms: int) -> int | None:
    """An open time that a date can be made of (a refused bar's may be anything)."""
    return ts_ms if 0 <= ts_ms < 253_402_300_800_000 else None  # before year 10000


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        size = f.seek(0, 2)
        if size == 0:
            return True
        f.seek(size - _TAIL_BYTES)
        return f.read(_TAIL_BYTES) == b"\n"
