"""File primitives: regular files only (no symlink followed, no FIFO blocking), modes by umask."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine_alpha.core.atomic_files import (
    NotRegularFileError,
    WriteFailedError,
    append_atomic,
    open_regular,
    replace_atomic,
)
from engine_alpha.ledger.journal import Journal
from engine_alpha.ledger.signal_log import SignalLog, cut_back
from engine_alpha.ops.events import EventFileSink

APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def test_a_symlink_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"keep\n")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(NotRegularFileError, match="is a symbolic link, not a regular file"):
        open_regular(link, APPEND)
    assert target.read_bytes() == b"keep\n"


@pytest.mark.parametrize("flags", [APPEND, os.O_RDONLY, os.O_RDWR])
def test_a_fifo_is_refused_without_blocking(tmp_path: Path, flags: int) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFileError, match="is a FIFO"):
        open_regular(fifo, flags)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotRegularFileError, match="is a directory"):
        open_regular(tmp_path, os.O_RDONLY)


def test_a_regular_file_opens_blocking_with_the_umask_applied(
    tmp_path: Path, umask_027: None
) -> None:
    fd = open_regular(tmp_path / "new", APPEND)
    try:
        assert os.get_blocking(fd)
    finally:
        os.close(fd)
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o640


def test_replace_atomic_honours_the_umask_unless_a_mode_is_given(
    tmp_path: Path, umask_027: None
) -> None:
    replace_atomic(tmp_path / "a.json", b"{}\n")
    replace_atomic(tmp_path / "b.json", b"{}\n", mode=0o600)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "b.json").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]


def test_replace_atomic_replaces_a_symlink_never_writing_through_it(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"keep\n")
    (tmp_path / "pf_local.json").symlink_to(target)
    replace_atomic(tmp_path / "pf_local.json", b"{}\n")
    assert target.read_bytes() == b"keep\n"
    assert not (tmp_path / "pf_local.json").is_symlink()


def test_every_writer_of_reports_refuses_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for open_writer in (Journal.open, SignalLog, lambda path: cut_back(path, 0)):
        with pytest.raises(WriteFailedError) as caught:
            open_writer(fifo)
        assert isinstance(caught.value.cause, NotRegularFileError)
    assert isinstance(EventFileSink(fifo).failure, NotRegularFileError)


def test_append_atomic_keeps_every_byte_and_adds_the_new_ones(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "bars.csv"
    append_atomic(path, b"header\n")
    old = b"header\n" + bytes(range(256)) * 5000  # larger than one copy buffer
    path.write_bytes(old)
    inode = path.stat().st_ino
    append_atomic(path, b"tail\n")
    assert path.read_bytes() == old + b"tail\n"
    assert path.stat().st_ino != inode  # a new file renamed over the old: never half-written
    assert sorted(p.name for p in path.parent.iterdir()) == ["bars.csv"]


def test_append_atomic_refuses_a_symlink_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"keep\n")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(NotRegularFileError):
        append_atomic(link, b"more\n")
    assert target.read_bytes() == b"keep\n" and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "target"]
