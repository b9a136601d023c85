"""Nothing lost: SIGTERM, SIGKILL at random moments; restarts end with the uninterrupted journal."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import PAPER_FILE, load_config
from engine_alpha.ops.journal_verify import check_reports
from tests.conftest import EditConfig
from tests.daemon_runs import RunResult
from tests.e2e.daemon_process import DaemonProcess
from tests.e2e.test_replay_daemon import _enable_all, _without_wall_time

pytestmark = pytest.mark.slow  # end-to-end: subprocess daemons (quick set: -m 'not slow')

# bar times per second of replay: slow enough to interrupt, fast enough to finish in seconds
SLOW = "--speed=1440000"


def _reference(run_chloe: Callable[..., RunResult], config_dir: Path, tmp: Path) -> list[Any]:
    result = run_chloe(config_dir, tmp / "reference")
    assert result.returncode == 0, result.stderr
    return _without_wall_time(result.journal())


def _assert_same_signal_log(reports: Path, tmp: Path) -> None:
    """signals.jsonl equals the uninterrupted run's, byte for byte (SPEC §7, issue: no repeats)."""
    signals = (reports / "signals.jsonl").read_bytes()
    reference = (tmp / "reference" / "signals.jsonl").read_bytes()
    assert signals.count(b"\n") == reference.count(b"\n")
    assert signals == reference


def _assert_sound(reports: Path, config_dir: Path) -> None:
    check = check_reports(reports, load_config(config_dir))
    assert check.ok, check.render()


def test_sigterm_stops_within_5s_cleanly_and_a_restart_finishes_the_same_journal(
    run_chloe: Callable[..., RunResult], config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    _enable_all(edit_config)
    reference = _reference(run_chloe, config_dir, tmp_path)
    reports = tmp_path / "reports"
    daemon = DaemonProcess(config_dir, reports, SLOW)
    try:
        for _ in range(6):
            daemon.wait_for("fill", timeout=60)
        started = time.monotonic()
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(timeout=5) == 0
        assert time.monotonic() - started < 5
        events = daemon.drain()
    finally:
        daemon.kill()
    assert any(e["event"] == "stop_requested" and e["signal"] == "SIGTERM" for e in events)
    acked = sum(1 for e in events if e["event"] == "fill")
    partial = (reports / "trades.jsonl").read_bytes()
    assert partial.endswith(b"\n") and partial.count(b"\n") == acked
    _assert_sound(reports, config_dir)
    assert 0 < acked < len(reference)

    finish = run_chloe(config_dir, reports)
    assert finish.returncode == 0, finish.stderr
    assert _without_wall_time(finish.journal()) == reference
    _assert_same_signal_log(reports, tmp_path)
    _assert_sound(reports, config_dir)


def test_twenty_kill_9s_at_random_moments_lose_and_repeat_nothing(
    run_chloe: Callable[..., RunResult], config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    _enable_all(edit_config, exposure_usd=1200)
    reference = _reference(run_chloe, config_dir, tmp_path)
    reports = tmp_path / "reports"
    rng = random.Random(20261125)
    deadline = time.monotonic() + 240
    kills = 0
    sizes = []
    while kills < 22 and time.monotonic() < deadline:
        daemon = DaemonProcess(config_dir, reports, "--speed=7200000")
        time.sleep(rng.uniform(0.3, 3.0))
        if daemon.proc.poll() is None:
            os.kill(daemon.proc.pid, signal.SIGKILL)
            kills += 1
        daemon.wait(timeout=10)
        daemon.drain()
        journal = reports / "trades.jsonl"
        sizes.append(journal.stat().st_size if journal.exists() else 0)
        assert sizes == sorted(sizes), "the journal only ever grows"
    assert kills >= 20
    assert sizes[-1] > 0, "the kills let the replay make progress"

    finish = run_chloe(config_dir, reports)
    assert finish.returncode == 0, finish.stderr
    assert _without_wall_time(finish.journal()) == reference
    _assert_same_signal_log(reports, tmp_path)
    _assert_sound(reports, config_dir)


def test_sighup_enables_an_asset_in_place_and_a_bad_config_is_rejected(
    run_chloe: Callable[..., RunResult], config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    eth_only = _reference(run_chloe, config_dir, tmp_path)
    reports = tmp_path / "reports"
    daemon = DaemonProcess(config_dir, reports, SLOW)
    try:
        for _ in range(4):
            daemon.wait_for("fill", timeout=60)
        edit_config(PAPER_FILE, lambda d: d["enabled_assets"]["BTCUSDT"].update(enabled=True))
        daemon.signal(signal.SIGHUP)
        applied = daemon.wait_for("reload_applied", timeout=30)
        assert applied["changed"] == ["BTCUSDT"]
        assert applied["trading"] == ["ETHUSDT", "BTCUSDT"]
        (config_dir / PAPER_FILE).write_text('{"enabled_assets": ')
        daemon.signal(signal.SIGHUP)
        rejected = daemon.wait_for("reload_rejected", timeout=30)
        assert PAPER_FILE in rejected["problem"] and "invalid JSON" in rejected["problem"]
        daemon.wait_for("fill", timeout=60)  # still trading on the last good config
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(timeout=5) == 0
    finally:
        daemon.kill()
    journal = _without_wall_time(RunResult(0, "", "", reports).journal())
    btc = [line for line in journal if line["symbol"] == "BTCUSDT"]
    assert all(line["signal_bar_ts"] > applied["last_bar_ts"] for line in btc)
    eth = [line for line in journal if line["symbol"] == "ETHUSDT"]
    unchanged = [{k: v for k, v in line.items() if k != "seq"} for line in eth]
    expected = [{k: v for k, v in line.items() if k != "seq"} for line in eth_only]
    assert unchanged == expected[: len(unchanged)], "the ETH task was not disturbed"


def test_a_damaged_middle_line_refuses_start_and_touches_nothing(
    run_chloe: Callable[..., RunResult], config_dir: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    assert run_chloe(config_dir, reports).returncode == 0
    journal = reports / "trades.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[10] = lines[10].replace(b'"qty":', b'"qty":"x",', 1)
    journal.write_bytes(b"".join(lines))
    before = journal.read_bytes()
    result = run_chloe(config_dir, reports)
    assert result.returncode == 3
    assert str(journal) in result.stderr and "line 11" in result.stderr
    assert "Traceback" not in result.stderr
    assert journal.read_bytes() == before


def test_a_torn_last_line_is_quarantined_and_the_run_goes_on(
    run_chloe: Callable[..., RunResult], config_dir: Path, tmp_path: Path
) -> None:
    reference = run_chloe(config_dir, tmp_path / "reference")
    reports = tmp_path / "reports"
    lines = reference.journal()
    journal_bytes = (tmp_path / "reference" / "trades.jsonl").read_bytes().splitlines(True)
    reports.mkdir()
    torn = journal_bytes[20][:57]
    (reports / "trades.jsonl").write_bytes(b"".join(journal_bytes[:20]) + torn)
    result = run_chloe(config_dir, reports)
    assert result.returncode == 0, result.stderr
    assert torn in (reports / "trades.jsonl.quarantine").read_bytes()
    assert any(e["event"] == "journal_torn_line_quarantined" for e in result.log_events())
    assert _without_wall_time(result.journal()) == _without_wall_time(lines)
