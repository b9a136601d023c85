"""The daemon's hold on its reports directory: one `chloe run` per directory, regular files only.

`claim_reports_dir` takes an exclusive flock on `<reports>/.lock` before the daemon writes
anything there, and keeps it for the life of the process (the kernel drops it when the process
ends, however it ends). A second `chloe run` on the same directory is refused before it opens
any other file, whatever was renamed inside the directory meanwhile. Readers (`chloe status`,
`chloe journal verify`) never take the lock. The files the daemon writes must be regular files
(or absent): a symbolic link, FIFO or directory in their place is refused the same way.
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

from engine_alpha.atomic_files import NotRegularFileError, file_kind, open_regular
from engine_alpha.ledger.checkpoint import CHECKPOINT_SUFFIX
from engine_alpha.ledger.journal import QUARANTINE_SUFFIX
from engine_alpha.reports import PF_FILE, SIGNALS_FILE, STATUS_FILE, TRADES_FILE
from engine_alpha.rollout.events import EVENTS_FILE

__all__ = ["LOCK_FILE", "WRITTEN_FILES", "ReportsDirError", "ReportsLock", "claim_reports_dir"]

LOCK_FILE = ".lock"
WRITTEN_FILES = (
    TRADES_FILE,
    TRADES_FILE + QUARANTINE_SUFFIX,
    TRADES_FILE + CHECKPOINT_SUFFIX,
    SIGNALS_FILE,
    EVENTS_FILE,
    PF_FILE,
    STATUS_FILE,
)
_PID_BYTES = 32


class ReportsDirError(Exception):
    """The reports directory is not this daemon's to write: the message says why, in one line."""


class ReportsLock:
    """The held lock: closing it (or the process ending) releases the directory."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def close(self) -> None:
        """Release the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ReportsLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _holder(fd: int) -> str:
    """`pid N` as the holder wrote it into the lock file, or `pid unknown`."""
    text = os.pread(fd, _PID_BYTES, 0).decode("ascii", errors="replace").strip()
    return f"pid {text}" if text.isdigit() else "pid unknown"


def _lock(path: Path) -> int:
    try:
        fd = open_regular(path, os.O_RDWR | os.O_CREAT)
    except OSError as exc:
        raise ReportsDirError(f"reports lock {path} cannot be opened: {exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise ReportsDirError(
            f"reports directory {path.parent} is in use by another chloe run ({holder}); "
            "refusing to start"
        ) from None
    except OSError as exc:
        os.close(fd)
        raise ReportsDirError(f"reports lock {path} cannot be taken: {exc}") from None
    return fd


def _check_files(reports_dir: Path) -> None:
    for name in WRITTEN_FILES:
        path = reports_dir / name
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(mode):
            problem = NotRegularFileError(path, file_kind(mode))
            raise ReportsDirError(f"{problem}; refusing to start (Chloe writes only regular files)")


def claim_reports_dir(reports_dir: Path) -> ReportsLock:
    """Create `reports_dir` if needed and lock it; ReportsDirError (nothing written) otherwise.

    Holding the lock, the files the daemon writes are checked: each is a regular file or absent.
    """
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportsDirError(f"reports directory {reports_dir} cannot be created: {exc}") from None
    path = reports_dir / LOCK_FILE
    fd = _lock(path)
    try:
        _check_files(reports_dir)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    except ReportsDirError:
        os.close(fd)
        raise
    except OSError as exc:
        os.close(fd)
        raise ReportsDirError(f"reports lock {path} cannot be written: {exc}") from None
    return ReportsLock(path, fd)
