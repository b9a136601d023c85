"""`reports/signals.jsonl`: every signal, taken or refused, with its reason code and numbers.

A diagnostic log: buffered and written at each journal commit. Unlike the trade journal it is not
the source of truth, so around a crash a few lines may be missing or repeated.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import orjson


class SignalLog:
    """Buffered appender of signal records, one JSON object per line."""

    __slots__ = ("_buffer", "_file", "path", "records")

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = path.open("ab")
        self._buffer: list[bytes] = []
        self.records = 0

    def record(self, entry: dict[str, Any]) -> None:
        """Queue one signal record."""
        self._buffer.append(orjson.dumps(entry) + b"\n")
        self.records += 1

    def flush(self) -> None:
        """Write the queued records."""
        if self._buffer:
            self._file.write(b"".join(self._buffer))
            self._file.flush()
            self._buffer.clear()

    def close(self) -> None:
        """Flush and close the file."""
        self.flush()
        self._file.close()
