"""Parity: the same bars through the live path (real ccxt, fake exchange) and through replay.

The daemon runs as a subprocess in live mode against the Binance-compatible server on 127.0.0.1,
whose clock the test moves an hour at a time; its journal must equal a replay's over those bars.
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine_alpha.config.config_loader import PAPER_FILE
from engine_alpha.testing.fake_binance import FakeBinance, FakeClock
from tests.conftest import MARKETS_FILE, SAMPLE_DATA, EditConfig
from tests.daemon_runs import RunResult
from tests.e2e.daemon_process import DaemonProcess

pytestmark = pytest.mark.slow  # end-to-end: subprocess daemons (quick set: -m 'not slow')

HOUR_MS = 3_600_000
BARS = 1000
LIVE_ASSETS = ("ETHUSDT", "BTCUSDT", "MATICUSDT", "DOGEUSDT", "XRPUSDT")


def _cut_sample(target: Path, bars: int = BARS) -> tuple[int, int]:
    """The first `bars` rows of every bundled CSV; returns the first and last open times."""
    (target / "ohlcv").mkdir(parents=True)
    (target / "binance").mkdir()
    shutil.copy(MARKETS_FILE, target / "binance" / "exchangeInfo.json")
    for csv in sorted(SAMPLE_DATA.glob("*.csv")):
        rows = csv.read_text().splitlines()[: bars + 1]
        (target / "ohlcv" / csv.name).write_text("\n".join(rows) + "\n")
    rows = (target / "ohlcv" / "ETHUSDT-1h.csv").read_text().splitlines()
    return int(rows[1].split(",")[0]), int(rows[-1].split(",")[0])


def go_live(edit_config: EditConfig, base_url: str) -> None:
    """The paper config trading LIVE_ASSETS from the fake exchange at `base_url`, polled fast."""

    def live(d: dict[str, Any]) -> None:
        for symbol in LIVE_ASSETS:
            d["enabled_assets"][symbol]["enabled"] = True
        d["feed"].update(source="ccxt", api_url=base_url, poll_interval_s=0.05)

    edit_config(PAPER_FILE, live)


def go_replay(edit_config: EditConfig, data: Path) -> None:
    """The same config replaying the CSVs in `data` instead."""
    edit_config(PAPER_FILE, lambda d: d["feed"].update(source="replay", data_dir=str(data)))


def _journal(reports: Path) -> list[dict[str, Any]]:
    lines = (reports / "trades.jsonl").read_bytes().splitlines()
    return [{k: v for k, v in orjson.loads(x).items() if k != "wall_ts"} for x in lines]


def test_live_and_replay_over_the_same_bars_write_the_same_journal(
    run_chloe: Callable[..., RunResult], config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    first_ts, last_ts = _cut_sample(tmp_path / "data")
    clock = FakeClock.manual(first_ts + 2 * HOUR_MS)  # two closed bars of history at start
    with FakeBinance(tmp_path / "data" / "ohlcv", clock=clock) as server:
        go_live(edit_config, server.start())
        reports = tmp_path / "live-reports"
        daemon = DaemonProcess(config_dir, reports, replay=False)
        try:
            daemon.wait_for("started", timeout=60)
            while clock.now_ms() <= last_ts + HOUR_MS:
                clock.advance(HOUR_MS)
                time.sleep(0.01)
            daemon.wait_for("bars_processed", timeout=120, last_bar_ts=last_ts)
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(timeout=10) == 0
            events = daemon.drain()
        finally:
            daemon.kill()
    assert not [e for e in events if e["event"] == "bar_refused"]
    live_journal = _journal(reports)
    assert len(live_journal) >= 10
    assert {line["symbol"] for line in live_journal} >= {"ETHUSDT", "MATICUSDT"}

    go_replay(edit_config, tmp_path / "data" / "ohlcv")
    replayed = run_chloe(config_dir, tmp_path / "replay-reports")
    assert replayed.returncode == 0, replayed.stderr
    assert live_journal == _journal(tmp_path / "replay-reports")
