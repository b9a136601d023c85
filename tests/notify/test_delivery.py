"""Delivery through real apprise to a loopback receiver: what arrives, what a failing or stalled
service costs (retries, drops counted, never a wait for the caller), and no URL in a log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from engine_alpha.notify.delivery import STOP_KEEP, Delivery, _with_timeouts
from engine_alpha.notify.messages import Message
from engine_alpha.notify.secrets import NotifyTarget
from tests.notify_receiver import TOKEN, Receiver


class Log:
    """Collects what the delivery logs (as structlog would get it)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Any:
        return lambda event, **kw: self.lines.append((level, event, kw))


def _delivery(
    url: str, log: Log, *, unusable: str | None = None, origin: str = "test", **kw: Any
) -> Delivery:
    """A delivery to `url` (`json#1`), and to `unusable` (`nosuch#2`) when given."""
    options: dict[str, Any] = {
        "queue_size": 100,
        "timeout_s": 2.0,
        "retries": 2,
        "min_interval_s": 0.0,
    }
    options.update(kw)
    targets = [NotifyTarget(url, "json#1")]
    if unusable is not None:
        targets.append(NotifyTarget(unusable, "nosuch#2"))
    return Delivery(targets, origin=origin, log=log, **options)


def _message(i: int) -> Message:
    return Message("position_closed", f"title {i}", f"body {i}", "success")


def test_messages_arrive_in_order_with_title_body_and_type() -> None:
    log = Log()
    with Receiver() as receiver:
        delivery = _delivery(receiver.url, log)
        delivery.start()
        for i in range(5):
            assert delivery.offer(_message(i))
        counts = delivery.close(flush_s=10)
    assert (counts.sent, counts.dropped) == (5, 0)
    assert [(m["title"], m["message"], m["type"]) for m in receiver.messages] == [
        (f"title {i}", f"body {i}", "success") for i in range(5)
    ]
    assert receiver.paths == [f"/hook/{TOKEN}"] * 5
    assert TOKEN not in repr(log.lines)


def test_a_service_answering_500_is_retried_then_the_message_is_dropped_and_counted() -> None:
    log = Log()
    with Receiver("500") as receiver:
        delivery = _delivery(receiver.url, log, retries=2)
        delivery.start()
        delivery.offer(_message(1))
        counts = delivery.close(flush_s=15)
    assert receiver.requests == 3  # the first attempt and two retries
    assert (counts.sent, counts.dropped) == (0, 1)
    failed = [kw for level, event, kw in log.lines if event == "notification_failed"]
    assert failed == [
        {"notify_event": "position_closed", "target": "json#1", "attempts": 3, "dropped_so_far": 1}
    ]
    assert TOKEN not in repr(log.lines)


def test_a_stalled_service_never_makes_the_caller_wait_and_every_drop_is_counted() -> None:
    log = Log()
    with Receiver("stall", stall_s=30) as receiver:
        delivery = _delivery(receiver.url, log, queue_size=3, timeout_s=1.0, retries=0)
        delivery.start()
        started = time.monotonic()
        accepted = [delivery.offer(_message(i)) for i in range(50)]
        offering = time.monotonic() - started
        closing = time.monotonic()
        counts = delivery.close(flush_s=0.5)
        closed_in = time.monotonic() - closing
    assert offering < 0.5  # fifty offers, none waited for the stalled service
    assert closed_in < 2.0
    assert counts.sent == 0 and counts.dropped == 50  # every message accounted for
    assert accepted.count(False) >= 50 - 4  # the queue holds 3, the sender one more
    dropped = [kw for level, event, kw in log.lines if event == "notification_dropped"]
    assert dropped and all(kw["reason"] == "queue_full" for kw in dropped)
    assert len(dropped) < 10  # logged at the 1st, 2nd, 4th... drop, not 46 times
    closed = [kw for level, event, kw in log.lines if event == "notifications_closed"]
    assert closed[0]["dropped"] == 50 and closed[0]["sent"] == 0
    assert TOKEN not in repr(log.lines)


def test_sends_are_paced_per_target() -> None:
    with Receiver() as receiver:
        delivery = _delivery(receiver.url, Log(), min_interval_s=0.3)
        delivery.start()
        started = time.monotonic()
        for i in range(4):
            delivery.offer(_message(i))
        while len(receiver.messages) < 4 and time.monotonic() - started < 10:
            time.sleep(0.01)
        took = time.monotonic() - started
        counts = delivery.close(flush_s=10)
    assert counts.sent == 4 and took >= 0.9  # three waits of 0.3 s between four sends


