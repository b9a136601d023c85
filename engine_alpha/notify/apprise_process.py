"""apprise in a process of its own, spoken to over a pipe.

apprise imports every one of its ~100 service plugins on first use (about half a second of CPU
and tens of MB), and a plugin runs arbitrary client code. In a child process that work runs on
another core, beside the daemon's start rather than inside it, and no plugin can hold the
daemon's interpreter. The parent sends one JSON line per request on the child's stdin and reads
one JSON line back: `load` (the URLs: which ones apprise can use) and `send` (one message to one
loaded URL: whether the service took it). URLs travel only on the pipe, never in argv or the
environment; the child's stderr is discarded, and its replies name exception types, never
messages (which may quote a URL). The child ignores SIGINT and SIGTERM (a Ctrl-C in a terminal or
a stop of the unit reaches the whole group, and the stop message must still go out) and ends
when the parent closes its stdin.

    python -m engine_alpha.notify.apprise_process   (started by AppriseProcess, not by hand)
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, NoReturn

import orjson

__all__ = ["AppriseProcess", "SenderGoneError"]

_KILL_WAIT_S = 0.5


class SenderGoneError(Exception):
    """The child process ended, or did not answer in time (it has been killed)."""


class AppriseProcess:
    """The parent's handle on one child: spawned at once, so its imports overlap the caller's.

    One request at a time (a lock); `close` from another thread kills a child that a request
    still waits for, which wakes that request with SenderGoneError. A child that died is
    spawned again by the next `send`, which loads the same URLs first.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = bytearray()
        self._urls: list[str] = []
        self._load_timeout_s = 0.0
        self._closed = False
        self._lock = threading.Lock()
        self.spawned = 0
        """Children started so far (a respawn after a death counts)."""
        self._spawn()

    def _spawn(self) -> None:
        from engine_alpha.notify.secrets import URLS_ENV

        self._end()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__],
            env={k: v for k, v in os.environ.items() if k != URLS_ENV},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        self._buffer.clear()
        self.spawned += 1

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def load(self, urls: Sequence[str], timeout_s: float) -> list[bool]:
        """Instantiate `urls` in the child; for each, whether apprise can use it."""
        with self._lock:
            return self._load(urls, timeout_s)

    def _load(self, urls: Sequence[str], timeout_s: float) -> list[bool]:
        self._urls, self._load_timeout_s = list(urls), timeout_s
        reply = self._ask({"op": "load", "urls": self._urls}, timeout_s)
        usable = reply.get("usable")
        if not isinstance(usable, list) or len(usable) != len(self._urls):
            raise SenderGoneError(f"unexpected reply to load: {sorted(reply)}")
        return [bool(u) for u in usable]

    def send(self, index: int, *, title: str, body: str, level: str, timeout_s: float) -> bool:
        """Send one message to loaded URL `index`; True when the service took it. A child that
        ended is started again first; one that does not answer within `timeout_s` is killed
        (SenderGoneError, so the caller counts a failed attempt)."""
        with self._lock:
            if self._closed:
                raise SenderGoneError("closed")
            if self._proc is None or self._proc.poll() is not None:
                self._spawn()
                self._load(self._urls, self._load_timeout_s)
            request = {"op": "send", "target": index, "title": title, "body": body, "type": level}
            return bool(self._ask(request, timeout_s).get("sent"))

    def close(self) -> None:
        """End the child: EOF on its stdin, then a kill if it does not go."""
        self._closed = True
        if not self._lock.acquire(timeout=_KILL_WAIT_S):  # a request still waits: end it
            proc = self._proc
            if proc is not None:
                proc.kill()
            self._lock.acquire()
        try:
            self._end()
        finally:
            self._lock.release()

    def _end(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None and proc.stdout is not None
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            proc.wait(timeout=_KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    def _ask(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        proc = self._proc
        if proc is None:
            raise SenderGoneError("closed")
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(orjson.dumps(request) + b"\n")
            proc.stdin.flush()
        except (OSError, ValueError) as exc:  # a broken pipe, or closed meanwhile
            raise SenderGoneError(type(exc).__name__) from None
        line = self._read_line(proc, time.monotonic() + timeout_s)
        reply = orjson.loads(line)
        if not isinstance(reply, dict):
            raise SenderGoneError("a reply that is not an object")
        if "error" in reply:
            raise SenderGoneError(str(reply["error"]))
        return reply

    def _read_line(self, proc: subprocess.Popen[bytes], deadline: float) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    proc.kill()
                    proc.wait()  # gone before the next send looks
                    raise SenderGoneError("no answer in time")
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise SenderGoneError(f"ended (exit status {proc.wait()})")
                self._buffer += chunk
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer[:] = rest
        return line


def _serve() -> NoReturn:
    """The child: warm apprise up, then answer requests until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    import logging

    import apprise

    quiet = logging.getLogger("apprise")
    quiet.propagate = False
    quiet.handlers = [logging.NullHandler()]
    manager: Any = apprise.NotificationManager()  # type: ignore[no-untyped-call]
    manager.load_modules()  # the slow part, before the first request
    services: list[Any] = []
    out = sys.stdout.buffer
    for raw in sys.stdin.buffer:
        try:
            request = orjson.loads(raw)
            if request["op"] == "load":
                # The plugin itself, whose notify() sends on this thread: Apprise.notify()
                # would hand sends to a pool.
                services = [apprise.Apprise.instantiate(url) for url in request["urls"]]
                reply: dict[str, Any] = {"usable": [s is not None for s in services]}
            else:
                service = services[request["target"]]
                kind = apprise.NotifyType(request["type"])
                title, body = request["title"], request["body"]
                reply = {"sent": bool(service.notify(body=body, title=title, notify_type=kind))}
        except Exception as exc:  # noqa: BLE001 - the type only: a message may quote a URL
            reply = {"error": type(exc).__name__}
        out.write(orjson.dumps(reply) + b"\n")
        out.flush()
    # Every reply is flushed and nothing else is held: skip the interpreter's teardown of
    # apprise's modules (a tenth of a second the daemon would wait for at its stop).
    os._exit(0)


if __name__ == "__main__":
    _serve()
