"""A tiny, dependency-free client of systemd's notify protocol (sd_notify(3)).

systemd passes the address of its notification socket in ``NOTIFY_SOCKET``: a filesystem path
(``/run/systemd/notify``) or, when it starts with ``@``, a Linux abstract socket name. A message is
one ``AF_UNIX``/``SOCK_DGRAM`` datagram of newline-separated ``KEY=VALUE`` assignments. Without
``NOTIFY_SOCKET`` (a run from a terminal or a test) every method is a no-op.

Sending never raises: a failed send returns False and leaves the error in ``last_error`` for the
caller to log, because a notification that cannot be delivered must not take the daemon down (the
watchdog will say so soon enough if the socket is really gone).

Usage in the daemon::

    notifier = SdNotifier.from_env()             # reads NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID
    notifier.ready("tasks=7 trading=ETHUSDT")     # once the config is valid and the tasks run
    interval_s = notifier.watchdog_interval_s()   # None: no watchdog requested for this process
    notifier.watchdog()                           # every interval_s
    notifier.reloading(); ...; notifier.ready()   # around a SIGHUP reload
    notifier.stopping()                           # on SIGTERM
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping

__all__ = ["SdNotifier", "monotonic_usec"]

_DEFAULT_SEND_TIMEOUT_S = 1.0


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, the clock systemd reads ``MONOTONIC_USEC=`` against."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1_000


def _socket_address(raw: str) -> str | bytes | None:
    """The ``sendto`` address for a ``NOTIFY_SOCKET`` value; None when it is not usable."""
    if raw.startswith("@") and len(raw) > 1:
        return b"\0" + raw[1:].encode()  # abstract namespace: a leading NUL byte, no file
    if raw.startswith("/"):
        return raw
    return None  # empty, relative, or a transport we do not speak (e.g. "vsock:")


def _one_line(text: str) -> str:
    """A STATUS value is one line: a newline inside it would start a new assignment."""
    return " ".join(text.splitlines())


class SdNotifier:
    """Notifies the service manager (systemd) about readiness, reloads, shutdown and liveness.

    All state is per instance and read once from ``environ`` (default: ``os.environ``), so tests
    can build one from a plain dict. ``pid`` (default: ``os.getpid()`` at call time) is the process
    that ``WATCHDOG_PID`` is compared with. ``clock_usec`` supplies ``MONOTONIC_USEC``.
    """

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        *,
        pid: int | None = None,
        clock_usec: Callable[[], int] = monotonic_usec,
        send_timeout_s: float = _DEFAULT_SEND_TIMEOUT_S,
    ) -> None:
        env = os.environ if environ is None else environ
        self._raw_address = env.get("NOTIFY_SOCKET", "")
        self._address = _socket_address(self._raw_address) if self._raw_address else None
        self._watchdog_usec = env.get("WATCHDOG_USEC")
        self._watchdog_pid = env.get("WATCHDOG_PID")
        self._pid = pid
        self._clock_usec = clock_usec
        self._send_timeout_s = send_timeout_s
        self.last_error: str | None = None
        """Why the last failed send failed (None after a success); for the caller's log line."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SdNotifier:
        """The notifier systemd asked for in this process's environment (or in ``environ``)."""
        return cls(environ)

    @property
    def enabled(self) -> bool:
        """True when ``NOTIFY_SOCKET`` was set: messages are actually sent."""
        return bool(self._raw_address)

    @property
    def address(self) -> str:
        """The ``NOTIFY_SOCKET`` value as given ("" when unset), for log lines."""
        return self._raw_address

    def ready(self, status: str | None = None) -> bool:
        """Start-up (or a reload) is complete: ``READY=1``, with an optional ``STATUS=``."""
        fields = ["READY=1"]
        if status is not None:
            fields.append(f"STATUS={_one_line(status)}")
        return self.notify(*fields)

    def reloading(self) -> bool:
        """A reload begins: ``RELOADING=1`` plus ``MONOTONIC_USEC=`` (Type=notify-reload needs it).

        ``ready()`` must follow once the reload is done, whether the new config was taken or not.
        """
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={self._clock_usec()}")

    def stopping(self) -> bool:
        """Shutdown begins: ``STOPPING=1``."""
        return self.notify("STOPPING=1")

    def status(self, text: str) -> bool:
        """A one-line free-form status shown by ``systemctl status``: ``STATUS=<text>``."""
        return self.notify(f"STATUS={_one_line(text)}")

    def watchdog(self) -> bool:
        """Keep-alive ping: ``WATCHDOG=1``. Send it every ``watchdog_interval_s()`` seconds."""
        return self.notify("WATCHDOG=1")

    def watchdog_interval_s(self) -> float | None:
        """How often to call ``watchdog()``: half of ``WATCHDOG_USEC``, in seconds.

        None when no watchdog is requested: ``WATCHDOG_USEC`` unset, not a positive integer, or
        ``WATCHDOG_PID`` set to another process (the watchdog is then that process's duty).
        """
        if self._watchdog_usec is None:
            return None
        try:
            usec = int(self._watchdog_usec)
        except ValueError:
            return None
        if usec <= 0:
            return None
        if self._watchdog_pid is not None:
            our_pid = os.getpid() if self._pid is None else self._pid
            if self._watchdog_pid.strip() != str(our_pid):
                return None
        return usec / 2 / 1_000_000

    def notify(self, *fields: str) -> bool:
        """Send ``fields`` as one datagram of newline-separated assignments.

        True when sent, or when there is nothing to send to (``NOTIFY_SOCKET`` unset); False when
        a notification was due and could not be delivered (``last_error`` says why).
        """
        if not self._raw_address:
            return True
        if self._address is None:
            return self._failed(f"unsupported NOTIFY_SOCKET address {self._raw_address!r}")
        payload = "\n".join(fields).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.settimeout(self._send_timeout_s)  # a full queue must not hang the event loop
                sock.sendto(payload, self._address)
        except OSError as exc:  # includes TimeoutError, ConnectionRefusedError, FileNotFoundError
            return self._failed(f"{type(exc).__name__}: {exc}")
        self.last_error = None
        return True

    def _failed(self, reason: str) -> bool:
        self.last_error = reason
        return False
