"""`chloe data download` and `chloe data check` as real processes against the fake Binance:
a SIGKILL mid-download leaves a valid CSV and a second run finishes it byte for byte."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine_alpha.testing.fake_binance import KLINES_PATH, FakeBinance, FakeClock
from tests.daemon_runs import REPO, child_env
from tests.terminal import run_on_terminal

DATA_DIR = REPO / "data" / "ohlcv"
EXCHANGE_INFO = REPO / "data" / "binance" / "exchangeInfo.json"
HOUR_MS = 3_600_000
DAY0_MS = 1_701_388_800_000  # 2023-12-01 00:00 UTC
JULY = "2023-07-01"
HEADER = "timestamp_ms,open,high,low,close,volume\n"

pytestmark = pytest.mark.slow


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    clock = FakeClock.manual(DAY0_MS + HOUR_MS // 2)  # 00:30: DAY0's 00:00 bar is forming
    with FakeBinance(DATA_DIR, exchange_info=EXCHANGE_INFO, clock=clock) as server:
        yield server


def download_args(fake: FakeBinance, data: Path, *symbols: str) -> list[str]:
    return [
        "data",
        "download",
        "--symbols",
        *(symbols or ("BTCUSDT",)),
        "--since",
        JULY,
        "--data",
        str(data),
        "--api-url",
        fake.base_url,
    ]


def chloe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine_alpha", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=child_env(),
        timeout=120,
        check=False,
    )


def bundled_until(symbol: str, end_ms: int) -> str:
    """The bundled CSV cut before `end_ms`: what the exchange has closed by then."""
    lines = (DATA_DIR / f"{symbol}-1h.csv").read_text().splitlines(keepends=True)
    return HEADER + "".join(line for line in lines[1:] if int(line.split(",")[0]) < end_ms)


def test_a_download_killed_mid_way_leaves_a_valid_csv_and_a_rerun_completes_it_byte_for_byte(
    fake: FakeBinance, tmp_path: Path
) -> None:
    whole = bundled_until("BTCUSDT", DAY0_MS)
    fake.faults.add("slow", path=KLINES_PATH, times=None, delay_s=0.5)  # time to be killed
    killed = tmp_path / "killed"
    with subprocess.Popen(
        [sys.executable, "-m", "engine_alpha", *download_args(fake, killed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env={**child_env(), "PYTHONUNBUFFERED": "1"},
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:  # wait for the first batch on disk, then kill
            if json.loads(line)["event"] == "data_batch_written":
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    cut = (killed / "BTCUSDT-1h.csv").read_text()
    assert whole.startswith(cut) and cut.endswith("\n")  # whole rows of the exchange's bars
    assert 1000 <= cut.count("\n") - 1 < whole.count("\n") - 1
    assert [p.name for p in killed.iterdir()] == ["BTCUSDT-1h.csv"]  # no temp file left

    fake.faults.clear()
    resumed = chloe(*download_args(fake, killed))
    assert resumed.returncode == 0, resumed.stderr
    straight = chloe(*download_args(fake, tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr
    final = (killed / "BTCUSDT-1h.csv").read_bytes()
    assert final == (tmp_path / "straight" / "BTCUSDT-1h.csv").read_bytes()
    assert final == whole.encode()


def test_one_json_line_per_batch_when_not_on_a_terminal(fake: FakeBinance, tmp_path: Path) -> None:
    done = chloe(*download_args(fake, tmp_path, "BTCUSDT", "ETHUSDT"))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    batches = [e for e in lines if e["event"] == "data_batch_written"]
    assert [(b["symbol"], b["bars"]) for b in batches] == [
        ("BTCUSDT", 1000),
        ("BTCUSDT", 1000),
        ("BTCUSDT", 1000),
        ("BTCUSDT", 672),
        ("ETHUSDT", 1000),
        ("ETHUSDT", 1000),
        ("ETHUSDT", 1000),
        ("ETHUSDT", 672),
    ]
    assert batches[-1]["done"] == batches[-1]["total"] == 2 * 3672
    finished = [e for e in lines if e["event"] == "data_download_done"]
    assert [(e["symbol"], e["written"], e["error"]) for e in finished] == [
        ("BTCUSDT", 3672, None),
        ("ETHUSDT", 3672, None),
    ]
    assert "BTCUSDT-1h.csv: 3672 bars written, 0 kept" in done.stderr


def test_a_progress_bar_with_eta_on_a_terminal(fake: FakeBinance, tmp_path: Path) -> None:
    shown = run_on_terminal(download_args(fake, tmp_path))
    assert shown.returncode == 0
    assert "download" in shown.stderr and "ETA" in shown.stderr and "bars" in shown.stderr
    assert "BTCUSDT-1h.csv: 3672 bars written" in shown.stdout
    assert "data_batch_written" not in shown.stdout  # the bar, not a line per batch


def test_an_unknown_symbol_is_refused_by_name_with_exit_2_and_nothing_written(
    fake: FakeBinance, tmp_path: Path
) -> None:
    refused = chloe(*download_args(fake, tmp_path, "BTCUSDT", "NOPEUSDT"))
    assert refused.returncode == 2
    assert "no spot market NOPEUSDT" in refused.stderr
    assert fake.requests(KLINES_PATH) == 0
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []
    timeframe = chloe(*download_args(fake, tmp_path), "--timeframe", "7h")
    assert timeframe.returncode == 2
    assert "no timeframe '7h'" in timeframe.stderr


def test_check_reports_coverage_gaps_and_refused_rows_per_file(tmp_path: Path) -> None:
    h = HOUR_MS
    rows = [
        f"{DAY0_MS},100,101,99,100.5,10",
        f"{DAY0_MS + h},100.5,102,100,101,11",
        f"{DAY0_MS + 4 * h},101,103,100,102,12",  # 02:00 and 03:00 missing
        f"{DAY0_MS + 5 * h},102,101,100,102.5,13",  # high below the close: refused
        f"{DAY0_MS + 6 * h},102.5,104,102,103,14",
        "oops,1,2,3",
    ]
    (tmp_path / "AAAUSDT-1h.csv").write_text(HEADER + "\n".join(rows) + "\n")
    (tmp_path / "BBBUSDT-4h.csv").write_text(HEADER + f"{DAY0_MS},1,1,1,1,0\n")
    (tmp_path / "notes.txt").write_text("not a bar file")
    checked = chloe("data", "check", "--data", str(tmp_path))
    assert checked.returncode == 1  # refused rows
    assert checked.stdout.splitlines() == [
        "AAAUSDT-1h.csv: 4 bars, 2023-12-01 00:00 .. 2023-12-01 06:00 UTC; "
        "2 gaps (3 bars missing), 2 refused rows",
        "  gap: 2023-12-01 02:00 .. 2023-12-01 03:00 UTC (2 bars)",
        "  gap: 2023-12-01 05:00 UTC (1 bar)",
        "  refused: line 5: 2023-12-01 05:00 UTC high_below_body",
        "  refused: line 7: short_row (oops,1,2,3)",
        "BBBUSDT-4h.csv: 1 bars, 2023-12-01 00:00 .. 2023-12-01 00:00 UTC; "
        "0 gaps (0 bars missing), 0 refused rows",
    ]
    as_json = chloe("data", "check", "--data", str(tmp_path), "--json")
    first = json.loads(as_json.stdout.splitlines()[0])
    assert (first["bars"], first["missing_bars"], len(first["refused"])) == (4, 3, 2)
    os.remove(tmp_path / "AAAUSDT-1h.csv")
    assert chloe("data", "check", "--data", str(tmp_path)).returncode == 0


def test_check_of_downloaded_files_finds_them_whole(fake: FakeBinance, tmp_path: Path) -> None:
    assert chloe(*download_args(fake, tmp_path)).returncode == 0
    checked = chloe("data", "check", "--data", str(tmp_path))
    assert checked.returncode == 0
    assert checked.stdout == (
        "BTCUSDT-1h.csv: 3672 bars, 2023-07-01 00:00 .. 2023-11-30 23:00 UTC; "
        "0 gaps (0 bars missing), 0 refused rows\n"
    )


def test_without_data_the_configs_feed_data_dir_is_checked() -> None:
    """The shipped config's feed.data_dir is data/ohlcv: twelve files of six months."""
    checked = chloe("data", "check")
    assert checked.returncode == 0, checked.stderr
    files = sorted(DATA_DIR.glob("*-1h.csv"))
    assert len(files) == 12
    assert checked.stdout.splitlines() == [
        f"{path.name}: {len(path.read_text().splitlines()) - 1} bars, "
        "2023-07-01 00:00 .. 2023-12-30 18:00 UTC; 0 gaps (0 bars missing), 0 refused rows"
        for path in files
    ]
