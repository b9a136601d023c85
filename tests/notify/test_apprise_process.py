"""apprise in its own process: it answers over the pipe, keeps URLs off its command line and
environment, outlives a SIGTERM meant for the group, and is started again after it died or
hung."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from engine_alpha.core.child_process import ChildGoneError
from engine_alpha.notify.apprise_process import AppriseProcess
from engine_alpha.notify.secrets import URLS_ENV
from tests.notify_receiver import TOKEN, Receiver


def _send(process: AppriseProcess, text: str, timeout_s: float = 20.0) -> bool:
    return process.send(0, title=text, body=f"body {text}", level="info", timeout_s=timeout_s)


def test_urls_are_checked_and_sent_to_and_never_on_the_command_line_or_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(URLS_ENV, f"json://127.0.0.1:9/{TOKEN}")  # the daemon's, not the child's
    with Receiver() as receiver:
        process = AppriseProcess()
        try:
            assert process.load([receiver.url, f"nosuch://{TOKEN}"], 60) == [True, False]
            assert _send(process, "one")
            pid = process.pid
            assert pid is not None
            for part in ("cmdline", "environ"):
                assert TOKEN.encode() not in Path(f"/proc/{pid}/{part}").read_bytes()
        finally:
            process.close()
    assert [(m["title"], m["message"], m["type"]) for m in receiver.messages] == [
        ("one", "body one", "info")
    ]


def test_a_sigterm_to_the_group_leaves_it_sending_and_closing_ends_it() -> None:
    with Receiver() as receiver:
        process = AppriseProcess()
        process.load([receiver.url], 60)
        pid = process.pid
        assert pid is not None
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGINT)
        time.sleep(0.2)
        assert _send(process, "after the signals")
        process.close()
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # ended and reaped
    assert [m["title"] for m in receiver.messages] == ["after the signals"]
    assert process.spawned == 1


def test_a_killed_child_is_started_again_with_the_same_urls() -> None:
    with Receiver() as receiver:
        process = AppriseProcess()
        try:
            process.load([receiver.url], 60)
            first = process.pid
            assert first is not None
            os.kill(first, signal.SIGKILL)
            time.sleep(0.2)
            assert _send(process, "after a death")
            assert process.spawned == 2 and process.pid != first
        finally:
            process.close()
    assert [m["title"] for m in receiver.messages] == ["after a death"]


def test_a_child_that_does_not_answer_in_time_is_killed_and_the_next_send_works() -> None:
    with Receiver("stall", stall_s=30) as stalled, Receiver() as good:
        process = AppriseProcess()
        try:
            process.load([stalled.url + "?cto=30&rto=30", good.url], 60)
            started = time.monotonic()
            with pytest.raises(ChildGoneError, match="no answer in time"):
                _send(process, "stuck", timeout_s=1.0)
            assert time.monotonic() - started < 5
            sent = process.send(1, title="next", body="b", level="info", timeout_s=20)
            assert sent and process.spawned == 2
        finally:
            process.close()
    assert [m["title"] for m in good.messages] == ["next"]


def test_a_send_after_close_fails_without_starting_a_child() -> None:
    process = AppriseProcess()
    process.load(["json://127.0.0.1:9/x"], 60)
    process.close()
    with pytest.raises(ChildGoneError):
        _send(process, "late")
    assert process.spawned == 1
