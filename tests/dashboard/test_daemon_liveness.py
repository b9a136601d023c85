"""`chloe status` and the HTML report say whether the daemon runs: a pid in daemon_status.json is
not enough (the process may have exited, its pid may be reused); the daemon is running when
that pid holds the reports directory's lock."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine_alpha.cli.operator import main
from engine_alpha.core.exit_codes import EXIT_OK
from tests.conftest import SAMPLE_DATA
from tests.e2e.daemon_process import DaemonProcess

LAST_SEEN = re.compile(r"daemon: not running \(last seen \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


def _status_text(capsys: pytest.CaptureFixture[str], config_dir: Path, reports: Path) -> str:
    capsys.readouterr()
    dirs = ["--config-dir", str(config_dir), "--reports-dir", str(reports)]
    assert main(["status", *dirs]) == EXIT_OK
    return capsys.readouterr().out


def _slow_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    head = (SAMPLE_DATA / "ETHUSDT-1h.csv").read_text().splitlines()[:2000]
    (data / "ETHUSDT-1h.csv").write_text("\n".join(head) + "\n")
    return data


def test_a_daemon_that_exited_is_not_running(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    from engine_alpha.ops.reports_lock import lock_holder_pid

    reports = tmp_path / "reports"
    # 1,999 hourly bars at 36,000 x real time: about 200 s unless stopped, which the test does
    daemon = DaemonProcess(
        config_dir, reports, "--data", str(_slow_data(tmp_path)), "--speed", "36000"
    )
    try:
        daemon.wait_for("started")
        deadline = time.monotonic() + 60
        while not (reports / "daemon_status.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # written after the first bar time
        pid = json.loads((reports / "daemon_status.json").read_text())["pid"]
        assert pid == daemon.proc.pid and lock_holder_pid(reports) == pid
        running = _status_text(capsys, config_dir, reports)
        assert f"daemon: running, pid {pid}" in running
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0
    finally:
        daemon.kill()
    assert lock_holder_pid(reports) is None
    stopped = _status_text(capsys, config_dir, reports)
    assert LAST_SEEN.search(stopped), stopped
    assert f"daemon: pid {pid}" not in stopped and "daemon: running" not in stopped
    html = tmp_path / "report.html"
    dirs = ["--config-dir", str(config_dir), "--reports-dir", str(reports)]
    assert main(["report", "--html", str(html), *dirs]) == EXIT_OK
    assert LAST_SEEN.search(html.read_text())


def test_a_live_process_that_is_not_the_daemon_is_not_running(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        status = {"updated_at": "2026-12-01T10:00:00.000+00:00", "pid": other.pid}
        status |= {"feed": {"source": "replay", "degraded": []}, "last_bar_ts": None}
        (reports / "daemon_status.json").write_text(json.dumps(status))
        text = _status_text(capsys, config_dir, reports)
    finally:
        other.kill()
        other.wait()
    assert "daemon: not running (last seen 2026-12-01 10:00:00 UTC" in text
