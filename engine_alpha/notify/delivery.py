"""Delivery through apprise on a thread of its own, behind a bounded queue.

The daemon only ever calls `offer`, which never blocks: a full queue drops the message (counted
and logged), so a slow or dead notification service cannot delay a bar, a fill or a journal
commit. The sender thread sends each message to each target with a socket timeout, tenacity
retries with exponential waits, and at most one send per `min_interval_s` per target (chat
services throttle bots). apprise itself runs in a child process (apprise_process.py): the
thread only writes a request to it and waits for the answer, off the event loop and without the
daemon's interpreter lock; the thread is a daemon thread, so a send stuck at stop never holds
the process. Logs name a target by its scheme and place (`tgram#1`), never by its URL.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tenacity import RetryError, Retrying, retry_if_result, stop_after_attempt, wait_exponential

from engine_alpha.core.child_process import ChildGoneError
from engine_alpha.notify.apprise_process import AppriseProcess
from engine_alpha.notify.messages import Message
from engine_alpha.notify.secrets import NotifyTarget

__all__ = ["Delivery", "DeliveryCounts"]

_END = object()
"""Put after the last message at stop: the sender thread ends on it."""
STOP_KEEP = 5
"""Queued position-closed and daily-summary messages still sent at stop: the newest ones."""
FLOOD_EVENTS = frozenset({"position_closed", "daily_summary"})
"""The kinds a replay makes by the thousand: the only ones the stop cuts."""
LOAD_TIMEOUT_S = 120.0
"""How long the apprise process may take to start and check the URLs (a slow box's imports)."""


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """Deliveries (message x target) made and not made: queue full, retries spent, or left
    queued at stop."""

    sent: int
    dropped: int


def _with_timeouts(url: str, timeout_s: float) -> str:
    """The URL with apprise's connect and read timeouts (`cto`, `rto`) unless it sets them."""
    query = url.partition("?")[2]
    keys = {part.partition("=")[0] for part in query.split("&") if part}
    extra = [f"{k}={timeout_s:g}" for k in ("cto", "rto") if k not in keys]
    if not extra:
        return url
    return url + ("&" if query else "" if url.endswith("?") else "?") + "&".join(extra)


@dataclass(slots=True)
class _Target:
    """One apprise URL (by its place in the apprise process) and its send pacing."""

    name: str
    index: int
    next_send: float = 0.0
    usable: bool = True
    """False once apprise said it cannot use the URL: its messages are dropped, not tried."""


class Delivery:
    """The queue, the sender thread and its counts."""

    def __init__(
        self,
        targets: Sequence[NotifyTarget],
        *,
        origin: str,
        queue_size: int,
        timeout_s: float,
        retries: int,
        min_interval_s: float,
        log: Any,
        apprise: AppriseProcess | None = None,
    ) -> None:
        self._apprise = apprise or AppriseProcess()
        self._urls = [_with_timeouts(t.url, timeout_s) for t in targets]
        self._origin = origin
        self._targets = [_Target(t.name, i) for i, t in enumerate(targets)]
        # apprise bounds each connect and read by `timeout_s`; a plugin may make a few requests.
        self._reply_timeout_s = 4 * timeout_s + 5.0
        # Unbounded underneath: offer_made enforces `queue_size`, so close() can always add
        # the end marker that stops the sender the moment the queue is drained.
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._size = queue_size
        # the daemon's and a gate reading's offers; reentrant: a line close() logs may offer
        self._offer_lock = threading.RLock()
        self._stopping = False  # offers are queued whatever the queue holds (see stopping())
        self._retries = retries
        self._min_interval_s = min_interval_s
        self._log = log
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._work, name="chloe-notify", daemon=True)
        self._lock = threading.Lock()  # the sender's counts against close()'s final tally
        self._sent = 0
        self._failed = 0
        self._full = 0  # written by the offering thread only
        self._left = 0
        self._remaining = 0  # targets the message in hand has still to go to
        self._paced = True  # False while stopping: what is left goes out at once
        self._hurry = threading.Event()  # set at stop: cuts a pacing or retry wait short
        self._loaded = threading.Event()  # apprise has checked the URLs (and said so)

    @property
    def counts(self) -> DeliveryCounts:
        """What has been delivered and dropped so far."""
        return DeliveryCounts(self._sent, self._failed + self._full + self._left)

    @property
    def target_names(self) -> list[str]:
        return [t.name for t in self._targets]

    @property
    def unusable(self) -> list[str]:
        """Targets apprise could not use (known once the sender has loaded the URLs)."""
        return [t.name for t in self._targets if not t.usable]

    def start(self) -> None:
        self._thread.start()

    def offer(self, message: Message) -> bool:
        """Queue `message` without waiting; False (and counted, logged) when the queue is full."""
        return self.offer_made(message.event, lambda: message)

    def offer_made(self, event: str, make: Callable[[], Message]) -> bool:
        """Queue `make` without waiting; the sender calls it when the message goes out, so a
        message is formatted off the caller's thread and only if sent (a replay floods the
        queue with summaries the stop then cuts). When the queue is full the drop is counted
        and logged. `make` must read only what no one changes later."""
        with self._offer_lock:
            if self._stopping:
                self._queue.put((event, make))
                return True
            if self._queue.qsize() < self._size:
                self._queue.put((event, make))
                return True
            self._full += len(self._targets)
        drops = self._full // max(1, len(self._targets))
        if drops & (drops - 1) == 0:  # the 1st, 2nd, 4th, 8th... drop: logged, not flooded
            self._log.warning(
                "notification_dropped",
                notify_event=event,
                reason="queue_full",
                queue_size=self._size,
                dropped_so_far=self.counts.dropped,
            )
        return False

    def stopping(self) -> None:
        """The daemon is stopping: the backlog is cut to what goes at stop and sent at once,
        while the daemon finishes (its last gate reading); what is offered from now on (that
        reading's messages, the stop message, an error the stop logs) is queued after it,
        whatever the queue holds.

        With pacing (`min_interval_s` > 0) only the newest STOP_KEEP of the queued position
        closed and daily summary messages go: a backlog of those at stop means the sends fell
        behind the service's rate (a flooded replay), and neither waiting it out nor bursting
        it at the service would serve the operator. Every other kind queued (started, gate met
        or lost, a feed change, an error) goes: there are few, and each says something once.
        """
        with self._offer_lock:
            if not self._stopping:
                self._stopping = True
                self._cut_backlog()

    def close(self, flush_s: float) -> DeliveryCounts:
        """Stop (if `stopping` was not called), send what is queued for up to `flush_s`
        seconds, then count the rest as dropped."""
        deadline = time.monotonic() + flush_s
        self.stopping()
        if self._thread.is_alive():  # what the URLs' check logs (an unusable one) goes too
            self._loaded.wait(max(0.0, deadline - time.monotonic()))
        with self._offer_lock:
            self._queue.put(_END)  # the sender ends there
        if self._thread.is_alive():
            self._thread.join(timeout=max(0.0, deadline - time.monotonic()))
        return self._count_left()

    def _cut_backlog(self) -> None:
        """Cut the backlog to what goes at stop and stop pacing."""
        backlog = []
        while True:
            try:
                backlog.append(self._queue.get_nowait())
            except queue.Empty:
                break
        paced = self._min_interval_s > 0  # unpaced targets take the whole backlog
        floods = [i for i, item in enumerate(backlog) if item[0] in FLOOD_EVENTS]
        dropped = set(floods[: max(0, len(floods) - STOP_KEEP)] if paced else ())
        cut = len(dropped)
        if cut:
            self._full += cut * len(self._targets)
            self._log.warning(
                "notification_dropped",
                reason="stopping",
                dropped_now=cut,
                kept=len(backlog) - cut,
                dropped_so_far=self.counts.dropped,
            )
        self._paced = False
        self._hurry.set()
        for i, item in enumerate(backlog):
            if i not in dropped:
                self._queue.put(item)

    def _count_left(self) -> DeliveryCounts:
        """After the flush: end apprise's child, count what was not sent, log the totals."""
        self._apprise.close()  # wakes a send still waiting, which then fails
        left = 0
        with self._lock:
            self._closing.set()
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                left += item is not _END
            self._left += left * len(self._targets) + self._remaining
            self._remaining = 0
            counts = self.counts
        self._log.info(
            "notifications_closed",
            sent=counts.sent,
            dropped=counts.dropped,
            left_at_stop=left,
            targets=self.target_names,
        )
        return counts

    def _load(self) -> None:
        """Have apprise check the URLs: done here, not at start, so the daemon never waits for
        apprise's imports; a URL it cannot use is an error line naming it, and its messages
        are dropped (counted) while the other targets go on."""
        try:
            usable = self._apprise.load(self._urls, LOAD_TIMEOUT_S)
        except ChildGoneError as exc:
            usable = [False] * len(self._targets)
            self._log.error("notifications_unavailable", problem=str(exc), origin=self._origin)
        try:
            self._name_unusable(usable)
        finally:
            self._loaded.set()

    def _name_unusable(self, usable: list[bool]) -> None:
        for target, ok in zip(self._targets, usable, strict=True):
            target.usable = ok
            if not ok:
                self._log.error(
                    "notify_target_unusable",
                    target=target.name,
                    origin=self._origin,
                    hint="not an apprise URL this installation can use: check its scheme "
                    "and fields (https://github.com/caronc/apprise/wiki), then "
                    "`chloe notify test`",
                )

    def _work(self) -> None:
        self._load()
        while not self._closing.is_set():
            item = self._queue.get()
            if item is _END:
                return
            message = self._made(item[1])
            with self._lock:
                if self._closing.is_set():
                    return
                if message is None:
                    self._failed += len(self._targets)
                    continue
                self._remaining = len(self._targets)
            for target in self._targets:
                if self._closing.is_set():
                    return  # close() counts what is left
                self._send(target, message)

    def _made(self, make: Callable[[], Message]) -> Message | None:
        """The queued message, formatted; None (logged, counted as failed) when that fails."""
        try:
            return make()
        except Exception as exc:  # noqa: BLE001 - one bad message never stops the sender
            self._log.error("notification_unformattable", problem=repr(exc))
            return None

    def _pause(self, seconds: float) -> None:
        """Wait between retries, cut short by close()."""
        self._hurry.wait(seconds)

    def _send(self, target: _Target, message: Message) -> None:
        if not target.usable:
            with self._lock:
                if not self._closing.is_set():
                    self._remaining -= 1
                    self._failed += 1
            return

        def attempt() -> bool:
            wait = target.next_send - time.monotonic()
            if wait > 0 and self._paced:
                self._hurry.wait(wait)
            target.next_send = time.monotonic() + self._min_interval_s
            if self._closing.is_set():
                return True  # not sent; counted as left below
            try:
                return self._apprise.send(
                    target.index,
                    title=message.title,
                    body=message.body,
                    level=message.level,
                    timeout_s=self._reply_timeout_s,
                )
            except ChildGoneError:
                return False

        retrying = Retrying(
            stop=stop_after_attempt(self._retries + 1),
            wait=wait_exponential(multiplier=0.5, max=30.0),
            retry=retry_if_result(lambda ok: ok is False),
            sleep=self._pause,
        )
        try:
            retrying(attempt)
            failed = False
        except RetryError:
            failed = True
        with self._lock:
            if self._closing.is_set():
                return  # counted by close()
            self._remaining -= 1
            if failed:
                self._failed += 1
            else:
                self._sent += 1
        if failed:
            self._log.warning(
                "notification_failed",
                notify_event=message.event,
                target=target.name,
                attempts=self._retries + 1,
                dropped_so_far=self.counts.dropped,
            )
