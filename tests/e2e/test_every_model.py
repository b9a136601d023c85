"""Every installed signal model (Chloe's own and the outside package's) keeps the daemon's
promises: two replays write the same journal, a kill -9 mid-replay loses and repeats nothing,
and the live path (a kill -9 and a restart from the saved model state included) writes the
journal and signal log of a replay over the same bars.

Each test runs with every asset's profile naming the model under test and filters loose enough
(every regime, every bucket, no bias) that each model trades; the tests check that it does.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import PROFILER_FILE
from engine_alpha.config.signal_models import installed
from engine_alpha.testing.fake_binance import FakeBinance, FakeClock
from tests.conftest import EditConfig
from tests.daemon_runs import RunResult
from tests.e2e.daemon_process import DaemonProcess
from tests.e2e.test_replay_daemon import _enable_all
from tests.live.test_live_restarts import _run_until, _signals
from tests.live.test_parity import HOUR_MS, _cut_sample, _journal, go_live, go_replay

pytestmark = pytest.mark.slow  # end-to-end: subprocess daemons (quick set: -m 'not slow')

MODELS = sorted(installed())
REPLAY_BARS = 2000  # about 12 weeks of the bundled sample: every model past its warm-up
LIVE_BARS = 1000
KILL_AT_BAR = 700  # past what a warm-up backfill covers: the restart needs the saved state
REGIMES = ["trend_up", "trend_down", "high_vol", "chop"]


def run_model_everywhere(edit_config: EditConfig, name: str) -> None:
    """Every asset's profile runs model `name` (its defaults) with filters that let it trade."""

    def change(d: dict[str, Any]) -> None:
        for profile in d["assets"].values():
            profile["signal_model"] = {"name": name}
            profile["regime_filters"] = {"enabled_regimes": REGIMES}
            profile["confidence_filters"] = {
                "min_conf": None,
                "preferred_buckets": [],
                "avoid_buckets": [],
            }
            profile["allowed_cells"] = []
            profile["directional_bias"] = None

    edit_config(PROFILER_FILE, change)


@pytest.fixture(params=MODELS)
def model(request: pytest.FixtureRequest, edit_config: EditConfig) -> str:
    """The model under test, named in every profile."""
    name: str = request.param
    run_model_everywhere(edit_config, name)
    return name


@pytest.fixture
def replay_data(tmp_path: Path, edit_config: EditConfig, model: str) -> Path:
    """Every asset enabled, replaying the first REPLAY_BARS bars of the bundled sample."""
    data = tmp_path / "data"
    _cut_sample(data, REPLAY_BARS)
    _enable_all(edit_config)
    go_replay(edit_config, data / "ohlcv")
    return data / "ohlcv"


def _traded(reports: Path, name: str) -> list[dict[str, Any]]:
    journal = _journal(reports)
    assert len(journal) >= 4, f"{name} made {len(journal)} fills: the test would prove nothing"
    return journal


def test_two_replays_write_the_same_journal_and_signal_log(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    replay_data: Path,
    model: str,
    tmp_path: Path,
) -> None:
    first = run_chloe(config_dir, tmp_path / "first")
    second = run_chloe(config_dir, tmp_path / "second")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert _traded(first.reports, model) == _journal(second.reports)
    assert (first.reports / "signals.jsonl").read_bytes() == (
        second.reports / "signals.jsonl"
    ).read_bytes()


def test_a_kill_9_mid_replay_and_a_restart_write_the_uninterrupted_journal(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    replay_data: Path,
    model: str,
    tmp_path: Path,
) -> None:
    reference = run_chloe(config_dir, tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr
    expected = _traded(reference.reports, model)

    reports = tmp_path / "reports"
    daemon = DaemonProcess(config_dir, reports, "--speed=1440000")  # ~400 bar times a second
    try:
        daemon.wait_for("fill", timeout=60)
        daemon.wait_for("fill", timeout=60)
        daemon.signal(signal.SIGKILL)
        assert daemon.wait(timeout=10) == -signal.SIGKILL
        daemon.drain()
    finally:
        daemon.kill()
    assert 2 <= len(_journal(reports)) < len(expected), "killed mid-replay"

    finish = run_chloe(config_dir, reports)
    assert finish.returncode == 0, finish.stderr
    assert _journal(reports) == expected
    assert (reports / "signals.jsonl").read_bytes() == (
        reference.reports / "signals.jsonl"
    ).read_bytes()


def test_live_with_a_kill_9_writes_the_journal_and_signals_of_a_replay(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    edit_config: EditConfig,
    model: str,
    tmp_path: Path,
) -> None:
    first_ts, last_ts = _cut_sample(tmp_path / "data", LIVE_BARS)
    clock = FakeClock.manual(first_ts + 2 * HOUR_MS)  # two closed bars of history at start
    reports = tmp_path / "live-reports"
    events: list[dict[str, Any]] = []
    with FakeBinance(tmp_path / "data" / "ohlcv", clock=clock) as server:
        go_live(edit_config, server.start())
        for until, signum in ((KILL_AT_BAR, signal.SIGKILL), (None, signal.SIGTERM)):
            daemon = DaemonProcess(config_dir, reports, replay=False)
            try:
                daemon.wait_for("started", timeout=60)
                _run_until(daemon, clock, last_ts if until is None else first_ts + until * HOUR_MS)
                daemon.signal(signum)
                assert daemon.wait(timeout=10) == (0 if until is None else -signal.SIGKILL)
                events += daemon.drain()
            finally:
                daemon.kill()
    names = [e["event"] for e in events]
    assert names.count("model_state_restored") == 1 and "model_state_warmup" not in names
    assert "model_failed" not in names and "bar_refused" not in names

    go_replay(edit_config, tmp_path / "data" / "ohlcv")
    replayed = run_chloe(config_dir, tmp_path / "replay-reports")
    assert replayed.returncode == 0, replayed.stderr
    assert _traded(reports, model) == _journal(replayed.reports)
    assert _signals(reports) == _signals(replayed.reports)
