"""Stop and reload signals that arrive while `chloe run` is still starting.

Python's default action for SIGTERM and SIGHUP is to die (exit 143, 129), and the daemon's
event loop installs its own handlers only once the config is read and the journal recovered.
`EarlySignals.install` runs first thing in `chloe run` and keeps what arrives until then; the
daemon honours it as soon as its loop handles signals (a stop: stop cleanly, exit 0; a reload:
re-read the config after the first bar time).
"""

from __future__ import annotations

import signal
from types import FrameType

__all__ = ["EarlySignals"]


class EarlySignals:
    """What arrived before the daemon's own handlers: the stop signal's name, a reload."""

    __slots__ = ("reload", "stop")

    def __init__(self) -> None:
        self.stop: str | None = None
        self.reload = False

    def install(self) -> EarlySignals:
        """Catch SIGTERM, SIGINT and SIGHUP from now on (the daemon takes them over later)."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        signal.signal(signal.SIGHUP, self._reload)
        return self

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stop = signal.Signals(signum).name

    def _reload(self, _signum: int, _frame: FrameType | None) -> None:
        self.reload = True