def test_at_stop_only_the_newest_messages_go_out_at_once_and_the_backlog_is_counted() -> None:
    log = Log()
    with Receiver() as receiver:
        delivery = _delivery(receiver.url, log, min_interval_s=30.0)
        delivery.start()
        for i in range(20):
            delivery.offer(_message(i))
        while not receiver.messages:
            time.sleep(0.01)
        time.sleep(0.2)  # the sender holds message 1, waiting out the 30 s pacing
        started = time.monotonic()
        counts = delivery.close(flush_s=10)
        took = time.monotonic() - started
    # the first went out at once; pacing held the rest: at stop the one in hand and the
    # newest 5 go at once, and the 13 between are dropped
    assert took < 5
    assert [m["title"] for m in receiver.messages] == ["title 0", "title 1"] + [
        f"title {i}" for i in range(15, 20)
    ]
    assert (counts.sent, counts.dropped) == (7, 13)
    (stopping,) = [kw for _, event, kw in log.lines if kw.get("reason") == "stopping"]
    assert stopping["dropped_now"] == 13 and stopping["kept"] == 5


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("json://h/p", "json://h/p?cto=2&rto=2"),
        ("json://h/p?x=1", "json://h/p?x=1&cto=2&rto=2"),
        ("json://h/p?rto=9", "json://h/p?rto=9&cto=2"),
        ("json://h/p?cto=1&rto=9", "json://h/p?cto=1&rto=9"),
    ],
)
def test_timeouts_are_added_unless_the_url_sets_them(url: str, want: str) -> None:
    assert _with_timeouts(url, 2.0) == want


def test_a_url_apprise_cannot_use_is_named_once_and_the_other_targets_go_on() -> None:
    log = Log()
    with Receiver() as receiver:
        bad = f"nosuch://{TOKEN}"
        delivery = _delivery(
            receiver.url, log, unusable=bad, origin="CHLOE_NOTIFY_URLS", queue_size=10
        )
        delivery.start()  # the daemon does not wait for apprise to check the URLs
        for i in range(3):
            delivery.offer(_message(i))
        counts = delivery.close(flush_s=30)
    assert [m["title"] for m in receiver.messages] == ["title 0", "title 1", "title 2"]
    assert (counts.sent, counts.dropped) == (3, 3)  # the unusable target's three, not retried
    assert delivery.unusable == ["nosuch#2"]
    errors = [(event, kw) for level, event, kw in log.lines if level == "error"]
    assert [(e, kw["target"], kw["origin"]) for e, kw in errors] == [
        ("notify_target_unusable", "nosuch#2", "CHLOE_NOTIFY_URLS")
    ]
    assert not [e for _, e, _ in log.lines if e == "notification_failed"]
    assert TOKEN not in repr(log.lines)


def test_what_the_url_check_logs_is_still_sent_when_the_stop_comes_first() -> None:
    class Tap(Log):
        """As the daemon's log tap: an error line becomes a message on the same delivery."""

        def __getattr__(self, level: str) -> Any:
            def log(event: str, **kw: Any) -> None:
                self.lines.append((level, event, kw))
                if level == "error":
                    delivery.offer(Message("critical_error", f"error: {event}", kw["target"]))

            return log

    log = Tap()
    with Receiver() as receiver:
        delivery = _delivery(receiver.url, log, unusable="nosuch://x", queue_size=10, retries=0)
        delivery.start()
        counts = delivery.close(flush_s=60)  # at once: apprise is still importing
    assert [(m["title"], m["message"]) for m in receiver.messages] == [
        ("error: notify_target_unusable", "nosuch#2")
    ]
    assert (counts.sent, counts.dropped) == (1, 1)


def test_what_the_stop_says_is_sent_even_when_the_queue_is_full() -> None:
    log = Log()
    with Receiver() as receiver:
        delivery = _delivery(receiver.url, log, queue_size=3, min_interval_s=30.0)
        delivery.start()
        for i in range(20):
            delivery.offer(_message(i))  # a flooded replay: most are dropped as they come
        delivery.stopping()
        assert delivery.offer(Message("daemon_stopped", "Chloe stopped", "the figures"))
        counts = delivery.close(flush_s=10)
    titles = [m["title"] for m in receiver.messages]
    assert titles[-1] == "Chloe stopped"
    assert counts.sent == len(titles) and counts.sent + counts.dropped == 21


