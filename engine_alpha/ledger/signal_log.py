"""`reports/signals.jsonl`: every signal, taken or refused, with its reason code and numbers.

Written in step order, at each commit before the journal (flushed and fsynced), so the journal
never holds a bar time whose signal records are missing. Each record belongs to the bar time
whose step wrote it: `fill_bar_ts` for a record made when a pending order was sized at a bar's
open, else `bar_ts`. At start the log is cut back to the records of bar times up to the
journal's resume point (`cut_back`): the bar times after it are re-executed and write their
records again, so after any stop the log equals an uninterrupted run's.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from engine_alpha.core.atomic_files import WriteFailedError, open_regular
from engine_alpha.core.bounded_lines import MAX_LOG_LINE_BYTES

__all__ = ["SignalLog", "cut_back", "step_ts"]

_READ_BACK = 1 << 16


def step_ts(record: dict[str, Any]) -> int:
    """The bar time of the step that wrote `record`."""
    fill_bar_ts = record.get("fill_bar_ts")
    return int(fill_bar_ts if fill_bar_ts is not None else record["bar_ts"])


def _keeps(raw: bytes, resume_after_ms: int | None) -> bool:
    """True when the complete line `raw` is a record of a bar time up to the resume point."""
    if resume_after_ms is None:
        return False
    try:
        record = orjson.loads(raw)
        return step_ts(record) <= resume_after_ms
    except (orjson.JSONDecodeError, TypeError, KeyError, ValueError):
        return False  # damaged: what a crash mid-write leaves at the end


def cut_back(path: Path, resume_after_ms: int | None) -> int:
    """Cut `path` after its last record whose step is at or before `resume_after_ms`.

    The log is in step order, so only its end is read, backwards. Returns the bytes removed.
    """
    try:
        fd = open_regular(path, os.O_RDWR)
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise WriteFailedError(path, exc) from exc
    try:
        size = os.fstat(fd).st_size
        keep = _keep_offset(fd, size, resume_after_ms)
        if keep < size:
            os.ftruncate(fd, keep)
            os.fsync(fd)
        return size - keep
    except OSError as exc:
        raise WriteFailedError(path, exc) from exc
    finally:
        os.close(fd)


def _keep_offset(fd: int, size: int, resume_after_ms: int | None) -> int:
    """The end offset of the last complete line to keep (0: keep none), reading backwards.

    Only the line being judged is held: a line longer than `MAX_LOG_LINE_BYTES` is no record,
    so it goes, and is read past without being held (memory stays bounded).
    """
    if resume_after_ms is None:
        return 0
    pos, tail = size, b""  # tail holds bytes [pos, judged_to): the lines not judged yet
    judged_to = size  # every complete line ending after this offset is to go
    while pos > 0:
        start = max(0, pos - _READ_BACK)
        tail = os.pread(fd, pos - start, start) + tail
        pos = start
        newline = tail.rfind(b"\n", 0, judged_to - pos)
        if newline >= 0:  # what follows the last newline is a torn end: it goes
            judged_to = min(judged_to, pos + newline + 1)
        while newline >= 0:
            previous = tail.rfind(b"\n", 0, newline)
            if previous < 0 and pos > 0:
                break  # this line starts before what was read: read further back
            if _keeps(tail[previous + 1 : newline], resume_after_ms):
                return pos + newline + 1
            judged_to = pos + previous + 1
            newline = previous
        tail = tail[: judged_to - pos]
        if len(tail) > MAX_LOG_LINE_BYTES:  # too long to be a record: it goes, unread
            tail, judged_to = b"", pos
    return 0


class SignalLog:
    """Buffered appender of signal records, one JSON object per line.

    A flush that fails (disk full, read-only file) is rolled back to the last complete record
    and raises `WriteFailedError`: the log never holds half a line, and nothing more is written.
    `keep(into)` hands each flush's records to `into` once they are durable, in file order: what
    a reader of the file would get, for a reader in this process.
    """

    __slots__ = ("_buffer", "_failed", "_fd", "_kept", "_unflushed", "path", "records")

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fd: int | None = open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        except OSError as exc:
            raise WriteFailedError(path, exc) from exc
        self._buffer: list[bytes] = []
        self._failed: WriteFailedError | None = None
        self.records = 0
        self._kept: Callable[[list[dict[str, Any]]], None] | None = None
        self._unflushed: list[dict[str, Any]] = []

    def keep(self, into: Callable[[list[dict[str, Any]]], None] | None) -> None:
        """From now on call `into` with each flush's records once they are durable (None: no
        longer). Only between flushes: a record queued before would be missed. `into` runs
        after the records are written, so it must not raise: the flush has succeeded."""
        if into is not None and self._buffer:
            raise RuntimeError("signal records are waiting for a flush")
        self._kept, self._unflushed = into, []

    def record(self, entry: dict[str, Any]) -> None:
        """Queue one signal record."""
        self._buffer.append(orjson.dumps(entry) + b"\n")
        self.records += 1
        if self._kept is not None:
            self._unflushed.append(entry)

    def flush(self) -> None:
        """Write the queued records and make them durable (before the journal commits)."""
        if self._failed is not None:
            raise self._failed
        if not self._buffer or self._fd is None:
            return
        unflushed, self._unflushed = self._unflushed, []
        fd = self._fd
        data = memoryview(b"".join(self._buffer))
        size = -1
        try:
            size = os.fstat(fd).st_size
            while data:
                data = data[os.write(fd, data) :]
            os.fsync(fd)
        except OSError as exc:
            if size >= 0:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                    os.fsync(fd)
            self._failed = WriteFailedError(self.path, exc)
            raise self._failed from exc
        self._buffer.clear()
        if self._kept is not None:
            self._kept(unflushed)

    def close(self, *, flush: bool = True) -> None:
        """Flush (unless told not to, after a failure) and close the file."""
        try:
            if flush:
                self.flush()
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
