"""Run a real `chloe` subprocess with stdout and/or stderr on pseudo-terminals."""

from __future__ import annotations

import fcntl
import os
import pty
import selectors
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from tests.daemon_runs import REPO, child_env


@dataclass(frozen=True)
class TerminalRun:
    """What a terminal showed: stdout and stderr as text (ANSI codes kept), and the exit code."""

    returncode: int
    stdout: str
    stderr: str


def _terminal(columns: int) -> tuple[int, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    return master, slave


def _drain(buffers: dict[int, bytearray]) -> None:
    """Read every terminal until the child closes it (EIO or EOF on the master side)."""
    with selectors.DefaultSelector() as sel:
        for fd in buffers:
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map():
            for key, _ in sel.select():
                try:
                    chunk = os.read(key.fd, 65536)
                except OSError:
                    chunk = b""
                if chunk:
                    buffers[key.fd] += chunk
                else:
                    sel.unregister(key.fd)


def run_on_terminal(
    args: Sequence[str],
    *,
    stdout_tty: bool = True,
    stderr_tty: bool = True,
    columns: int = 120,
    timeout_s: float = 120.0,
) -> TerminalRun:
    """`python -m engine_alpha ARGS` with the chosen streams on terminals, the others piped."""
    env = {**child_env(), "COLUMNS": str(columns), "TERM": "xterm-256color"}
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(name, None)
    wanted = (("out", stdout_tty), ("err", stderr_tty))
    ttys = {name: _terminal(columns) for name, on in wanted if on}
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine_alpha", *args],
        stdout=ttys["out"][1] if stdout_tty else subprocess.PIPE,
        stderr=ttys["err"][1] if stderr_tty else subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
        env=env,
    )
    for _, slave in ttys.values():
        os.close(slave)
    buffers = {master: bytearray() for master, _ in ttys.values()}
    piped: dict[str, bytes] = {}

    def read_pipes() -> None:
        out, err = proc.communicate(timeout=timeout_s)
        piped["out"], piped["err"] = out or b"", err or b""

    reader = threading.Thread(target=read_pipes)
    try:
        reader.start()
        _drain(buffers)
        reader.join(timeout=timeout_s)
    finally:
        for master, _ in ttys.values():
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    shown = {name: bytes(buffers[master]) for name, (master, _) in ttys.items()}
    out = shown.get("out", piped.get("out", b""))
    err = shown.get("err", piped.get("err", b""))
    return TerminalRun(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
