"""The panel's numbers: equal to pf_local.json after a real replay, sane on empty reports."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from engine_alpha.config.config_loader import PAPER_FILE, load_config
from engine_alpha.dashboard.multi_asset_panel import (
    COLUMNS,
    gather,
    panel_renderable,
    portfolio_cells,
    rollout_lines,
    status_dict,
    table_cells,
)
from tests.conftest import EditConfig
from tests.dashboard.conftest import Replay

STATS = ("trades", "wins", "losses", "pf", "max_drawdown_pct", "net_pnl_usd")


def test_status_equals_pf_local_after_a_replay(replay: Replay) -> None:
    status = status_dict(gather(load_config(replay.config_dir), replay.reports))
    pf_local = json.loads((replay.reports / "pf_local.json").read_text())
    assert status["as_of_bar_ts"] == pf_local["as_of_bar_ts"]
    for key in STATS:
        assert status["portfolio"][key] == pf_local["portfolio"][key], key
    for symbol, block in pf_local["assets"].items():
        for key in STATS:
            assert status["assets"][symbol][key] == block[key], (symbol, key)
        open_usd = (block["open_position"] or {}).get("notional_usd", 0.0)
        assert status["assets"][symbol]["open_exposure_usd"] == open_usd
    assert status["portfolio"]["open_exposure_usd"] == pytest.approx(
        pf_local["portfolio"]["open_exposure_usd"]
    )
    assert status["rollout"]["done"] == ["ETHUSDT", "BTCUSDT", "MATICUSDT", "AVAXUSDT", "DOGEUSDT"]
    assert status["rollout"]["next"] == "XRPUSDT"
    assert status["rollout"]["phase"] == "2.2"
    assert status["daemon"]["feed"]["source"] == "replay"


def test_the_rollout_lines_show_the_daemons_own_status(replay: Replay) -> None:
    status = status_dict(gather(load_config(replay.config_dir), replay.reports))
    lines = rollout_lines(status)
    assert status["daemon_running"] is False  # the replay has ended
    assert lines[1].startswith("daemon: not running (last seen ")
    status["daemon_running"] = True
    line = rollout_lines(status)[1]
    assert line.startswith("daemon: running, pid ") and "feed replay, degraded none" in line
    status["daemon"] = None
    assert rollout_lines(status)[1].startswith("daemon: no daemon_status.json")


def test_every_row_has_a_cell_per_column(replay: Replay) -> None:
    status = status_dict(gather(load_config(replay.config_dir), replay.reports))
    for row in status["assets"].values():
        assert len(table_cells(row)) == len(COLUMNS)
    assert len(portfolio_cells(status["portfolio"])) == len(COLUMNS)
    out = io.StringIO()
    Console(file=out, width=200).print(panel_renderable(status))
    text = out.getvalue()
    assert "Chloe multi-asset panel" in text and "next: XRPUSDT (observation)" in text


def test_status_of_an_empty_reports_directory(config_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    status = status_dict(gather(load_config(config_dir), tmp_path / "reports", bars={}))
    assert status["as_of_bar_ts"] is None and status["journal_fills"] == 0
    assert status["portfolio"]["trades"] == 0 and status["portfolio"]["pf"] is None
    assert table_cells(status["assets"]["ETHUSDT"])[COLUMNS.index("PF")] == "n/a (no trades)"


def test_status_names_a_config_ahead_of_its_gates(
    config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    def enable_all(d: dict[str, Any]) -> None:
        for entry in d["enabled_assets"].values():
            if entry.get("mode") is not None:
                entry["enabled"] = True

    edit_config(PAPER_FILE, enable_all)
    (tmp_path / "reports").mkdir()
    status = status_dict(gather(load_config(config_dir), tmp_path / "reports", bars={}))
    rollout = status["rollout"]
    assert rollout["next"] is None
    assert rollout["phase"] == "config_ahead_of_gates"
    assert "BTCUSDT" in rollout["config_ahead_of_gates"]
    assert "ETHUSDT" not in rollout["config_ahead_of_gates"]
    lines = rollout_lines(status)
    assert not any("phase complete" in line for line in lines)
    ahead = [line for line in lines if line.startswith("config ahead of gates: ")]
    assert len(ahead) == 1
    assert "BTCUSDT enabled, gate not met (ETHUSDT trades_below_min" in ahead[0]
    assert any(line.startswith("phase 2.1 prerequisite: not met") for line in lines)
