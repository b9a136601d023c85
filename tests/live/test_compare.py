"""`chloe compare`: a live paper run (real ccxt against the fake exchange) and a replay of the
same bars are the same; with one bar altered in the replay's data, the comparison names that
bar; a config change and a shorter run are named as causes too. Real daemons, real files."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine_alpha.config.config_loader import PAPER_FILE, load_config
from engine_alpha.core.formatting import fmt_ts
from engine_alpha.testing.fake_binance import FakeBinance, FakeClock
from tests.conftest import EditConfig
from tests.daemon_runs import REPO, RunResult, child_env
from tests.e2e.daemon_process import DaemonProcess
from tests.live.test_parity import HOUR_MS, _cut_sample, go_live, go_replay

pytestmark = pytest.mark.slow  # end-to-end: subprocess daemons (quick set: -m 'not slow')


def _compare(*args: str) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "engine_alpha", "compare", *args, "--json"],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=REPO,
        check=False,
        timeout=60,
    )
    assert proc.returncode in (0, 1), proc.stderr
    doc: dict[str, Any] = orjson.loads(proc.stdout)
    return proc.returncode, doc


@pytest.fixture
def live_run(config_dir: Path, edit_config: EditConfig, tmp_path: Path) -> tuple[Path, Path]:
    """A live paper run over 1000 bars of the sample; returns (its reports, the bars served)."""
    first_ts, last_ts = _cut_sample(tmp_path / "data")
    clock = FakeClock.manual(first_ts + 2 * HOUR_MS)
    reports = tmp_path / "live-reports"
    with FakeBinance(tmp_path / "data" / "ohlcv", clock=clock) as server:
        go_live(edit_config, server.start())
        daemon = DaemonProcess(config_dir, reports, replay=False)
        try:
            daemon.wait_for("started", timeout=60)
            while clock.now_ms() <= last_ts + HOUR_MS:
                clock.advance(HOUR_MS)
                time.sleep(0.01)
            daemon.wait_for("bars_processed", timeout=120, last_bar_ts=last_ts)
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(timeout=10) == 0
        finally:
            daemon.kill()
    return reports, tmp_path / "data" / "ohlcv"


def _alter_entry_bar(data: Path, target: Path, journal: list[dict[str, Any]]) -> int:
    """A copy of `data` with the open of one entry's fill bar moved by 1%; returns its time."""
    shutil.copytree(data, target)
    entry = next(line for line in journal if line["action"] == "open" and line["bar_ts"])
    path = target / f"{entry['symbol']}-1h.csv"
    rows = path.read_text().splitlines()
    for i, row in enumerate(rows[1:], start=1):
        cells = row.split(",")
        if int(cells[0]) == entry["bar_ts"]:
            o, h, lo = float(cells[1]), float(cells[2]), float(cells[3])
            new_open = o * 1.01
            cells[1], cells[2] = repr(new_open), repr(max(h, new_open))
            assert lo <= new_open
            rows[i] = ",".join(cells)
    path.write_text("\n".join(rows) + "\n")
    return int(entry["bar_ts"])


def test_live_and_a_replay_of_the_same_bars_compare_equal_and_an_altered_bar_is_named(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    edit_config: EditConfig,
    tmp_path: Path,
    live_run: tuple[Path, Path],
) -> None:
    live, bars = live_run
    go_replay(edit_config, bars)
    replay = run_chloe(config_dir, tmp_path / "replay")
    assert replay.returncode == 0, replay.stderr
    code, doc = _compare("--reports", str(live), "--reports", str(replay.reports))
    assert code == 0 and doc["same"] and doc["differences"] == []
    assert doc["fills_a"] == doc["fills_b"] == doc["matched"] >= 10
    assert doc["config_differences"] == []  # the feed's source and address are not compared

    journal = [orjson.loads(x) for x in (live / "trades.jsonl").read_bytes().splitlines()]
    altered_at = _alter_entry_bar(bars, tmp_path / "altered", journal)
    go_replay(edit_config, tmp_path / "altered")
    changed = run_chloe(config_dir, tmp_path / "changed")
    assert changed.returncode == 0, changed.stderr
    args = ["--reports", str(live), "--reports", str(changed.reports)]
    code, doc = _compare(*args, "--data", str(bars), "--data", str(tmp_path / "altered"))
    assert code == 1 and not doc["same"]
    first = doc["differences"][0]
    assert first["bar_utc"] == fmt_ts(altered_at) and "price" in first["fields"]
    assert first["cause"].startswith(f"bar {fmt_ts(altered_at)} UTC differs: open ")
    # Without the bars, the reports alone cannot name it, and say what would.
    code, doc = _compare(*args)
    assert code == 1 and "(--data)" in doc["differences"][0]["cause"]


def test_a_config_change_and_a_shorter_run_are_named_as_causes(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    edit_config: EditConfig,
    tmp_path: Path,
) -> None:
    _cut_sample(tmp_path / "data")
    go_replay(edit_config, tmp_path / "data" / "ohlcv")
    edit_config(PAPER_FILE, lambda d: d["enabled_assets"]["MATICUSDT"].update(enabled=True))
    shipped = load_config(config_dir).paper.enabled_assets["MATICUSDT"].max_notional_per_trade_usd
    base = run_chloe(config_dir, tmp_path / "base")
    assert base.returncode == 0, base.stderr
    edit_config(
        PAPER_FILE,
        lambda d: d["enabled_assets"]["MATICUSDT"].update(max_notional_per_trade_usd=123),
    )
    capped = run_chloe(config_dir, tmp_path / "capped")
    code, doc = _compare("--reports", str(base.reports), "--reports", str(capped.reports))
    assert code == 1
    assert "paper.enabled_assets.MATICUSDT.max_notional_per_trade_usd" in doc["config_differences"]
    matic = [d for d in doc["differences"] if d["symbol"] == "MATICUSDT"]
    assert matic and all("config differs" in d["cause"] for d in matic)
    assert all(d["symbol"] == "MATICUSDT" for d in doc["differences"])  # ETH untouched

    cut = tmp_path / "short"
    _cut_sample(cut, 600)
    go_replay(edit_config, cut / "ohlcv")
    edit_config(
        PAPER_FILE,
        lambda d: d["enabled_assets"]["MATICUSDT"].update(max_notional_per_trade_usd=shipped),
    )
    short = run_chloe(config_dir, tmp_path / "short-run")
    code, doc = _compare("--reports", str(base.reports), "--reports", str(short.reports))
    assert code == 1 and doc["differences"]
    for d in doc["differences"]:
        assert d["kind"] == "only_in_a" and d["cause"].startswith("after the other run's last bar")
