"""structlog setup: one JSON object per line on stdout (journald), a readable console on a TTY.

On a terminal, times are UTC ISO, money and percentages 2 decimals, and absent (None) fields are
left out; the JSON lines keep full precision and every field.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from structlog.typing import EventDict, WrappedLogger

from engine_alpha.core.formatting import fmt_iso_utc, fmt_num, is_time_key

if TYPE_CHECKING:
    from engine_alpha.ops.events import EventFileSink

_SECRET_KEYS = frozenset({"apikey", "api_key", "secret", "password", "token", "private_key"})
_ROUNDED_SUFFIXES = ("_usd", "_pct", "pf")
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def redact_secrets(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Never let an API key or secret reach a log line, whatever a caller passed."""
    for key in event_dict:
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = "***"
    return event_dict


def _for_people(key: str, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and is_time_key(key):
        return fmt_iso_utc(value)
    if isinstance(value, float) and key.endswith(_ROUNDED_SUFFIXES):
        return fmt_num(value)
    return value


def readable_fields(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """For the console on a terminal only: times in UTC ISO, USD/%/PF to 2 decimals, no None.

    The JSON lines (journald, files) never pass through here: they keep every digit.
    """
    return {k: _for_people(k, v) for k, v in event_dict.items() if v is not None}


def configure_logging(
    *, level: str = "info", json: bool | None = None, events_path: Path | None = None
) -> EventFileSink | None:
    """Configure structlog once per process; `json=None` picks JSON unless stdout is a TTY.

    With `events_path`, error and critical events are also appended there (the rollout gates
    count them per asset); the sink is returned so its owner can check it wrote (`failure`).
    """
    use_json = not sys.stdout.isatty() if json is None else json
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    sink = None
    if events_path is not None:
        from engine_alpha.ops.events import EventFileSink

        sink = EventFileSink(events_path)
        processors.append(sink)
    if use_json:
        processors.append(structlog.processors.JSONRenderer(serializer=orjson.dumps))
        factory: Any = structlog.BytesLoggerFactory(sys.stdout.buffer)
    else:
        processors += [readable_fields, structlog.dev.ConsoleRenderer()]
        factory = structlog.PrintLoggerFactory(sys.stdout)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    return sink
