"""SdNotifier speaks systemd's notify protocol to a real AF_UNIX datagram socket."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine_alpha.daemon.sd_notify import SdNotifier, monotonic_usec


class _Listener:
    """The service manager's end: a bound datagram socket that hands back what it received."""

    def __init__(self, sock: socket.socket, address: str) -> None:
        self.sock = sock
        self.address = address

    def receive(self) -> str:
        return self.sock.recv(4096).decode()

    def assert_empty(self) -> None:
        self.sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            self.sock.recv(4096)


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[_Listener]:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(2.0)
        yield _Listener(sock, str(path))


@pytest.fixture
def notifier(listener: _Listener) -> SdNotifier:
    return SdNotifier({"NOTIFY_SOCKET": listener.address}, clock_usec=lambda: 123_456_789)


def test_ready_sends_ready(notifier: SdNotifier, listener: _Listener) -> None:
    assert notifier.ready() is True
    assert listener.receive() == "READY=1"


def test_ready_with_status_sends_both_in_one_datagram(
    notifier: SdNotifier, listener: _Listener
) -> None:
    assert notifier.ready("tasks=7 trading=ETHUSDT") is True
    assert listener.receive() == "READY=1\nSTATUS=tasks=7 trading=ETHUSDT"


def test_status_sends_status(notifier: SdNotifier, listener: _Listener) -> None:
    text = "tasks=3 trading=ETHUSDT,BTCUSDT last_bar=2024-01-01T00:00:00Z"
    assert notifier.status(text) is True
    assert listener.receive() == f"STATUS={text}"


def test_a_newline_in_a_status_cannot_inject_another_assignment(
    notifier: SdNotifier, listener: _Listener
) -> None:
    notifier.status("line one\nREADY=1")
    assert listener.receive() == "STATUS=line one READY=1"


def test_reloading_sends_reloading_with_the_monotonic_clock(
    notifier: SdNotifier, listener: _Listener
) -> None:
    assert notifier.reloading() is True
    assert listener.receive() == "RELOADING=1\nMONOTONIC_USEC=123456789"


def test_reloading_reads_clock_monotonic_in_microseconds(listener: _Listener) -> None:
    notifier = SdNotifier({"NOTIFY_SOCKET": listener.address})
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1_000
    notifier.reloading()
    after = monotonic_usec()
    first, second = listener.receive().split("\n")
    assert first == "RELOADING=1"
    key, value = second.split("=")
    assert key == "MONOTONIC_USEC"
    assert before <= int(value) <= after


def test_stopping_sends_stopping(notifier: SdNotifier, listener: _Listener) -> None:
    assert notifier.stopping() is True
    assert listener.receive() == "STOPPING=1"


def test_watchdog_sends_watchdog(notifier: SdNotifier, listener: _Listener) -> None:
    assert notifier.watchdog() is True
    assert listener.receive() == "WATCHDOG=1"


def test_a_reload_cycle_arrives_in_order(notifier: SdNotifier, listener: _Listener) -> None:
    notifier.ready()
    notifier.reloading()
    notifier.ready("reloaded")
    notifier.stopping()
    received = [listener.receive() for _ in range(4)]
    assert received == [
        "READY=1",
        "RELOADING=1\nMONOTONIC_USEC=123456789",
        "READY=1\nSTATUS=reloaded",
        "STOPPING=1",
    ]


def test_an_abstract_socket_is_addressed_with_a_leading_nul() -> None:
    name = f"chloe-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(2.0)
        notifier = SdNotifier({"NOTIFY_SOCKET": f"@{name}"})
        assert notifier.enabled
        assert notifier.ready() is True
        assert notifier.watchdog() is True
        assert sock.recv(4096) == b"READY=1"
        assert sock.recv(4096) == b"WATCHDOG=1"


def test_without_notify_socket_every_method_is_a_quiet_no_op() -> None:
    notifier = SdNotifier({})
    assert not notifier.enabled
    assert notifier.ready("x") is True
    assert notifier.reloading() is True
    assert notifier.stopping() is True
    assert notifier.status("x") is True
    assert notifier.watchdog() is True
    assert notifier.last_error is None


def test_the_default_environment_is_the_process_environment(
    listener: _Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", listener.address)
    assert SdNotifier().ready() is True
    assert SdNotifier.from_env().watchdog() is True
    assert listener.receive() == "READY=1"
    assert listener.receive() == "WATCHDOG=1"


def test_from_env_reads_a_given_mapping(listener: _Listener) -> None:
    notifier = SdNotifier.from_env({"NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "2000000"})
    assert notifier.address == listener.address
    assert notifier.watchdog_interval_s() == 1.0


def test_a_vanished_socket_returns_false_and_says_why(tmp_path: Path) -> None:
    notifier = SdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.watchdog() is False
    assert notifier.last_error is not None
    assert "FileNotFoundError" in notifier.last_error


def test_a_socket_nobody_listens_on_returns_false(tmp_path: Path) -> None:
    path = tmp_path / "closed"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
    notifier = SdNotifier({"NOTIFY_SOCKET": str(path)})
    assert notifier.ready() is False
    assert notifier.last_error is not None


def test_a_success_clears_the_last_error(tmp_path: Path, listener: _Listener) -> None:
    missing = SdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert missing.ready() is False
    present = SdNotifier({"NOTIFY_SOCKET": listener.address})
    assert present.ready() is True
    assert present.last_error is None


@pytest.mark.parametrize("address", ["relative/path", "@", "vsock:2:1234"])
def test_an_unusable_address_returns_false_without_raising(address: str) -> None:
    notifier = SdNotifier({"NOTIFY_SOCKET": address})
    assert notifier.enabled
    assert notifier.ready() is False
    assert notifier.last_error is not None
    assert address in notifier.last_error


def test_a_full_receive_queue_times_out_instead_of_blocking_forever(tmp_path: Path) -> None:
    path = tmp_path / "full"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        notifier = SdNotifier({"NOTIFY_SOCKET": str(path)}, send_timeout_s=0.05)
        assert notifier.watchdog() is True
        sent = 1
        while notifier.watchdog() and sent < 100_000:  # nobody reads: the queue fills up
            sent += 1
    assert notifier.last_error is not None
    assert "TimeoutError" in notifier.last_error


@pytest.mark.parametrize(
    ("environ", "expected_s"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"}, 15.0),
        ({"WATCHDOG_USEC": "1000"}, 0.0005),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),
        ({}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_PID": "4242"}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec_for_our_pid(
    environ: dict[str, str], expected_s: float | None
) -> None:
    notifier = SdNotifier(environ, pid=4242)
    assert notifier.watchdog_interval_s() == expected_s


def test_watchdog_pid_is_compared_with_the_current_process_by_default() -> None:
    ours = SdNotifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())})
    other = SdNotifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)})
    assert ours.watchdog_interval_s() == 15.0
    assert other.watchdog_interval_s() is None