def test_the_backlog_kept_at_stop_goes_out_while_the_daemon_finishes() -> None:
    """stopping() sends the newest messages at once, before close(): the daemon's last gate
    reading overlaps them. What it offers then follows them, whatever the queue held."""
    log = Log()
    with Receiver() as receiver:
        delivery = _delivery(receiver.url, log, queue_size=8, min_interval_s=30.0)
        delivery.start()
        delivery.offer(_message(0))
        while not receiver.messages:
            time.sleep(0.01)
        delivery.offer(_message(1))
        time.sleep(0.2)  # the sender holds message 1, waiting out the 30 s pacing
        for i in range(2, 20):
            delivery.offer(_message(i))  # 2-9 queue, 10-19 are dropped
        delivery.stopping()
        deadline = time.monotonic() + 10
        while len(receiver.messages) < 2 + STOP_KEEP and time.monotonic() < deadline:
            time.sleep(0.01)
        before_close = [m["title"] for m in receiver.messages]
        assert delivery.offer(Message("daemon_stopped", "Chloe stopped", "the figures"))
        counts = delivery.close(flush_s=10)
    assert before_close == ["title 0", "title 1"] + [f"title {i}" for i in range(5, 10)]
    assert [m["title"] for m in receiver.messages] == [*before_close, "Chloe stopped"]
    assert (counts.sent, counts.dropped) == (8, 10 + 3)


def test_a_message_is_made_by_the_sender_only_when_it_goes_out() -> None:
    """A flooded replay queues summaries the stop then cuts: only the messages sent are made,
    on the sender's thread; one that fails to be made is logged and counted, and the rest go."""
    log = Log()
    made: list[tuple[int, str]] = []

    def maker(i: int) -> Callable[[], Message]:
        def make() -> Message:
            made.append((i, threading.current_thread().name))
            if i == 1:
                raise ValueError("no figures")
            return _message(i)

        return make

    with Receiver() as receiver:
        delivery = _delivery(receiver.url, log, queue_size=20, min_interval_s=30.0)
        delivery.start()
        for i in range(3):
            assert delivery.offer_made("position_closed", maker(i))
        while not receiver.messages:
            time.sleep(0.01)
        time.sleep(0.2)  # message 2 is in hand, waiting out the pacing
        for i in range(3, 20):
            assert delivery.offer_made("position_closed", maker(i))
        assert [i for i, _ in made] == [0, 1, 2]  # the 17 queued are not made yet
        counts = delivery.close(flush_s=10)
    sent = [2, *range(20 - STOP_KEEP, 20)]  # at stop: the one in hand and the newest kept
    assert [m["title"] for m in receiver.messages] == ["title 0"] + [f"title {i}" for i in sent]
    assert made == [(i, "chloe-notify") for i in [0, 1, *sent]]
    assert (counts.sent, counts.dropped) == (1 + len(sent), 1 + 17 - STOP_KEEP)
    unmade = [kw for level, event, kw in log.lines if event == "notification_unformattable"]
    assert len(unmade) == 1 and "no figures" in unmade[0]["problem"]


def test_at_stop_only_closes_and_daily_summaries_are_cut_every_other_kind_still_goes() -> None:
    """A slow apprise start and a short replay: the started message is still queued when the
    stop comes, behind a flood of closes. The flood is cut to its newest; the rest all go."""
    log = Log()
    started = Message("daemon_started", "Chloe started", "feed replay")
    error = Message("critical_error", "Chloe critical: strategy_failed", "symbol: ETHUSDT")
    with Receiver() as receiver:
        delivery = _delivery(receiver.url, log, min_interval_s=30.0)
        delivery.start()
        for i in range(2):
            delivery.offer(_message(i))
        while not receiver.messages:
            time.sleep(0.01)
        time.sleep(0.2)  # the sender holds message 1, waiting out the 30 s pacing
        delivery.offer(started)
        for i in range(2, 20):
            delivery.offer(_message(i))
        delivery.offer(error)
        counts = delivery.close(flush_s=10)
    flood = [f"title {i}" for i in range(20 - STOP_KEEP, 20)]
    titles = [m["title"] for m in receiver.messages]
    assert titles == ["title 0", "title 1", "Chloe started", *flood, error.title]
    assert (counts.sent, counts.dropped) == (len(titles), 18 - STOP_KEEP)
    (stopping,) = [kw for _, event, kw in log.lines if kw.get("reason") == "stopping"]
    assert stopping["dropped_now"] == 18 - STOP_KEEP and stopping["kept"] == STOP_KEEP + 2
