"""The reports directory is the daemon's alone: one `chloe run` per directory, regular files."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from engine_alpha.core.exit_codes import EXIT_REPORTS_DIR
from tests.daemon_runs import REPO, RunResult, child_env, chloe_command
from tests.e2e.daemon_process import DaemonProcess

pytestmark = pytest.mark.slow  # real daemon subprocesses


PACED = "--speed=3600"  # one bar time a second: the first daemon is still running when checked
WRITTEN = (
    "trades.jsonl",
    "trades.jsonl.checkpoint",
    "trades.jsonl.quarantine",
    "signals.jsonl",
    "events.jsonl",
    "pf_local.json",
    "daemon_status.json",
)


def _run(config_dir: Path, reports: Path, *, umask: int = -1) -> subprocess.CompletedProcess[str]:
    """A daemon run to its end; a hang fails the test (TimeoutExpired) instead of blocking it."""
    return subprocess.run(
        chloe_command(config_dir, reports),
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
        cwd=REPO,
        check=False,
        umask=umask,
    )


def _assert_refused(second: subprocess.CompletedProcess[str], words: str) -> None:
    assert second.returncode == EXIT_REPORTS_DIR, second.stderr
    assert second.stdout == ""  # not one log line: nothing reached events.jsonl either
    assert second.stderr.count("\n") == 1 and words in second.stderr, second.stderr


def _stop(daemon: DaemonProcess) -> None:
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0


def test_a_second_daemon_on_the_same_directory_is_refused_and_writes_nothing(
    config_dir: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    first = DaemonProcess(config_dir, reports, PACED)
    try:
        first.wait_for("started")
        events_before = (reports / "events.jsonl").read_bytes()
        second = _run(config_dir, reports)
        _assert_refused(second, "is in use by another chloe run")
        assert (reports / "events.jsonl").read_bytes() == events_before
        _stop(first)
    finally:
        first.kill()
    assert not any(e["level"] in ("error", "critical") for e in first.drain())


def test_a_renamed_journal_does_not_let_a_second_daemon_in(
    config_dir: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    first = DaemonProcess(config_dir, reports, PACED)
    try:
        first.wait_for("started")
        (reports / "trades.jsonl").rename(reports / "trades.jsonl.moved")
        second = _run(config_dir, reports)
        _assert_refused(second, "in use by another chloe run")
        assert not (reports / "trades.jsonl").exists()  # today: the second daemon's new journal
    finally:
        first.kill()


@pytest.mark.parametrize("name", WRITTEN)
def test_a_symlink_in_place_of_a_written_file_is_refused_and_its_target_untouched(
    config_dir: Path, tmp_path: Path, name: str
) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    target = tmp_path / "precious.txt"
    target.write_bytes(b"not Chloe's\n")
    (reports / name).symlink_to(target)
    result = _run(config_dir, reports)
    _assert_refused(result, f"{reports / name} is a symbolic link, not a regular file")
    assert target.read_bytes() == b"not Chloe's\n"
    assert [p.name for p in reports.iterdir()] == [name]  # nothing written


@pytest.mark.parametrize("name", WRITTEN)
def test_a_fifo_in_place_of_a_written_file_is_refused_without_hanging(
    config_dir: Path, tmp_path: Path, name: str
) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    os.mkfifo(reports / name)
    result = _run(config_dir, reports)  # today: blocks forever opening the FIFO
    _assert_refused(result, f"{reports / name} is a FIFO, not a regular file")


def test_a_directory_in_place_of_the_journal_is_refused(config_dir: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    (reports / "trades.jsonl").mkdir(parents=True)
    _assert_refused(_run(config_dir, reports), "is a directory, not a regular file")


def test_every_file_honours_the_umask(config_dir: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = _run(config_dir, reports, umask=0o027)
    assert result.returncode == 0, result.stderr
    modes = {p.name: p.stat().st_mode & 0o777 for p in reports.iterdir()}
    expected = set(WRITTEN) - {"trades.jsonl.quarantine"}
    assert expected <= modes.keys()
    assert modes == dict.fromkeys(modes, 0o640)


def test_readers_work_while_the_daemon_holds_the_directory(
    config_dir: Path, tmp_path: Path, run_chloe: Callable[..., RunResult]
) -> None:
    reports = tmp_path / "reports"
    first = DaemonProcess(config_dir, reports, PACED)
    try:
        first.wait_for("started")
        for command in (["status"], ["journal", "verify"]):
            reader = subprocess.run(
                [
                    *chloe_command(config_dir, reports)[:3],
                    *command,
                    "--config-dir",
                    str(config_dir),
                    "--reports-dir",
                    str(reports),
                ],
                capture_output=True,
                text=True,
                timeout=60,
                env=child_env(),
                cwd=REPO,
                check=False,
            )
            assert reader.returncode == 0, (command, reader.stdout, reader.stderr)
        _stop(first)
    finally:
        first.kill()
