"""The daemon's notifications: built at start, told of each commit, closed after the last log.

The gates are read off the event loop (a thread), after a UTC day ends and at most every
`gate_check_interval_s`, and once more at stop; a reading compared with the one before gives
gate met / gate lost. The first reading reads the reports in full; later ones use those lines
and records with what this run has made durable since (each commit's journal lines, the signal
log's flushed records: the files' contents, not read again) and the events file as it is.
Reports too large to read at start are not read here either.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.daemon.startup_gates import reports_too_large, rollout_of
from engine_alpha.ledger.signal_log import SignalLog
from engine_alpha.notify.delivery import DeliveryCounts
from engine_alpha.notify.notifier import Notifier
from engine_alpha.ops.events import EVENTS_FILE, EventFileSink
from engine_alpha.ops.gates import RolloutState
from engine_alpha.ops.reports_reader import load_reports, read_jsonl

_Inputs = tuple[list[Mapping[str, Any]], list[dict[str, Any]]]

__all__ = ["DaemonNotifications"]


class DaemonNotifications:
    """One run's notifier with its gate readings."""

    def __init__(
        self,
        notifier: Notifier,
        config: ChloeConfig,
        reports_dir: Path,
        log: Any,
        signal_log: SignalLog,
    ) -> None:
        self.notifier = notifier
        self.config = config
        self.reports_dir = reports_dir
        self._log = log
        self._signal_log = signal_log
        self._gates_on = notifier.wants("gate_met") or notifier.wants("gate_lost")
        self._reading: asyncio.Task[RolloutState | None] | None = None
        self._last_reading = -math.inf
        self._events: EventFileSink | None = None
        self._lines: list[Mapping[str, Any]] | None = None
        self._signals: list[dict[str, Any]] | None = None
        self.first_reading: RolloutState | None = None
        """The gates as read at start (the start-up warnings use it too)."""
        self.last_reading: RolloutState | None = None

    async def start(
        self, events: EventFileSink | None, *, feed: str, trading: Sequence[str], lines: int
    ) -> None:
        """Tap the log, start delivering (the sender's first lines, an unusable URL, reach the
        tap), take the first gate reading, say the daemon started."""
        if events is not None:
            events.tap = self.notifier.log_event
            self._events = events
        self.notifier.start()
        if self._gates_on and self._still_readable():
            self.first_reading = await asyncio.to_thread(self._read_gates, None, first=True)
            if self._lines is not None and self._signals is not None:
                self._signal_log.keep(self._signals)
        self.notifier.started(feed=feed, trading=trading, journal_lines=lines)
        self._log.info("notifications_on", targets=self.notifier.delivery.target_names)

    def _still_readable(self) -> bool:
        """False (and gate notifications off for this run) once the reports grew too large."""
        too_large = reports_too_large(self.reports_dir)
        if too_large is not None:
            self._log.info("gate_notifications_off", reports_bytes=too_large)
            self._gates_on = False
            self._lines = self._signals = None
            self._signal_log.keep(None)
        return self._gates_on

    def _inputs(self) -> _Inputs | None:
        """Copies of what is kept (a thread reads them while the loop appends)."""
        if self._lines is None or self._signals is None:
            return None
        return list(self._lines), list(self._signals)

    def _read_gates(self, inputs: _Inputs | None, *, first: bool = False) -> RolloutState | None:
        """A reading from `inputs` (None: the reports read in full; the first one is kept)."""
        lines: Sequence[Mapping[str, Any]]
        try:
            if inputs is not None:
                lines, signals = inputs
                events, _ = read_jsonl(self.reports_dir / EVENTS_FILE)
            else:
                snapshot = load_reports(self.reports_dir)
                lines, signals, events = snapshot.lines, snapshot.signals, snapshot.events
            state = rollout_of(self.config, self.reports_dir, lines, signals, events)
            if first:
                self._lines, self._signals = list(lines), list(signals)
        except Exception as exc:  # noqa: BLE001 - a reading that fails costs a reading, no more
            self._log.warning("gate_reading_failed", problem=repr(exc))
            return None
        self.notifier.rollout(state)
        self.last_reading = state
        return state

    def committed(
        self,
        lines: Sequence[Mapping[str, Any]],
        reached_ms: int | None,
        now: float,
        first_ms: int | None = None,
    ) -> None:
        """A commit: its closes and the days it ended; a gate reading when one is due.

        `reached_ms` is the open time of the last bar stepped: its close ends a UTC day when
        it is the day's last bar (the 23:00 bar at 00:00).
        """
        if first_ms is not None:
            self.notifier.tally.begin(first_ms)
        if self._lines is not None:
            self._lines += lines
        days = self.notifier.committed(lines, self.closed_at(reached_ms))
        if not (days and self._gates_on) or (self._reading and not self._reading.done()):
            return
        if now - self._last_reading < self.config.paper.notifications.gate_check_interval_s:
            return
        if not self._still_readable():
            return
        self._last_reading = now
        reading = asyncio.to_thread(self._read_gates, self._inputs())
        self._reading = asyncio.create_task(reading, name="gates")

    def closed_at(self, bar_ts: int | None) -> int | None:
        """When the bar that opened at `bar_ts` closed."""
        return None if bar_ts is None else bar_ts + self.config.timeframe_ms

    async def settle(self) -> None:
        """Wait for a gate reading in progress (at stop)."""
        if self._reading is not None:
            await asyncio.gather(self._reading, return_exceptions=True)

    def reconfigure(self, config: ChloeConfig) -> None:
        """A reload: new per-event choices and gates; the URLs stay those read at start."""
        self.config = config
        self.notifier.settings = config.paper.notifications

    def finish(self, *, stopped: dict[str, Any] | None) -> DeliveryCounts:
        """After the daemon's last log line: a last gate reading, the stop message (a clean
        stop), then drain and close (blocks up to `flush_s`). What the stop says is sent
        whatever the queue held (Delivery.stopping)."""
        self.notifier.delivery.stopping()
        if stopped is not None:
            if self._gates_on and self._still_readable():
                self._read_gates(self._inputs())
            self.notifier.stopped(**stopped)
        counts = self.notifier.close()  # what closing logs (apprise's URL check) still goes
        if self._events is not None:
            self._events.tap = None
        return counts
