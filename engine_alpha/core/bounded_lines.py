"""Reading lines with bounded memory: a line longer than the limit is measured, never held.

A file of lines (bar CSVs, the journal, the signal and event logs) may hold one huge line (a
disk error, an edit, an attack); reading it whole would take its size in memory. Here a line
over the limit is read past in limit-sized pieces and handed out as a `LongLine` (its length and
first bytes), so the caller can refuse it, naming the line, and go on or stop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

__all__ = ["MAX_LOG_LINE_BYTES", "LongLine", "bounded_lines"]

# signals.jsonl and events.jsonl: a record is a few hundred bytes, an event with an error message
# a few KiB; a longer line is skipped as not a record.
MAX_LOG_LINE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class LongLine:
    """A line longer than the limit: its length in bytes (its newline included) and its start."""

    length: int
    head: bytes


def bounded_lines(f: IO[bytes], max_bytes: int) -> Iterator[bytes | LongLine]:
    """Each line of `f` from its position (newline kept), or a LongLine when over `max_bytes`.

    Memory stays within a few times `max_bytes` whatever the file holds.
    """
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
    readline = f.readline
    while raw := readline(max_bytes):
        if len(raw) < max_bytes or raw[-1] == 0x0A:
            yield raw
            continue
        more = readline(max_bytes)
        if not more:  # exactly max_bytes, no newline, at the end of the file
            yield raw
            return
        length = len(raw) + len(more)
        while more[-1] != 0x0A and len(more) == max_bytes:
            more = readline(max_bytes)
            length += len(more)
            if not more:
                break
        yield LongLine(length, raw[:64])
