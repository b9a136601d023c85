"""The reports directory followed as the daemon appends to it: each `advance` reads only what
was added since the last one, so a reading of the gates beside a running daemon costs the new
lines, not the whole journal and signal log again.

What it holds equals `load_reports`' journal lines, signals and events for the same bytes (the
journal checked line by line the same way); a file that shrank or was replaced is read again
from its start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from engine_alpha.ledger.journal import JournalFollower
from engine_alpha.ledger.reports_dir import SIGNALS_FILE, TRADES_FILE
from engine_alpha.ops.events import EVENTS_FILE
from engine_alpha.ops.reports_reader import ReportsSnapshot, read_jsonl_from

__all__ = ["ReportsTail"]


@dataclass(slots=True)
class _Place:
    """How far one file has been read, and which file (inode) that was."""

    offset: int = 0
    inode: int | None = None


@dataclass(slots=True)
class ReportsTail:
    """The journal lines, signals and events read so far (`snapshot`), and where each stops."""

    reports_dir: Path
    snapshot: ReportsSnapshot = field(init=False)
    _journal: JournalFollower = field(init=False)
    _places: dict[str, _Place] = field(init=False)

    def __post_init__(self) -> None:
        self.snapshot = ReportsSnapshot(reports_dir=self.reports_dir)
        self._journal = JournalFollower(self.reports_dir / TRADES_FILE)
        self._places = {name: _Place() for name in (TRADES_FILE, SIGNALS_FILE, EVENTS_FILE)}

    def advance(self) -> None:
        """Read what the three files gained; JournalError when the journal's new part is
        damaged (what was read before stays)."""
        snap = self.snapshot
        for name in (TRADES_FILE, SIGNALS_FILE, EVENTS_FILE):
            path = self.reports_dir / name
            try:
                info = os.stat(path)
            except FileNotFoundError:
                snap.present[name] = False
                if self._places[name].offset:
                    self._restart(name)
                continue
            snap.present[name] = True
            place = self._places[name]
            replaced = place.inode is not None and info.st_ino != place.inode
            if replaced or info.st_size < place.offset:
                self._restart(name)
            place = self._places[name]
            place.inode = info.st_ino
            if info.st_size == place.offset:
                continue
            if name == TRADES_FILE:
                self._journal.read_new(snap.lines.append)
                place.offset = self._journal.offset
                continue
            records, skipped, place.offset = read_jsonl_from(path, place.offset)
            snap.skipped_lines[name] = snap.skipped_lines.get(name, 0) + skipped
            (snap.signals if name == SIGNALS_FILE else snap.events).extend(records)

    def _restart(self, name: str) -> None:
        """Forget what was read of `name`: it is read again from its start."""
        self._places[name] = _Place()
        snap = self.snapshot
        snap.skipped_lines.pop(name, None)
        if name == TRADES_FILE:
            self._journal = JournalFollower(self.reports_dir / TRADES_FILE)
            snap.lines.clear()
        elif name == SIGNALS_FILE:
            snap.signals.clear()
        else:
            snap.events.clear()
