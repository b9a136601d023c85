"""Atomic file replacement: the one way Chloe rewrites a file that someone may be reading.

A temp file beside the target is written, flushed and fsynced, renamed over the target, and the
directory is fsynced, so a reader sees the old file or the new one, never half of one, and a
crash leaves one of the two on disk.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

DEFAULT_MODE = 0o644


class WriteFailedError(Exception):
    """A file the daemon keeps could not be written: fail-stop (exit 1), naming file and error."""

    def __init__(self, path: Path, cause: OSError) -> None:
        super().__init__(f"{path}: {cause.strerror or cause}")
        self.path = path
        self.cause = cause


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in directory `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomic(
    path: Path, data: bytes, *, mode: int = DEFAULT_MODE, owner: tuple[int, int] | None = None
) -> None:
    """Replace `path` with `data`; `owner` (uid, gid) is kept when the process may give it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            if owner is not None and owner != (os.getuid(), os.getgid()):
                with contextlib.suppress(PermissionError):  # only root may give a file away
                    os.fchown(f.fileno(), *owner)
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
