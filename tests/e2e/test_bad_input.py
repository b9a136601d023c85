"""Bad input never stops other assets: a refused bar is logged with its code, the rest trade on."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_DATA
from tests.daemon_runs import RunResult
from tests.e2e.test_replay_daemon import _without_wall_time

pytestmark = pytest.mark.slow  # real daemon subprocesses


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "ohlcv"
    shutil.copytree(SAMPLE_DATA, data)
    return data


def _refusals(result: RunResult) -> list[dict[str, object]]:
    return [e for e in result.log_events() if e["event"] == "bar_refused"]


def test_a_timestamp_of_ten_to_the_thirty_is_refused_and_every_asset_trades_on(
    run_chloe: Callable[..., RunResult], config_dir: Path, tmp_path: Path
) -> None:
    clean = run_chloe(config_dir, tmp_path / "clean")
    assert clean.returncode == 0, clean.stderr
    data = _data(tmp_path)
    btc = data / "BTCUSDT-1h.csv"
    btc.write_text(btc.read_text() + f"{10**30},30000,30100,29900,30050,12.5\n")
    result = run_chloe(config_dir, tmp_path / "reports", "--data", str(data))
    assert result.returncode == 0, result.stderr  # today: orjson overflow before any bar
    (refused,) = _refusals(result)
    assert refused["symbol"] == "BTCUSDT" and refused["code"] == "ts_out_of_range"
    assert refused["bar_ts_ms"] == str(10**30)
    assert _without_wall_time(result.journal()) == _without_wall_time(clean.journal())


def test_a_high_of_1e300_is_a_refused_price_jump_and_stops_stay_sane(
    run_chloe: Callable[..., RunResult], config_dir: Path, tmp_path: Path
) -> None:
    data = _data(tmp_path)
    eth = data / "ETHUSDT-1h.csv"
    rows = eth.read_text().splitlines(keepends=True)
    ts, o, _, lo, c, v = rows[1000].rstrip("\n").split(",")
    rows[1000] = f"{ts},{o},1e300,{lo},{c},{v}\n"
    eth.write_text("".join(rows))
    result = run_chloe(config_dir, tmp_path / "reports", "--data", str(data))
    assert result.returncode == 0, result.stderr
    (refused,) = _refusals(result)
    assert (refused["symbol"], refused["code"], refused["line"]) == ("ETHUSDT", "price_jump", 1001)
    assert refused["bar_ts_ms"] == int(ts) and refused["high"] == 1e300
    opens = [line for line in result.journal() if line["action"] == "open"]
    assert len(opens) >= 10
    for line in opens:  # today: stop 4.26e290, target -7.1e290 for two weeks after the bar
        price = line["price"]
        assert 0.5 * price < line["stop_price"] < 2 * price
        assert 0.5 * price < line["target_price"] < 2 * price
