"""Lazy reader of `<SYMBOL>-<timeframe>.csv` bar files; a malformed row is reported, never fatal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from engine_alpha.core.bounded_lines import LongLine, bounded_lines
from engine_alpha.market.bars import Bar

__all__ = [
    "BAD_HEADER",
    "CSV_HEADER",
    "EXTRA_COLUMNS",
    "LINE_TOO_LONG",
    "MAX_LINE_BYTES",
    "NON_NUMERIC",
    "SHORT_ROW",
    "RowRefusal",
    "bars_path",
    "iter_csv_rows",
    "read_bars",
]

CSV_HEADER: Final = "timestamp_ms,open,high,low,close,volume"
BAD_HEADER: Final = "bad_header"
SHORT_ROW: Final = "short_row"
EXTRA_COLUMNS: Final = "extra_columns"
NON_NUMERIC: Final = "non_numeric"
LINE_TOO_LONG: Final = "line_too_long"
# A bar row is under 100 bytes; a longer line is refused unread (memory stays bounded).
MAX_LINE_BYTES: Final = 4096

_COLUMNS: Final = 6
_DETAIL_CHARS: Final = 120


@dataclass(slots=True, frozen=True)
class RowRefusal:
    """A CSV row that is not a bar: its file, 1-based line, a stable code and the row text."""

    symbol: str
    file: str
    line: int
    code: str
    detail: str


OnRefusal = Callable[[RowRefusal], object]


def bars_path(data_dir: Path, symbol: str, timeframe: str) -> Path:
    """The file that holds `symbol`'s bars of `timeframe`, e.g. `data/ohlcv/BTCUSDT-1h.csv`."""
    return data_dir / f"{symbol}-{timeframe}.csv"


def iter_csv_rows(path: Path, *, symbol: str, on_refusal: OnRefusal) -> Iterator[tuple[int, Bar]]:
    """Yield `(line, bar)` for every well-formed row of `path`, lazily and in file order.

    A malformed row goes to `on_refusal` and reading continues. A header other than `CSV_HEADER`
    refuses the whole file (its column order cannot be trusted). Blank lines are skipped. A line
    over `MAX_LINE_BYTES` is refused (`line_too_long`) without being held in memory.
    Opening errors (missing file, no permission) propagate as `OSError`.
    """
    name = str(path)
    with path.open("rb") as f:
        lines = bounded_lines(f, MAX_LINE_BYTES)
        header = _text(next(lines, b""))
        if header.lstrip("\ufeff").strip() != CSV_HEADER:
            on_refusal(RowRefusal(symbol, name, 1, BAD_HEADER, _shorten(header or "empty file")))
            return
        for line_no, raw in enumerate(lines, 2):
            if isinstance(raw, LongLine):
                detail = f"{raw.length} bytes, over {MAX_LINE_BYTES}: {_text(raw)[:40]}..."
                on_refusal(RowRefusal(symbol, name, line_no, LINE_TOO_LONG, detail))
                continue
            line = raw.decode("utf-8", errors="replace")
            parts = line.split(",")
            if len(parts) == _COLUMNS:
                try:
                    bar = Bar(
                        symbol,
                        int(parts[0]),
                        float(parts[1]),
                        float(parts[2]),
                        float(parts[3]),
                        float(parts[4]),
                        float(parts[5]),
                    )
                except ValueError:
                    on_refusal(RowRefusal(symbol, name, line_no, NON_NUMERIC, _shorten(line)))
                    continue
                yield line_no, bar
            elif line.strip():
                code = SHORT_ROW if len(parts) < _COLUMNS else EXTRA_COLUMNS
                on_refusal(RowRefusal(symbol, name, line_no, code, _shorten(line)))


def _text(raw: bytes | LongLine) -> str:
    data = raw.head if isinstance(raw, LongLine) else raw
    return data.decode("utf-8", errors="replace")


def read_bars(path: Path, *, on_refusal: OnRefusal, symbol: str | None = None) -> Iterator[Bar]:
    """Yield the bars of `path` lazily; `symbol` defaults to the file name before the first `-`."""
    sym = symbol if symbol is not None else path.name.split("-", 1)[0]
    for _, bar in iter_csv_rows(path, symbol=sym, on_refusal=on_refusal):
        yield bar


def _shorten(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _DETAIL_CHARS else text[:_DETAIL_CHARS] + "..."
