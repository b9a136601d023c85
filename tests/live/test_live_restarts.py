"""A live daemon stopped and restarted (SIGTERM and SIGKILL) writes the journal it would without.

The daemon runs live (real ccxt, the fake exchange on 127.0.0.1, a clock the test moves an hour
at a time) over 1,000 bars and is stopped three times after bar 600, past what a warm-up backfill
(480 + 24 + 48 bars) covers: each restart must continue its models from the saved state, so the
journal and the signal log equal a replay's over the same bars.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine_alpha.testing.fake_binance import FakeBinance, FakeClock
from tests.conftest import EditConfig
from tests.daemon_runs import RunResult
from tests.e2e.daemon_process import DaemonProcess
from tests.live.test_parity import (
    HOUR_MS,
    LIVE_ASSETS,
    _cut_sample,
    _journal,
    go_live,
    go_replay,
)

pytestmark = pytest.mark.slow

STOPS = ((600, signal.SIGTERM), (760, signal.SIGKILL), (880, signal.SIGTERM))


def _signals(reports: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in (reports / "signals.jsonl").read_bytes().splitlines()]


def _run_until(daemon: DaemonProcess, clock: FakeClock, until_ts: int) -> None:
    """Move the exchange's clock an hour at a time until bar `until_ts` has been processed."""
    while clock.now_ms() < until_ts + HOUR_MS:
        clock.advance(HOUR_MS)
        time.sleep(0.01)
    daemon.wait_for("bars_processed", timeout=120, last_bar_ts=until_ts)


def test_live_restarts_write_the_journal_and_signals_of_an_uninterrupted_run(
    run_chloe: Callable[..., RunResult], config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    first_ts, last_ts = _cut_sample(tmp_path / "data")
    clock = FakeClock.manual(first_ts + 2 * HOUR_MS)
    reports = tmp_path / "live-reports"
    events: list[dict[str, Any]] = []
    with FakeBinance(tmp_path / "data" / "ohlcv", clock=clock) as server:
        go_live(edit_config, server.start())
        for bar, signum in (*STOPS, (None, signal.SIGTERM)):
            daemon = DaemonProcess(config_dir, reports, replay=False)
            try:
                daemon.wait_for("started", timeout=60)
                _run_until(daemon, clock, last_ts if bar is None else first_ts + bar * HOUR_MS)
                daemon.signal(signum)
                code = daemon.wait(timeout=10)
                assert code == (0 if signum == signal.SIGTERM else -signal.SIGKILL)
                events += daemon.drain()
            finally:
                daemon.kill()
    names = [e["event"] for e in events]
    assert names.count("model_state_restored") == len(STOPS)
    assert "model_state_warmup" not in names
    restored = [e for e in events if e["event"] == "model_state_restored"]
    assert all(set(e["symbols"]) >= set(LIVE_ASSETS) for e in restored)

    go_replay(edit_config, tmp_path / "data" / "ohlcv")
    replayed = run_chloe(config_dir, tmp_path / "replay-reports")
    assert replayed.returncode == 0, replayed.stderr
    live_journal = _journal(reports)
    assert len(live_journal) >= 10
    assert live_journal == _journal(tmp_path / "replay-reports")
    assert _signals(reports) == _signals(tmp_path / "replay-reports")
