"""Replay feed: the CSV bars of many assets merged into bar times, as fast as possible or paced."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Sequence
from pathlib import Path

import structlog
from structlog.typing import FilteringBoundLogger

from engine_alpha.config.models import timeframe_ms
from engine_alpha.market.bars import Bar, BarTime
from engine_alpha.market.csv_bars import RowRefusal, bars_path, iter_csv_rows
from engine_alpha.market.validation import (
    DEFAULT_MAX_PRICE_JUMP,
    MAX_TS_MS,
    MIN_TS_MS,
    TS_OUT_OF_RANGE,
    BarValidator,
)

__all__ = ["NoReplayDataError", "ReplayFeed"]

Sleep = Callable[[float], Awaitable[object]]
_Stream = Generator[tuple[int, int, Bar], None, None]
_TAIL_BYTES = 4096


class NoReplayDataError(Exception):
    """Not one asset has a bar file: a replay of nothing is a mistake, not an empty success."""

    def __init__(self, data_dir: Path, expected: Sequence[Path]) -> None:
        names = ", ".join(p.name for p in expected[:3]) + (", ..." if len(expected) > 3 else "")
        super().__init__(f"{data_dir}: no replay data (none of {len(expected)} files: {names})")
        self.data_dir = data_dir


class ReplayFeed:
    """Historical bars from `<SYMBOL>-<timeframe>.csv` files, merged by time (SPEC §7).

    Every bar is validated per symbol: a refused bar is logged (`bar_refused`) and never handed
    out, a gap is logged (`bar_gap`) and its bar still handed out, and a missing or unreadable
    file (`replay_file_missing`, `replay_file_unreadable`) leaves only that asset without bars.
    """

    def __init__(
        self,
        data_dir: Path,
        symbols: Sequence[str],
        timeframe: str,
        *,
        speed: float | None = None,
        chunk_size: int = 256,
        log: FilteringBoundLogger | None = None,
        start_after_ms: int | None = None,
        sleep: Sleep = asyncio.sleep,
        max_price_jump: float = DEFAULT_MAX_PRICE_JUMP,
    ) -> None:
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"symbols must be unique, got {list(symbols)}")
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be > 0 (or None for max speed), got {speed}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.data_dir = Path(data_dir)
        self.symbols = tuple(symbols)
        self.timeframe = timeframe
        self.timeframe_ms = timeframe_ms(timeframe)
        self.speed = speed
        self.chunk_size = chunk_size
        self.start_after_ms = start_after_ms
        self.max_price_jump = max_price_jump
        self._sleep = sleep
        self._log: FilteringBoundLogger = log if log is not None else structlog.get_logger()
        self._total_bar_times: int | None = None
        self._total_known = False
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.bars_yielded = 0
        self.bar_times_yielded = 0
        self.refused: dict[str, int] = dict.fromkeys(self.symbols, 0)
        self.missing_bars: dict[str, int] = dict.fromkeys(self.symbols, 0)
        self.missing_files: list[str] = []

    def path(self, symbol: str) -> Path:
        """The CSV file this feed reads for `symbol`."""
        return bars_path(self.data_dir, symbol, self.timeframe)

    def require_data(self) -> list[str]:
        """The symbols without a bar file; NoReplayDataError when that is every symbol."""
        missing = [s for s in self.symbols if not self.path(s).is_file()]
        if self.symbols and len(missing) == len(self.symbols):
            raise NoReplayDataError(self.data_dir, [self.path(s) for s in self.symbols])
        return missing

    @property
    def total_bar_times(self) -> int | None:
        """Estimated bar times in the replay (first to last timestamp over all files), or None."""
        if not self._total_known:
            spans = [s for s in map(_file_span, map(self.path, self.symbols)) if s is not None]
            if spans:
                first = min(s[0] for s in spans)
                last = max(s[1] for s in spans)
                self._total_bar_times = max(0, (last - first) // self.timeframe_ms + 1)
            self._total_known = True
        return self._total_bar_times

    async def chunks(self) -> AsyncGenerator[list[BarTime], None]:
        """Yield lists of bar times in ascending time, each with its bars in the symbols' order.

        At max speed a chunk holds up to `chunk_size` bar times; with a speed factor it holds one,
        and the feed sleeps (bar time difference / speed) before the next, except for bar times at
        or before `start_after_ms` (warm-up before a resume point), which are not paced.
        Each call replays from the start and resets the counters.
        """
        self._reset_counters()
        self._log.info(
            "replay_started",
            data_dir=str(self.data_dir),
            symbols=list(self.symbols),
            timeframe=self.timeframe,
            speed=self.speed,
            chunk_size=self.chunk_size,
            start_after_ms=self.start_after_ms,
            total_bar_times=self.total_bar_times,
        )
        streams = [self._symbol_bars(i, symbol) for i, symbol in enumerate(self.symbols)]
        bar_times = self._bar_times(streams)
        try:
            if self.speed is None:
                while chunk := list(itertools.islice(bar_times, self.chunk_size)):
                    yield chunk
            else:
                previous_ts: int | None = None
                for bar_time in bar_times:
                    if previous_ts is not None and self._paced(bar_time.ts_ms):
                        await self._sleep((bar_time.ts_ms - previous_ts) / 1000.0 / self.speed)
                    previous_ts = bar_time.ts_ms
                    yield [bar_time]
        finally:
            bar_times.close()
            for stream in streams:
                stream.close()
        self._log.info(
            "replay_finished",
            bars_yielded=self.bars_yielded,
            bar_times_yielded=self.bar_times_yielded,
            refused={s: n for s, n in self.refused.items() if n},
            missing_bars={s: n for s, n in self.missing_bars.items() if n},
            missing_files=self.missing_files,
        )

    def _paced(self, ts_ms: int) -> bool:
        return self.start_after_ms is None or ts_ms > self.start_after_ms

    def _bar_times(self, streams: list[_Stream]) -> Generator[BarTime, None, None]:
        merged = heapq.merge(*streams)
        head = next(merged, None)
        if head is None:
            return
        ts, _, first = head
        bars = [first]
        for bar_ts, _, bar in merged:
            if bar_ts == ts:
                bars.append(bar)
                continue
            self.bars_yielded += len(bars)
            self.bar_times_yielded += 1
            yield BarTime(ts, bars)
            ts, bars = bar_ts, [bar]
        self.bars_yielded += len(bars)
        self.bar_times_yielded += 1
        yield BarTime(ts, bars)

    def _symbol_bars(self, index: int, symbol: str) -> _Stream:
        """One symbol's accepted bars as `(ts_ms, index, bar)`, strictly ascending (merge keys)."""
        path = self.path(symbol)
        file = str(path)
        validator = BarValidator(symbol, self.timeframe_ms, max_price_jump=self.max_price_jump)
        check, missing_before = validator.check, validator.missing_before
        step_ms = self.timeframe_ms
        log = self._log
        try:
            for line, bar in iter_csv_rows(path, symbol=symbol, on_refusal=self._row_refused):
                after_ts = validator.last_ts_ms
                # missing_before is only worth a call when the step is longer than one bar.
                gap = after_ts is not None and bar.ts_ms - after_ts > step_ms
                missing = missing_before(bar) if gap else 0
                code = check(bar)
                if code is not None:
                    self._bar_refused(file, line, code, bar)
                    continue
                if missing:
                    self.missing_bars[symbol] += missing
                    log.warning(
                        "bar_gap",
                        symbol=symbol,
                        missing_bars=missing,
                        after_ts=after_ts,
                        before_ts=bar.ts_ms,
                    )
                yield bar.ts_ms, index, bar
        except FileNotFoundError:
            self.missing_files.append(symbol)
            log.warning("replay_file_missing", symbol=symbol, file=file)
        except OSError as exc:
            self.missing_files.append(symbol)
            log.warning("replay_file_unreadable", symbol=symbol, file=file, error=str(exc))

    def _row_refused(self, refusal: RowRefusal) -> None:
        self.refused[refusal.symbol] += 1
        self._log.warning(
            "bar_refused",
            symbol=refusal.symbol,
            file=refusal.file,
            line=refusal.line,
            code=refusal.code,
            detail=refusal.detail,
        )

    def _bar_refused(self, file: str, line: int, code: str, bar: Bar) -> None:
        self.refused[bar.symbol] += 1
        self._log.warning(
            "bar_refused",
            symbol=bar.symbol,
            file=file,
            line=line,
            code=code,
            # beyond 64 bits a timestamp cannot be a JSON number: the log line shows its text
            bar_ts_ms=str(bar.ts_ms) if code == TS_OUT_OF_RANGE else bar.ts_ms,
            open=bar.open,
            high=bar.high,
            low=bar.low,
            close=bar.close,
            volume=bar.volume,
        )


def _file_span(path: Path) -> tuple[int, int] | None:
    """First and last timestamp of a bar file, from its second and last lines (None if unsure)."""
    try:
        with path.open("rb") as file:
            file.readline(_TAIL_BYTES)
            first = file.readline(_TAIL_BYTES)
            size = file.seek(0, 2)
            file.seek(max(0, size - _TAIL_BYTES))
            tail = [line for line in file.read().splitlines() if line.strip()]
        span = int(first.split(b",", 1)[0]), int(tail[-1].split(b",", 1)[0])
    except (OSError, ValueError, IndexError):
        return None
    return span if all(MIN_TS_MS <= ts < MAX_TS_MS for ts in span) else None
