"""A Python module run as a child process of the daemon, spoken to in JSON lines over a pipe.

The daemon hands slow or foreign work (apprise's plugins) to such a child so that it runs on
another core, outside the daemon's interpreter lock. The parent writes one JSON object per line
on the child's stdin and waits (bounded) for one line back. The child's stderr is discarded (a
traceback may quote what it was given). `serve` is the child's side: it ignores SIGINT and
SIGTERM (a Ctrl-C or a unit stop reaches the whole group, and the parent decides when its child
is done), lowers its own CPU priority where it may (so the daemon wins a busy machine; the
unit's system-call filter refuses it), and ends at once when the parent closes its stdin.
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
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

import orjson

__all__ = ["CHILD_NICE", "ChildGoneError", "ChildProcess", "serve"]

CHILD_NICE = 5
"""How much lower a child's CPU priority is than the daemon's."""
_KILL_WAIT_S = 0.5


class ChildGoneError(Exception):
    """The child ended, was closed, or did not answer in time (it has been killed)."""


class ChildProcess:
    """One child running `python -m <module>`; one question at a time (a lock). `close` from
    another thread kills a child a question still waits for, which wakes it with
    ChildGoneError."""

    def __init__(self, module: str, *, env_drop: Iterable[str] = ()) -> None:
        drop = set(env_drop)
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-m", module],
            env={k: v for k, v in os.environ.items() if k not in drop},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        self._buffer = bytearray()
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def ask(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send `request` and return the child's answer (an object); an answer with an `error`
        key, an end, or no answer within `timeout_s` (the child is then killed) raises."""
        with self._lock:
            proc = self._write(request)
            reply = orjson.loads(self._read_line(proc, time.monotonic() + timeout_s))
        if not isinstance(reply, dict):
            raise ChildGoneError("an answer that is not an object")
        if "error" in reply:
            raise ChildGoneError(str(reply["error"]))
        return reply

    def close(self) -> None:
        """EOF on the child's stdin, then a kill if it has not ended within half a second."""
        if not self._lock.acquire(timeout=_KILL_WAIT_S):  # a request still waits: end it
            proc = self._proc
            if proc is not None:
                proc.kill()
            self._lock.acquire()
        try:
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
        finally:
            self._lock.release()

    def _write(self, request: dict[str, Any]) -> subprocess.Popen[bytes]:
        proc = self._proc
        if proc is None:
            raise ChildGoneError("closed")
        assert proc.stdin is not None
        try:
            proc.stdin.write(orjson.dumps(request) + b"\n")
            proc.stdin.flush()
        except (OSError, ValueError) as exc:  # a broken pipe
            raise ChildGoneError(type(exc).__name__) from None
        return proc

    def _read_line(self, proc: subprocess.Popen[bytes], deadline: float) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    proc.kill()
                    proc.wait()  # gone before the next request looks
                    raise ChildGoneError("no answer in time")
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise ChildGoneError(f"ended (exit status {proc.wait()})")
                self._buffer += chunk
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer[:] = rest
        return line


def serve(
    start: Callable[[], Callable[[dict[str, Any]], dict[str, Any] | None]],
) -> NoReturn:
    """The child's side: `start()` (its slow imports, at the lowered priority) returns the
    handler; each request line goes to it and its answer (unless None) is written back. An
    exception answers `{"error": <its type>}` (never its message, which may quote a secret).
    Exits at EOF without the interpreter's teardown (every answer is flushed)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # chloe.service filters setpriority (@resources): EPERM
        os.nice(CHILD_NICE)
    handle = start()
    out = sys.stdout.buffer
    for raw in sys.stdin.buffer:
        try:
            reply = handle(orjson.loads(raw))
        except Exception as exc:  # noqa: BLE001 - the type only, see above
            reply = {"error": type(exc).__name__}
        if reply is not None:
            out.write(orjson.dumps(reply) + b"\n")
            out.flush()
    os._exit(0)
