"""Every write failure takes one path: one critical `write_failed` line, exit 1, nothing torn.

The reports directory is put on a tiny tmpfs (a full disk at several sizes, so each file in turn
is the one that fills it), or made read-only with a bind mount. Each run must stop with exit 1
and exactly one critical line naming the file; after the space comes back (or the mount goes),
a restart must end with the journal and the signal log of an uninterrupted run.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import load_config
from engine_alpha.ops.journal_verify import check_reports
from tests.conftest import EditConfig
from tests.daemon_runs import RunResult
from tests.e2e.test_replay_daemon import _enable_all, _without_wall_time

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs or a bind mount needs root"),
]

REPORT_FILES = ("trades.jsonl", "signals.jsonl", "pf_local.json", "daemon_status.json")


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@contextmanager
def _tmpfs(path: Path, size_kib: int) -> Iterator[None]:
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path))
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """`path` (a directory or a file) read-only in place, as a read-only disk would make it."""
    _mount("--bind", str(path), str(path))
    try:
        _mount("-o", "remount,bind,ro", str(path))
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _reference(run_chloe: Callable[..., RunResult], config_dir: Path, tmp: Path) -> RunResult:
    result = run_chloe(config_dir, tmp / "reference")
    assert result.returncode == 0, result.stderr
    return result


def _assert_one_critical_write_failure(result: RunResult) -> dict[str, Any]:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    critical = [e for e in result.log_events() if e.get("level") == "critical"]
    assert len(critical) == 1, critical
    event = critical[0]
    assert event["event"] == "write_failed"
    assert event["file"] in (*REPORT_FILES, "trades.jsonl.checkpoint", "events.jsonl")
    assert event["error"]
    assert result.stderr.strip().count("\n") == 0  # one line for the operator
    return event


def _assert_finishes_as_uninterrupted(
    run_chloe: Callable[..., RunResult], config_dir: Path, reports: Path, reference: RunResult
) -> None:
    finish = run_chloe(config_dir, reports)
    assert finish.returncode == 0, finish.stderr
    assert not [e for e in finish.log_events() if e.get("level") in ("error", "critical")]
    assert _without_wall_time(finish.journal()) == _without_wall_time(reference.journal())
    signals = (reports / "signals.jsonl").read_bytes()
    assert signals == (reference.reports / "signals.jsonl").read_bytes()
    check = check_reports(reports, load_config(config_dir))
    assert check.ok, check.render()


def _pages_kib(path: Path) -> int:
    return -(-path.stat().st_size // 4096) * 4


# A size in KiB, or ("logs", n): room for the journal and the signal log plus n pages, so the
# disk fills at the reports (pf_local.json) and the checkpoint written at the end.
SIZES: list[int | tuple[str, int]] = [
    8,
    40,
    120,
    200,
    360,
    520,
    ("logs", 2),
    ("logs", 3),
    ("logs", 4),
]


@pytest.mark.parametrize("size", SIZES, ids=str)
def test_a_full_disk_at_any_size_stops_once_and_a_restart_ends_as_uninterrupted(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    edit_config: EditConfig,
    tmp_path: Path,
    size: int | tuple[str, int],
) -> None:
    _enable_all(edit_config)
    reference = _reference(run_chloe, config_dir, tmp_path)
    if isinstance(size, tuple):
        logs = sum(
            _pages_kib(reference.reports / name) for name in ("trades.jsonl", "signals.jsonl")
        )
        size_kib = logs + 4 * size[1]
    else:
        size_kib = size  # exit 1 below shows the disk did fill
    reports = tmp_path / "reports"
    with _tmpfs(reports, size_kib):
        failed = run_chloe(config_dir, reports)
        event = _assert_one_critical_write_failure(failed)
        assert "No space left" in event["error"]
        acked = sum(1 for e in failed.log_events() if e["event"] == "fill")
        on_disk = (
            (reports / "trades.jsonl").read_bytes() if (reports / "trades.jsonl").exists() else b""
        )
        assert on_disk.count(b"\n") == acked and (not on_disk or on_disk.endswith(b"\n"))
        signals = reports / "signals.jsonl"
        assert not signals.exists() or signals.read_bytes()[-1:] in (b"", b"\n")
        _mount("-o", "remount,size=64m", str(reports))  # space is freed
        _assert_finishes_as_uninterrupted(run_chloe, config_dir, reports, reference)


@pytest.mark.parametrize(
    "target",
    [
        ".",
        "trades.jsonl",
        "signals.jsonl",
        "pf_local.json",
        "daemon_status.json",
        "trades.jsonl.checkpoint",
        "events.jsonl",
    ],
)
def test_a_read_only_reports_dir_or_file_is_a_write_failure_not_damage(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    edit_config: EditConfig,
    tmp_path: Path,
    target: str,
) -> None:
    _enable_all(edit_config)
    reference = _reference(run_chloe, config_dir, tmp_path)
    reports = tmp_path / "reports"
    with _tmpfs(reports, 200):  # a first run that stops part-way, leaving every file behind
        assert run_chloe(config_dir, reports).returncode == 1
        subprocess.run(["cp", "-a", f"{reports}/.", str(tmp_path / "partial")], check=True)
    reports.rmdir()
    (tmp_path / "partial").rename(reports)
    (reports / target).touch()  # the checkpoint is only written at a clean stop
    before = {p.name: p.read_bytes() for p in reports.iterdir() if p.is_file()}
    with _read_only(reports / target):
        failed = run_chloe(config_dir, reports)
        event = _assert_one_critical_write_failure(failed)
        if target != ".":
            assert event["file"] == target
    after = {p.name: p.read_bytes() for p in reports.iterdir() if p.is_file()}
    # What was acknowledged before the failure is on disk, and nothing else.
    assert after["trades.jsonl"].startswith(before["trades.jsonl"])
    added = after["trades.jsonl"][len(before["trades.jsonl"]) :]
    assert added.count(b"\n") == sum(1 for e in failed.log_events() if e["event"] == "fill")
    _assert_finishes_as_uninterrupted(run_chloe, config_dir, reports, reference)
