"""What the operator did, kept in `reports/events.jsonl` beside the daemon's error events.

`chloe enable` appends `asset_enabled` (who, when, the mode and, for `--force`, the blockers it
overrode); `chloe ack` appends `errors_acknowledged`. Both are at level info or warning, so they
are never counted as errors; the gates read them as the start of an error window
(`rollout.events.errors_by_symbol`), and status lists the forced enables. docs/rollout.md.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from engine_alpha.core.atomic_files import open_regular

__all__ = [
    "ACK_EVENT",
    "ENABLE_EVENT",
    "EventAppender",
    "forced_enables",
    "operator_record",
    "os_user",
]

ENABLE_EVENT = "asset_enabled"
ACK_EVENT = "errors_acknowledged"


def os_user() -> dict[str, str | None]:
    """Who runs the command: the OS user name of the real uid, and `SUDO_USER` under sudo."""
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = f"uid {uid}"
    return {"user": name, "sudo_user": os.environ.get("SUDO_USER") or None}


def operator_record(event: str, level: str, now: datetime, **fields: Any) -> dict[str, Any]:
    """One operator event: its name, level, UTC time (as the daemon's `timestamp`) and who."""
    stamp = now.isoformat().replace("+00:00", "Z")
    return {"event": event, "level": level, "timestamp": stamp, **os_user(), **fields}


def forced_enables(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every recorded `chloe enable --force`, oldest first, as status shows it."""
    keys = ("symbol", "mode", "timestamp", "user", "sudo_user", "overridden")
    return [
        {k: event.get(k) for k in keys}
        for event in events
        if event.get("event") == ENABLE_EVENT and event.get("forced") is True
    ]


class EventAppender:
    """`events.jsonl` opened for appending before a change is made, written once it is made.

    Opening first means a command that cannot leave its record changes nothing. A file this
    command creates gets the reports directory's owner, so a daemon running as that user (and
    a command run as root) can both keep appending to it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        self._fd = open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        if created and os.geteuid() == 0:
            owner = os.stat(path.parent)
            os.fchown(self._fd, owner.st_uid, owner.st_gid)

    def write(self, record: Mapping[str, Any]) -> None:
        """Append `record` as one line (a single write) and make it durable."""
        data = memoryview(orjson.dumps(record, default=str) + b"\n")
        while data:
            data = data[os.write(self._fd, data) :]
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)
