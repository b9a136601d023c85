"""The daemon's notifications: built at start, told of each commit, closed after the last log.

The gates are read off the event loop (a thread), after a UTC day ends and at most every
`gate_check_interval_s`, and once more at stop; a reading compared with the one before gives
gate met / gate lost. The first reading reads the reports in full and keeps them folded (the
journal's history, the signal records' figures by asset); each later one folds in only what
this run has made durable since (each commit's journal lines; the signal log's flushed records,
folded on the loop as each flush ends, so no record is held: the files' contents, not read
again) and reads the events file as it is. After a reading or a fold fails, every later reading
reads the reports in full. Reports too large to read at start are not read here either.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.daemon.startup_gates import reports_too_large, rollout_of
from engine_alpha.ledger.signal_log import SignalLog
from engine_alpha.notify.delivery import DeliveryCounts
from engine_alpha.notify.notifier import Notifier
from engine_alpha.ops.events import EVENTS_FILE, EventFileSink
from engine_alpha.ops.gates import RolloutState
from engine_alpha.ops.history import LedgerHistory, fold_history
from engine_alpha.ops.reports_reader import load_reports, read_jsonl
from engine_alpha.ops.signal_digest import SignalDigest

_New = tuple[list[Mapping[str, Any]], SignalDigest]

__all__ = ["DaemonNotifications"]


@dataclass(slots=True)
class _Folded:
    """The reports as of the last reading: only the reading thread touches it."""

    history: LedgerHistory
    signals: SignalDigest


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
        self._folding = False  # the loop's: collect what is made durable for the next reading
        self._folded: _Folded | None = None
        # made durable since the last reading (the loop appends, a reading takes them)
        self._new_lines: list[Mapping[str, Any]] = []
        self._new_signals = SignalDigest()
        self._fold_failed = False  # a flushed record the digest refused: read in full next
        self.first_reading: RolloutState | None = None
        """The gates as read at start (the start-up warnings use it too)."""
        self.last_reading: RolloutState | None = None
        self._last_state: Future[RolloutState | None] | None = None  # the stop's, once begun

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
            self.first_reading = await asyncio.to_thread(self._read_gates, None, True)
            if self._folded is not None:
                self._folding = True
                self._signal_log.keep(self._flushed)
        self.notifier.started(feed=feed, trading=trading, journal_lines=lines)
        self._log.info("notifications_on", targets=self.notifier.delivery.target_names)

    def _still_readable(self) -> bool:
        """False (and gate notifications off for this run) once the reports grew too large."""
        too_large = reports_too_large(self.reports_dir)
        if too_large is not None:
            self._log.info("gate_notifications_off", reports_bytes=too_large)
            self._gates_on = False
            self._stop_folding()
        return self._gates_on

    def _stop_folding(self) -> None:
        self._folding = False
        self._folded = None
        self._new_lines, self._new_signals = [], SignalDigest()
        self._signal_log.keep(None)

    def _flushed(self, records: list[dict[str, Any]]) -> None:
        """The signal log's flush, durable: fold its records (on the loop, never raising)."""
        if self._fold_failed:
            return
        try:
            self._new_signals.extend(records)
        except Exception as exc:  # noqa: BLE001 - the flush succeeded; the next reading reads all
            self._fold_failed = True
            self._log.warning("gate_fold_failed", problem=repr(exc))

    def _take_new(self) -> _New | None:
        """What was made durable since the last reading (None: the reports are read in full).
        On the loop, between readings: the commits and the signal log's flushes append there."""
        if not self._folding:
            return None
        if self._folded is None or self._fold_failed:  # the last reading or a fold failed
            self._stop_folding()
            return None
        lines, self._new_lines = self._new_lines, []
        signals, self._new_signals = self._new_signals, SignalDigest()
        return lines, signals

    def _read_gates(self, new: _New | None, first: bool = False) -> RolloutState | None:
        """A reading, applied: the notifier compares it with the last one."""
        state = self._gate_state(new, first)
        if state is not None:
            self._apply(state)
        return state

    def _gate_state(self, new: _New | None, first: bool = False) -> RolloutState | None:
        """A reading: `new` folded into the last one, or (None) the reports read in full; the
        first reading's are kept folded."""
        folded, self._folded = self._folded, None  # a fold that fails may be half done
        try:
            if new is None or folded is None:
                snapshot = load_reports(self.reports_dir)
                history, signals = fold_history(snapshot.lines), SignalDigest(snapshot.signals)
                events, keep = snapshot.events, first
            else:
                history, signals = folded.history, folded.signals
                for line in new[0]:
                    history.apply(line)
                signals.merge(new[1])
                events, _ = read_jsonl(self.reports_dir / EVENTS_FILE)
                keep = True
            state = rollout_of(self.config, self.reports_dir, history, signals, events)
        except Exception as exc:  # noqa: BLE001 - a reading that fails costs a reading, no more
            self._log.warning("gate_reading_failed", problem=repr(exc))
            return None
        if keep:
            self._folded = _Folded(history, signals)
        return state

    def _apply(self, state: RolloutState) -> None:
        self.notifier.rollout(state)
        self.last_reading = state

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
        days = self._take_commit(lines, reached_ms)
        if not (days and self._gates_on) or (self._reading and not self._reading.done()):
            return
        if now - self._last_reading < self.config.paper.notifications.gate_check_interval_s:
            return
        if not self._still_readable():
            return
        self._last_reading = now
        reading = asyncio.to_thread(self._read_gates, self._take_new())
        self._reading = asyncio.create_task(reading, name="gates")

    def _take_commit(self, lines: Sequence[Mapping[str, Any]], reached_ms: int | None) -> int:
        """A commit's lines kept for the next reading's fold, its closes and days told to the
        notifier; how many days closed."""
        if self._folding:
            self._new_lines += lines
        return self.notifier.committed(lines, self.closed_at(reached_ms))

    def last_commit(self, lines: Sequence[Mapping[str, Any]], reached_ms: int | None) -> None:
        """The stop's commit, the run's last: its closes and days, then the stop begins at
        once beside the daemon's last writes: the backlog kept at stop goes out, and the last
        gate reading (of the journal as it now stays) runs on a thread, its messages held
        until `finish` knows the stop is clean."""
        self._take_commit(lines, reached_ms)
        self.notifier.delivery.stopping()
        if self._gates_on and self._still_readable():
            self._last_state = Future()
            reading = (self._last_state, self._take_new())
            threading.Thread(
                target=self._settle_last, args=reading, name="chloe-gates-last", daemon=True
            ).start()

    def _settle_last(self, last: Future[RolloutState | None], new: _New | None) -> None:
        try:
            last.set_result(self._gate_state(new))
        except BaseException as exc:  # noqa: BLE001 - finish() must never wait for nothing
            last.set_exception(exc)

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
        """After the daemon's last log line: the last gate reading's messages (that reading
        began at the stop's commit, `last_commit`; without one it is read here), the stop
        message (a clean stop), then drain and close (blocks up to `flush_s`). What the stop
        says is sent whatever the queue held (Delivery.stopping)."""
        self.notifier.delivery.stopping()
        if stopped is not None:
            if self._last_state is not None:
                state = None if self._last_state.exception() else self._last_state.result()
                if state is not None:
                    self._apply(state)
            elif self._gates_on and self._still_readable():
                self._read_gates(self._take_new())
            self.notifier.stopped(**stopped)
        counts = self.notifier.close()  # what closing logs (apprise's URL check) still goes
        if self._events is not None:
            self._events.tap = None
        return counts
