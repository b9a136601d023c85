"""The start-up check: assets enabled in the config although their gate is not met."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine_alpha.config.config_loader import PAPER_FILE, load_config
from engine_alpha.daemon.startup_gates import unmet_gates
from tests.conftest import EditConfig
from tests.ops.factory import (
    HOUR_MS,
    Journal,
    uniform_cells,
    uniform_signals,
    write_jsonl,
    write_research,
)


def _enable(edit_config: EditConfig, *symbols: str) -> None:
    def change(d: dict[str, Any]) -> None:
        for symbol in symbols:
            d["enabled_assets"][symbol]["enabled"] = True

    edit_config(PAPER_FILE, change)


def test_the_benchmark_alone_never_warns(config_dir: Path, tmp_path: Path) -> None:
    assert unmet_gates(load_config(config_dir), tmp_path / "reports") == {}


def test_an_asset_enabled_over_an_unstable_predecessor_is_reported(
    config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    _enable(edit_config, "BTCUSDT", "MATICUSDT")
    reports = tmp_path / "reports"
    journal = Journal()
    journal.trades("ETHUSDT", [10.0 if i % 5 else -5.0 for i in range(12)], every_ms=12 * HOUR_MS)
    journal.write(reports)
    write_jsonl(reports / "signals.jsonl", uniform_signals("ETHUSDT"))
    write_research(reports, "ETHUSDT", uniform_cells())
    unmet = unmet_gates(load_config(config_dir), reports)
    assert list(unmet) == ["MATICUSDT"]
    assert {b.symbol for b in unmet["MATICUSDT"]} == {"BTCUSDT"}
    assert "trades_below_min" in [b.code for b in unmet["MATICUSDT"]]
