"""`reports/events.jsonl`: error and critical log events, kept so the gates can count them.

The daemon logs to stdout (journald); `EventFileSink` is a structlog processor that also appends
every `error`/`critical` event to this file, one JSON object per line; `chloe enable` and
`chloe ack` append the operator's records (`rollout.operator_log`). An asset's critical errors
are the recorded errors of trading whose `symbol` (or `task` `strategy:<SYMBOL>`) names it,
since its last enable or acknowledgement.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from engine_alpha.core.atomic_files import open_regular
from engine_alpha.ops.operator_log import ACK_EVENT, ENABLE_EVENT

__all__ = [
    "ERROR_LEVELS",
    "EVENTS_FILE",
    "REFUSED_INPUT_EVENTS",
    "EventFileSink",
    "errors_by_symbol",
    "event_symbol",
]

EVENTS_FILE = "events.jsonl"
ERROR_LEVELS = frozenset({"error", "critical", "exception"})
# Error events of a refused input that changed nothing: recorded, never counted by the gates.
REFUSED_INPUT_EVENTS = frozenset({"reload_rejected", "config_rejected", "replay_data_missing"})
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


def _is_trading_error(event: Mapping[str, Any]) -> bool:
    level = str(event.get("level", "")).lower()
    return level in ERROR_LEVELS and event.get("event") not in REFUSED_INPUT_EVENTS


def errors_by_symbol(events: Iterable[Mapping[str, Any]]) -> dict[str | None, int]:
    """Critical errors of trading per asset, each in its window; None: the portfolio-wide ones.

    Events are read in file order. An error-level event counts unless it is a refused input
    (`REFUSED_INPUT_EVENTS`: nothing ran or changed). An asset's window starts after its last
    `asset_enabled` or `errors_acknowledged` naming it; an acknowledgement naming no asset
    ends every window, the portfolio's too.
    """
    counts: dict[str | None, int] = {}
    for event in events:
        name = event.get("event")
        if name == ENABLE_EVENT:
            counts.pop(event_symbol(event), None)
        elif name == ACK_EVENT:
            symbol = event_symbol(event)
            if symbol is None:
                counts.clear()
            else:
                counts.pop(symbol, None)
        elif _is_trading_error(event):
            symbol = event_symbol(event)
            counts[symbol] = counts.get(symbol, 0) + 1
    return counts


class EventFileSink:
    """structlog processor: append error-level events to `events.jsonl`, pass every event on.

    Place it after `add_log_level`/`TimeStamper` and before the renderer. The file is opened
    (created) at construction, so its presence says the daemon records errors. A processor must
    not raise (it would break the log call), so a failed open or write is kept in `failure`: the
    daemon checks it and stops (fail-stop, like every write), and the log line still goes out.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.failure: OSError | None = None
        self.tap: Callable[[str, Mapping[str, Any]], None] | None = None
        """Also shown every event, as its level (lower case) and the processor's dict, to read
        there and then (the notifier's feed and error messages); must not raise."""
        self._fd: int | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        except OSError as exc:
            self.failure = exc

    def __call__(self, _logger: Any, method_name: str, event_dict: Any) -> Any:
        """Record `event_dict` when its level is error or critical; return it unchanged."""
        level = str(event_dict.get("level", method_name)).lower()
        if level in ERROR_LEVELS and self._fd is not None and self.failure is None:
            data = memoryview(orjson.dumps({"level": level, **event_dict}, default=str) + b"\n")
            size = -1
            try:
                size = os.fstat(self._fd).st_size
                while data:
                    data = data[os.write(self._fd, data) :]
            except OSError as exc:
                self.failure = exc
                if size >= 0:  # never leave half a line behind
                    with contextlib.suppress(OSError):
                        os.ftruncate(self._fd, size)
        if self.tap is not None:
            self.tap(level, event_dict)
        return event_dict

    def close(self) -> None:
        """Close the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
