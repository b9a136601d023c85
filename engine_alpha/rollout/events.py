"""`reports/events.jsonl`: error and critical log events, kept so the gates can count them.

The daemon logs to stdout (journald); `EventFileSink` is a structlog processor that also appends
every `error`/`critical` event to this file, one JSON object per line. An asset's critical errors
are the recorded events whose `symbol` (or `task` `strategy:<SYMBOL>`) names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import orjson

__all__ = ["ERROR_LEVELS", "EVENTS_FILE", "EventFileSink", "errors_by_symbol", "event_symbol"]

EVENTS_FILE = "events.jsonl"
ERROR_LEVELS = frozenset({"error", "critical", "exception"})
_TASK_PREFIX = "strategy:"


def event_symbol(event: Mapping[str, Any]) -> str | None:
    """The asset an event concerns: its `symbol`, or the symbol of a `strategy:<SYMBOL>` task."""
    symbol = event.get("symbol")
    if isinstance(symbol, str) and symbol:
        return symbol
    task = event.get("task")
    if isinstance(task, str) and task.startswith(_TASK_PREFIX):
        return task.removeprefix(_TASK_PREFIX)
    return None


def errors_by_symbol(events: Iterable[Mapping[str, Any]]) -> dict[str | None, int]:
    """Count error-level events per asset; None collects the portfolio-wide ones."""
    counts: dict[str | None, int] = {}
    for event in events:
        if str(event.get("level", "")).lower() in ERROR_LEVELS:
            symbol = event_symbol(event)
            counts[symbol] = counts.get(symbol, 0) + 1
    return counts


class EventFileSink:
    """structlog processor: append error-level events to `events.jsonl`, pass every event on.

    Place it after `add_log_level`/`TimeStamper` and before the renderer. The file is opened
    (created) at construction, so its presence says the daemon records errors.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[bytes] = path.open("ab")

    def __call__(self, _logger: Any, method_name: str, event_dict: Any) -> Any:
        """Record `event_dict` when its level is error or critical; return it unchanged."""
        level = str(event_dict.get("level", method_name)).lower()
        if level in ERROR_LEVELS:
            record = {"level": level, **event_dict}
            try:
                self._file.write(orjson.dumps(record, default=str) + b"\n")
                self._file.flush()
            except OSError:  # a diagnostic copy: never let it break the log line itself
                pass
        return event_dict

    def close(self) -> None:
        """Close the file."""
        self._file.close()
