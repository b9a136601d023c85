"""The daemon's notifier: the events it is told of become messages on the delivery queue.

Built only when the operator gave apprise URLs; every event kind is on unless the paper
config's `notifications.events` turns it off. Nothing here blocks or raises into the caller:
`Delivery.offer` never waits, and a tap on the log never breaks a log call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.config.models import NOTIFY_EVENTS, NotificationSettings, NotifyEvent
from engine_alpha.core.units import DAY_MS
from engine_alpha.ledger.metrics import TradeStats
from engine_alpha.notify import messages
from engine_alpha.notify.apprise_process import AppriseProcess
from engine_alpha.notify.daily import DailyTally, lines_since
from engine_alpha.notify.delivery import Delivery, DeliveryCounts
from engine_alpha.notify.gate_watch import GateView, gate_changes, view_of
from engine_alpha.notify.messages import Message
from engine_alpha.notify.secrets import load_targets
from engine_alpha.ops.events import ERROR_LEVELS
from engine_alpha.ops.gates import RolloutState

__all__ = ["Notifier", "build_notifier", "delivery_for"]

_FEED_EVENTS: dict[str, bool] = {"feed_degraded": True, "feed_recovered": False}


class Notifier:
    """Turns what the daemon reports into messages for the operator's chosen events."""

    def __init__(self, settings: NotificationSettings, delivery: Delivery, tally: DailyTally):
        self.settings = settings
        self.delivery = delivery
        self.tally = tally
        self.gates: GateView | None = None

    def wants(self, event: NotifyEvent) -> bool:
        return self.settings.wants(event)

    def emit(self, message: Message) -> None:
        event = message.event
        if event == "test" or self.settings.wants(event):
            self.delivery.offer(message)

    def committed(self, lines: Sequence[Mapping[str, Any]], reached_ms: int | None) -> int:
        """A journal commit: a message per closed position, a summary per UTC day passed;
        returns how many days closed."""
        offer = self.delivery.offer_made
        if self.settings.wants("position_closed"):
            for line in lines:
                if line["action"] == "close":
                    offer("position_closed", partial(messages.position_closed, line))
        days = self.tally.advance(lines, reached_ms)
        if self.settings.wants("daily_summary"):
            for day in days:
                offer("daily_summary", day.message)
        return len(days)

    def rollout(self, state: RolloutState) -> None:
        """A new reading of the gates: gate met / gate lost against the last one."""
        view = view_of(state)
        for message in gate_changes(self.gates, view):
            self.emit(message)
        self.gates = view

    def log_event(self, level: str, event: Mapping[str, Any]) -> None:
        """A tap on the log (ops.events.EventFileSink): feed changes and errors."""
        name = event.get("event")
        if isinstance(name, str) and name in _FEED_EVENTS:
            self.emit(messages.feed_changed(event, _FEED_EVENTS[name]))
        elif level in ERROR_LEVELS:
            self.emit(messages.critical_error({**event, "level": level}))

    def started(self, *, feed: str, trading: Sequence[str], journal_lines: int) -> None:
        self.emit(messages.daemon_started(feed=feed, trading=trading, journal_lines=journal_lines))

    def stopped(self, *, fills: int, last_bar_ts: int | None, portfolio: TradeStats) -> None:
        message = messages.daemon_stopped(fills=fills, last_bar_ts=last_bar_ts, portfolio=portfolio)
        self.emit(message)

    def start(self) -> None:
        self.delivery.start()

    def close(self) -> DeliveryCounts:
        """Drain for up to `flush_s`, then count what is left (blocking: call off the loop)."""
        return self.delivery.close(self.settings.flush_s)


def delivery_for(
    config: ChloeConfig,
    config_dir: Path,
    log: Any,
    environ: Mapping[str, str] | None = None,
    *,
    apprise: AppriseProcess | None = None,
) -> Delivery | None:
    """This run's delivery (not started), or None when no URLs are given or every event is
    off. Raises ConfigError for a bad secrets source (named, never quoted): called before the
    daemon touches its reports. The URLs themselves are checked by apprise later, in the
    sender (an unusable one is an error line, not a refused start). `apprise`: a process already
    started for it."""
    settings = config.paper.notifications
    targets, origin = load_targets(config_dir, environ)
    if not targets or not any(settings.wants(e) for e in NOTIFY_EVENTS):
        return None
    return Delivery(
        targets,
        origin=origin,
        queue_size=settings.queue_size,
        timeout_s=settings.timeout_s,
        retries=settings.retries,
        min_interval_s=settings.min_interval_s,
        log=log,
        apprise=apprise,
    )


def build_notifier(
    config: ChloeConfig,
    delivery: Delivery,
    *,
    past: Mapping[str, Iterable[float]],
    portfolio_past: Iterable[float],
    journal: Path,
    resume_after_ms: int | None,
    equity: Mapping[str, Any],
) -> Notifier:
    """The notifier over `delivery`, its daily tally carried on from the journal."""
    tally = DailyTally(
        past,
        portfolio_past,
        starting_equity_usd=equity["starting_equity_usd"],
        asset_equity_usd=equity["asset_equity_usd"],
        day_ms=resume_after_ms,
    )
    if resume_after_ms is not None:  # the day's closes before the restart
        tally.resume(lines_since(journal, resume_after_ms // DAY_MS * DAY_MS))
    return Notifier(config.paper.notifications, delivery, tally)
