"""enable/disable edit the paper config atomically, keep its formatting, and validate first."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_edit import edit_paper_config, render_json, set_asset_state
from engine_alpha.config.config_loader import (
    PAPER_FILE,
    ConfigError,
    load_config,
)
from engine_alpha.config.models import PaperConfig
from tests.conftest import SHIPPED_CONFIG


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_enabling_changes_exactly_one_line_of_the_shipped_file(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    for name in os.listdir(SHIPPED_CONFIG):
        if name.endswith(".json"):
            (config_dir / name).write_bytes((SHIPPED_CONFIG / name).read_bytes())
    before = (config_dir / PAPER_FILE).read_text()
    result = set_asset_state(config_dir, "BTCUSDT", enabled=True)
    after = (config_dir / PAPER_FILE).read_text()
    assert result.changed and not result.reformatted
    assert _changed_lines(before, after) == [('      "enabled": false,', '      "enabled": true,')]
    assert json.loads(after)["enabled_assets"]["BTCUSDT"]["enabled"] is True
    assert result.config.trading_symbols() == ["ETHUSDT", "BTCUSDT"]
    assert list(json.loads(after)) == list(json.loads(before))


def test_mode_and_disable_edit_only_their_keys(config_dir: Path) -> None:
    set_asset_state(config_dir, "XRPUSDT", enabled=True, mode="paper")
    set_asset_state(config_dir, "ETHUSDT", enabled=False)
    paper = load_config(config_dir).paper
    assert (paper.enabled_assets["XRPUSDT"].enabled, paper.enabled_assets["XRPUSDT"].mode) == (
        True,
        "paper",
    )
    assert not paper.enabled_assets["ETHUSDT"].enabled


def test_an_edit_keeps_the_file_mode(config_dir: Path) -> None:
    path = config_dir / PAPER_FILE
    path.chmod(0o640)
    set_asset_state(config_dir, "BTCUSDT", enabled=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in config_dir.iterdir() if p.name.endswith(".tmp")] == []


def test_an_edit_the_loader_rejects_leaves_the_file_untouched(config_dir: Path) -> None:
    path = config_dir / PAPER_FILE
    before = path.read_bytes()

    def overcap(d: dict[str, Any]) -> None:
        d["enabled_assets"]["BTCUSDT"]["max_notional_per_trade_usd"] = 10_000

    with pytest.raises(ConfigError) as err:
        edit_paper_config(config_dir, overcap)
    assert str(path) in str(err.value)
    assert "enabled_assets.BTCUSDT.max_notional_per_trade_usd" in str(err.value)
    assert "chloe-config-check" not in str(err.value)
    assert path.read_bytes() == before


def test_a_tier3_asset_cannot_be_enabled_by_an_edit(config_dir: Path) -> None:
    def sneak_in(d: dict[str, Any]) -> None:
        d["enabled_assets"]["BNBUSDT"] = {
            "enabled": True,
            "priority": 9,
            "max_notional_per_trade_usd": 100,
            "max_daily_notional_usd": 1000,
        }
        d["activation_order"].append("BNBUSDT")
        del d["research_only_assets"]["BNBUSDT"]

    path = config_dir / PAPER_FILE
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="tier 3"):
        edit_paper_config(config_dir, sneak_in)
    assert path.read_bytes() == before


def test_an_asset_outside_enabled_assets_is_an_error(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"enabled_assets\.BNBUSDT: not in enabled_assets"):
        set_asset_state(config_dir, "BNBUSDT", enabled=True)


def test_a_concurrent_reader_never_sees_a_half_written_file(config_dir: Path) -> None:
    path = config_dir / PAPER_FILE
    seen: set[bool] = set()
    problems: list[str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            text = path.read_text()
            try:
                model = PaperConfig.model_validate(json.loads(text))
            except ValueError as exc:  # JSONDecodeError and ValidationError are ValueErrors
                problems.append(f"{type(exc).__name__}: {text[:80]!r}")
                continue
            seen.add(model.enabled_assets["BTCUSDT"].enabled)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(120):
            set_asset_state(config_dir, "BTCUSDT", enabled=i % 2 == 0)
    finally:
        done.set()
        for t in threads:
            t.join()
    assert problems == []
    assert seen == {True, False}


def test_concurrent_editors_do_not_lose_each_others_changes(config_dir: Path) -> None:
    symbols = ["BTCUSDT", "MATICUSDT", "AVAXUSDT", "DOGEUSDT", "XRPUSDT", "SOLUSDT"]

    def flip(symbol: str) -> None:
        for i in range(15):
            set_asset_state(config_dir, symbol, enabled=i % 2 == 0)

    threads = [threading.Thread(target=flip, args=(s,)) for s in symbols]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    paper = load_config(config_dir).paper
    assert all(paper.enabled_assets[s].enabled for s in symbols)


def test_render_json_is_the_files_own_formatting() -> None:
    text = (SHIPPED_CONFIG / PAPER_FILE).read_text()
    assert render_json(json.loads(text)) == text
