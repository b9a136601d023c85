"""File primitives for what Chloe writes: regular files only, and atomic replacement.

`open_regular` is the one way Chloe opens a file it writes in reports/: it never follows a
symbolic link, never blocks on a FIFO, and refuses anything that is not a regular file.

`replace_atomic` is the one way Chloe rewrites a file that someone may be reading: a temp file
beside the target is written, flushed and fsynced, renamed over the target, and the directory is
fsynced, so a reader sees the old file or the new one, never half of one, and a crash leaves one
of the two on disk. `append_atomic` grows a file the same way: the temp file gets a byte-for-byte
copy of the current content followed by the new bytes, so what was there is never rewritten.
New files get `NEW_FILE_MODE` less the process umask (0640 under the unit's `UMask=0027`), like
every other file the daemon creates.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import shutil
import stat
from pathlib import Path

__all__ = [
    "NEW_FILE_MODE",
    "NotRegularFileError",
    "WriteFailedError",
    "append_atomic",
    "file_kind",
    "fsync_dir",
    "open_regular",
    "replace_atomic",
]

NEW_FILE_MODE = 0o644
_NOT_REGULAR_ERRNOS = frozenset({errno.ELOOP, errno.ENXIO, errno.EISDIR, errno.ENODEV})
_TEMP_ATTEMPTS = 100


class NotRegularFileError(OSError):
    """A path Chloe writes is a symbolic link, a FIFO, a directory or another non-regular file."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(f"{path} is {kind}, not a regular file")
        self.path = path
        self.kind = kind


def file_kind(mode: int) -> str:
    """What `st_mode` says a file is, in words."""
    kinds = (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((word for test, word in kinds if test(mode)), "not a regular file")


def _refusal(path: Path) -> NotRegularFileError | None:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else NotRegularFileError(path, file_kind(mode))


def open_regular(path: Path, flags: int, mode: int = NEW_FILE_MODE) -> int:
    """Open `path` (os.open `flags`) as a regular file: NotRegularFileError for anything else.

    O_NOFOLLOW refuses a symbolic link, O_NONBLOCK keeps a FIFO from blocking the open, and the
    open file is checked with fstat (no window between a check and the open). A created file
    gets `mode` less the umask. The returned descriptor is blocking and close-on-exec.
    """
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as exc:
        refusal = _refusal(path) if exc.errno in _NOT_REGULAR_ERRNOS else None
        if refusal is not None:
            raise refusal from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFileError(path, file_kind(st.st_mode))
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


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


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new temp file beside `path`, created with NEW_FILE_MODE less the umask."""
    for _ in range(_TEMP_ATTEMPTS):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
            return open_regular(tmp, flags, NEW_FILE_MODE), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temp file name", str(path.parent))


def replace_atomic(
    path: Path, data: bytes, *, mode: int | None = None, owner: tuple[int, int] | None = None
) -> None:
    """Replace `path` with `data`; `mode`, when given, is set exactly (else umask applies);
    `owner` (uid, gid) is kept when the process may give it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            if owner is not None and owner != (os.getuid(), os.getgid()):
                with contextlib.suppress(PermissionError):  # only root may give a file away
                    os.fchown(f.fileno(), *owner)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def append_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with its current bytes followed by `data` (a missing file is created).

    A reader, and a process killed at any instant, sees the file before or after the append,
    never a part of `data`. The copy is made from an open descriptor of the regular file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                src = open_regular(path, os.O_RDONLY)
            except FileNotFoundError:
                pass
            else:
                with os.fdopen(src, "rb") as old:
                    shutil.copyfileobj(old, out, 1 << 20)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def private_file_problem(path: Path, mode: int, what: str) -> str | None:
    """Why a secrets file (mode `mode`) is refused: other users can read `what` in it; None
    when only its owner can (0600 or stricter)."""
    if not mode & 0o077:
        return None
    return (
        f"{path}: mode {stat.S_IMODE(mode):04o} lets other users read {what}; run: chmod 600 {path}"
    )
