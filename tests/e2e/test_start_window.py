"""Signals in the first second, and `journal verify` while a paced replay writes.

A SIGHUP or SIGTERM sent while the daemon is still starting (importing, reading the config,
recovering the journal) is kept and honoured, never fatal. (Before the interpreter reaches
`chloe`'s first line no handler can exist: the delays start at 0.25 s, past interpreter start-up
on a loaded 2-core machine, and stay inside the first second); `journal verify` run again and
again beside a paced replay sees a consistent snapshot every time, never a false problem.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from engine_alpha.config.config_loader import load_config
from engine_alpha.ops.journal_verify import check_reports
from tests.conftest import EditConfig
from tests.e2e.daemon_process import DaemonProcess
from tests.e2e.test_replay_daemon import _enable_all

pytestmark = pytest.mark.slow

SLOW = "--speed=1440000"


@pytest.mark.parametrize("delay_s", [0.25, 0.5, 0.9])
def test_a_sighup_while_starting_is_a_reload_not_a_death(
    config_dir: Path, tmp_path: Path, delay_s: float
) -> None:
    daemon = DaemonProcess(config_dir, tmp_path / "reports", SLOW)
    try:
        time.sleep(delay_s)
        daemon.signal(signal.SIGHUP)
        daemon.wait_for("started", timeout=60)
        daemon.wait_for("reload_applied", timeout=60)
        assert daemon.proc.poll() is None
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0
        events = daemon.drain()
    finally:
        daemon.kill()
    assert any(e["event"] == "reload_requested" for e in events)


@pytest.mark.parametrize("delay_s", [0.25, 0.5, 0.9])
def test_a_sigterm_while_starting_stops_cleanly_with_status_0(
    config_dir: Path, tmp_path: Path, delay_s: float
) -> None:
    daemon = DaemonProcess(config_dir, tmp_path / "reports", SLOW)
    try:
        time.sleep(delay_s)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
        events = daemon.drain()
    finally:
        daemon.kill()
    names = [e["event"] for e in events]
    assert "stop_requested" in names and "stopped" in names
    assert not [e for e in events if e.get("level") in ("error", "critical")]


def test_journal_verify_beside_a_paced_replay_never_reports_a_false_problem(
    config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    _enable_all(edit_config)
    config = load_config(config_dir)
    reports = tmp_path / "reports"
    daemon = DaemonProcess(config_dir, reports, SLOW)
    verdicts = []
    try:
        daemon.wait_for("fill", timeout=60)
        while len(verdicts) < 15 and daemon.proc.poll() is None:
            check = check_reports(reports, config)
            assert check.ok, check.render()
            verdicts.append(check.lines)
            time.sleep(0.15)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0
    finally:
        daemon.kill()
    assert len(verdicts) == 15
    assert verdicts[-1] > verdicts[0]  # the journal grew while it was verified
    check = check_reports(reports, config)
    assert check.ok, check.render()
