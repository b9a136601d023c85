"""A daemon subprocess whose JSON log lines are read as they come, for signal and restart tests."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

import orjson

from tests.conftest import REPO
from tests.daemon_runs import child_env, chloe_command


class DaemonProcess:
    """`chloe run --replay` in the background; `wait_for` reads its log events until one matches."""

    def __init__(
        self,
        config_dir: Path,
        reports: Path,
        *extra: str,
        replay: bool = True,
        extra_path: Path | None = None,
    ) -> None:
        self.proc = subprocess.Popen(
            chloe_command(config_dir, reports, *extra, replay=replay),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(extra_path),
            cwd=REPO,
        )
        self.events: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        assert self.proc.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._reader.start()
        self._stderr: list[bytes] = []
        self._err_reader = threading.Thread(target=self._read_err, daemon=True)
        self._err_reader.start()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._stderr.append(raw)

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            if raw.startswith(b"{"):
                self._queue.put(orjson.loads(raw))
        stream.close()
        self._queue.put(None)

    def wait_for(self, event: str, timeout: float = 60.0, **fields: Any) -> dict[str, Any]:
        """The next log event named `event` (with the given fields); fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if item is None:
                raise AssertionError(f"daemon exited before {event!r}: {self.stderr_text()}")
            self.events.append(item)
            if item.get("event") == event and all(item.get(k) == v for k, v in fields.items()):
                return item
        raise AssertionError(f"no {event!r} within {timeout}s")

    def drain(self) -> list[dict[str, Any]]:
        """Every event read so far plus the rest, once the process has exited."""
        self._reader.join(timeout=10)
        self._err_reader.join(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return self.events
            if item is not None:
                self.events.append(item)

    def stderr_text(self) -> str:
        return b"".join(self._stderr).decode(errors="replace")

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """Make sure the process is gone and its pipes closed."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.drain()
