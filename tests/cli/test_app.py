"""The command line at its edges: version, no replay data, a busy port, a fresh install."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import SAMPLE_DATA
from tests.daemon_runs import RunResult


def _chloe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine_alpha", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version_prints_the_installed_package_version() -> None:
    from importlib.metadata import version

    result = _chloe("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"chloe {version('chloe-engine-alpha')}"


def test_a_replay_with_no_data_at_all_fails_with_one_clear_line(
    config_dir: Path, tmp_path: Path, run_chloe: Callable[..., RunResult]
) -> None:
    missing = tmp_path / "nonexistent"
    result = run_chloe(config_dir, tmp_path / "reports", "--replay", "--data", str(missing))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"chloe: {missing}: no replay data (none of 12 files: ETHUSDT-1h.csv, BTCUSDT-1h.csv, "
        "MATICUSDT-1h.csv, ...)"
    ]
    events = [json.loads(line)["event"] for line in result.stdout.splitlines()]
    assert "replay_data_missing" in events and "started" not in events


def test_a_replay_with_part_of_the_data_runs_and_warns(
    config_dir: Path, tmp_path: Path, run_chloe: Callable[..., RunResult]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(SAMPLE_DATA / "ETHUSDT-1h.csv", data)
    result = run_chloe(config_dir, tmp_path / "reports", "--replay", "--data", str(data))
    assert result.returncode == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    missing = [e["symbol"] for e in events if e["event"] == "replay_file_missing"]
    assert len(missing) == 11 and "ETHUSDT" not in missing


def test_fake_exchange_on_a_busy_port_says_so_in_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _chloe("fake-exchange", "--port", str(port), "--data", str(SAMPLE_DATA))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in result.stderr


def test_journal_verify_on_a_fresh_install_is_sound(config_dir: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    args = ["journal", "verify", "--config-dir", str(config_dir), "--reports-dir", str(reports)]
    result = _chloe(*args)
    assert result.returncode == 0, result.stdout
    assert "no journal yet" in result.stdout and "verdict: OK" in result.stdout
