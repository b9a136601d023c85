"""The daemon's hold on its reports directory: one `chloe run` per directory, regular files only.

`claim_reports_dir` takes an exclusive flock on the directory itself before the daemon writes
anything there, and keeps it for the life of the process (the kernel drops it when the process
ends, however it ends). A lock on the directory, not on a file in it: a second `chloe run` on
the same directory (by any path to it) is refused before it opens any file, whatever was renamed
inside the directory meanwhile, and taking it writes nothing, so it works on a read-only
directory too (the daemon then fails at its first write, as any write failure). Readers (`chloe
status`, `chloe journal verify`) never take the lock. The files the daemon writes must be
regular files (or absent): a symbolic link, FIFO or directory in their place is refused the
same way.
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

from engine_alpha.core.atomic_files import NotRegularFileError, file_kind
from engine_alpha.ledger.checkpoint import CHECKPOINT_SUFFIX
from engine_alpha.ledger.journal import QUARANTINE_SUFFIX
from engine_alpha.ledger.reports_dir import PF_FILE, SIGNALS_FILE, STATUS_FILE, TRADES_FILE
from engine_alpha.ops.events import EVENTS_FILE

__all__ = [
    "WRITTEN_FILES",
    "ReportsDirError",
    "ReportsLock",
    "claim_reports_dir",
    "lock_holder_pid",
]

WRITTEN_FILES = (
    TRADES_FILE,
    TRADES_FILE + QUARANTINE_SUFFIX,
    TRADES_FILE + CHECKPOINT_SUFFIX,
    SIGNALS_FILE,
    EVENTS_FILE,
    PF_FILE,
    STATUS_FILE,
)


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


def _lock(reports_dir: Path) -> int:
    try:
        fd = os.open(reports_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise ReportsDirError(f"reports directory {reports_dir} cannot be opened: {exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ReportsDirError(
            f"reports directory {reports_dir} is in use by another chloe run "
            "(it holds the directory's lock); refusing to start"
        ) from None
    except OSError as exc:
        os.close(fd)
        raise ReportsDirError(f"reports directory {reports_dir} cannot be locked: {exc}") from None
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
    fd = _lock(reports_dir)
    try:
        _check_files(reports_dir)
    except BaseException:
        os.close(fd)
        raise
    return ReportsLock(reports_dir, fd)


def lock_holder_pid(reports_dir: Path, locks_file: Path = Path("/proc/locks")) -> int | None:
    """The pid of the process holding `reports_dir`'s lock, or None when nobody holds it.

    Read from the kernel's lock table (Linux `/proc/locks`), so a reader never takes the lock
    (a probe that took it, even shared and briefly, could make a starting daemon refuse). None
    too when the directory or the table cannot be read.
    """
    try:
        st = os.stat(reports_dir)
        table = locks_file.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in table.splitlines():
        fields = line.split()
        # `1: FLOCK  ADVISORY  WRITE 2345 fe:00:2154499 0 EOF`; waiters have a `->` field
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == key:
            return int(fields[4]) if fields[4].isdigit() else None
    return None
