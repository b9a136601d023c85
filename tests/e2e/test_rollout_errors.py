"""A rejected reload is not a critical error of trading: a real daemon, a typo, SIGHUP, status."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.cli.operator import main
from engine_alpha.config.config_loader import PAPER_FILE
from engine_alpha.core.exit_codes import EXIT_OK
from tests.e2e.daemon_process import DaemonProcess

SLOW = "--speed=1440000"


def _status(capsys: pytest.CaptureFixture[str], config_dir: Path, reports: Path) -> dict[str, Any]:
    dirs = ["--config-dir", str(config_dir), "--reports-dir", str(reports)]
    assert main(["status", "--json", *dirs]) == EXIT_OK
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def _portfolio_error_codes(status: dict[str, Any]) -> list[str]:
    return [b["code"] for b in status["rollout"]["phases"]["2.2"]["failing"]]


def test_a_rejected_reload_is_recorded_but_never_gates_the_rollout(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    good = (config_dir / PAPER_FILE).read_bytes()
    daemon = DaemonProcess(config_dir, reports, SLOW)
    try:
        daemon.wait_for("fill", timeout=60)
        (config_dir / PAPER_FILE).write_text('{"enabled_assets": ')
        daemon.signal(signal.SIGHUP)
        daemon.wait_for("reload_rejected", timeout=30)
        (config_dir / PAPER_FILE).write_bytes(good)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0
    finally:
        daemon.kill()
    recorded = [json.loads(line) for line in (reports / "events.jsonl").read_text().splitlines()]
    assert [(e["event"], e["level"]) for e in recorded] == [("reload_rejected", "error")]
    status = _status(capsys, config_dir, reports)
    assert status["portfolio"]["critical_errors"] == 0
    assert "portfolio_critical_errors" not in _portfolio_error_codes(status)
    assert status["assets"]["ETHUSDT"]["critical_errors"] == 0
