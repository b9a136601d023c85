"""A progress bar for people: done/total, percent and ETA on stderr when it is a terminal.

Silent when stderr is not a terminal (systemd, a pipe, a JSON log): nothing is written at all.
"""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["TerminalProgress"]


class TerminalProgress:
    """`label [bar] done/total unit  pct%  ETA h:mm:ss  elapsed h:mm:ss`, or nothing."""

    def __init__(self, label: str, unit: str, *, enabled: bool, console: Console | None = None):
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if enabled:
            self._progress = Progress(
                TextColumn(label),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(unit),
                TaskProgressColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("elapsed"),
                TimeElapsedColumn(),
                console=console or Console(file=sys.stderr),
                transient=True,
            )

    @classmethod
    def on_stderr_tty(cls, label: str, unit: str) -> TerminalProgress:
        """Enabled only when stderr is a terminal."""
        return cls(label, unit, enabled=sys.stderr.isatty())

    def __enter__(self) -> TerminalProgress:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task("", total=None)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def show(self, done: int, total: int | None) -> None:
        """`done` of `total` (None: not known yet, no percent or ETA)."""
        if self._progress is not None and self._task is not None:
            shown_total = None if total is None else max(total, done)
            self._progress.update(self._task, completed=done, total=shown_total)
