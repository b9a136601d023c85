"""The config boundary: the shipped files load; every kind of bad file gets one clear message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import (
    PAPER_FILE,
    PROFILER_FILE,
    ConfigError,
    load_config,
    load_json,
)
from engine_alpha.config.models import tier_for_edge, timeframe_ms
from engine_alpha.config.schema import builtin_schema_files
from tests.conftest import REPO, SHIPPED_CONFIG, EditConfig

SPEC_SNIPPET = """
from engine_alpha.config.config_loader import load_json
from pathlib import Path
import json
cfg = json.loads(Path('config/multi_asset_paper_config.json').read_text())
for asset, data in cfg.get('enabled_assets', {}).items():
    print(f"{asset}: enabled={data.get('enabled')}, mode={data.get('mode')}")
"""


def test_shipped_config_loads_with_eth_trading_and_the_rest_waiting() -> None:
    config = load_config(SHIPPED_CONFIG)
    assert config.trading_symbols() == ["ETHUSDT"]
    assert len(config.profiler.assets) == 12
    order = config.paper.activation_order
    assert order == [
        "ETHUSDT",
        "BTCUSDT",
        "MATICUSDT",
        "AVAXUSDT",
        "DOGEUSDT",
        "XRPUSDT",
        "SOLUSDT",
    ]
    tier3 = {s for s, p in config.profiler.assets.items() if p.tier == 3}
    assert tier3 == {"BNBUSDT", "DOTUSDT", "ADAUSDT", "LINKUSDT", "ATOMUSDT"}
    assert tier3 == set(config.paper.research_only_assets)
    for symbol, profile in config.profiler.assets.items():
        assert profile.tier == tier_for_edge(profile.edge_bps), symbol


def test_spec_status_snippet_runs_unchanged_from_the_repo_root() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SPEC_SNIPPET], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "ETHUSDT: enabled=True, mode=paper"
    assert "XRPUSDT: enabled=False, mode=observation" in out
    assert len(out) == 7
    assert not any(s in line for line in out for s in ("BNB", "DOT", "ADA", "LINK", "ATOM"))


def _rejected(config_dir: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    return str(info.value)


def test_invalid_json_names_file_line_and_column(config_dir: Path) -> None:
    path = config_dir / PAPER_FILE
    path.write_text('{\n  "enabled_assets": {,\n}')
    message = _rejected(config_dir)
    assert str(path) in message
    assert "line 2" in message and "invalid JSON" in message


def test_missing_file_is_named(config_dir: Path) -> None:
    (config_dir / PROFILER_FILE).unlink()
    assert "file not found" in _rejected(config_dir)


def test_unknown_field_is_named_with_its_path(config_dir: Path, edit_config: EditConfig) -> None:
    edit_config(PAPER_FILE, lambda d: d["enabled_assets"]["ETHUSDT"].update(max_notional=5))
    message = _rejected(config_dir)
    assert f"{PAPER_FILE}: enabled_assets.ETHUSDT.max_notional: unknown field" in message


def test_unknown_symbol_is_rejected(config_dir: Path, edit_config: EditConfig) -> None:
    def add(d: dict[str, Any]) -> None:
        d["enabled_assets"]["PEPEUSDT"] = dict(d["enabled_assets"]["SOLUSDT"], priority=9)
        d["activation_order"].append("PEPEUSDT")

    edit_config(PAPER_FILE, add)
    message = _rejected(config_dir)
    assert "enabled_assets.PEPEUSDT: unknown symbol" in message


def test_malformed_symbol_is_rejected(config_dir: Path, edit_config: EditConfig) -> None:
    edit_config(PROFILER_FILE, lambda d: d["assets"].update(eth=d["assets"]["ETHUSDT"]))
    assert "assets.eth" in _rejected(config_dir)


@pytest.mark.parametrize("value", [0, -100])
def test_zero_or_negative_cap_is_rejected(
    config_dir: Path, edit_config: EditConfig, value: int
) -> None:
    edit_config(
        PAPER_FILE, lambda d: d["enabled_assets"]["BTCUSDT"].update(max_daily_notional_usd=value)
    )
    message = _rejected(config_dir)
    assert "enabled_assets.BTCUSDT.max_daily_notional_usd" in message
    assert "greater than 0" in message


def test_enabling_a_tier3_asset_is_rejected_whatever_else_it_says(
    config_dir: Path, edit_config: EditConfig
) -> None:
    def enable_bnb(d: dict[str, Any]) -> None:
        d["research_only_assets"].pop("BNBUSDT")
        d["enabled_assets"]["BNBUSDT"] = {
            "enabled": True,
            "mode": "paper",
            "priority": 7,
            "max_notional_per_trade_usd": 100,
            "max_daily_notional_usd": 1000,
            "notes": "forced",
        }
        d["activation_order"].append("BNBUSDT")

    edit_config(PAPER_FILE, enable_bnb)
    message = _rejected(config_dir)
    assert "enabled_assets.BNBUSDT.enabled" in message and "tier 3" in message


@pytest.mark.parametrize("bucket", [10, -1])
def test_bucket_outside_0_to_9_is_rejected(
    config_dir: Path, edit_config: EditConfig, bucket: int
) -> None:
    edit_config(
        PROFILER_FILE,
        lambda d: d["assets"]["SOLUSDT"]["confidence_filters"]["preferred_buckets"].append(bucket),
    )
    message = _rejected(config_dir)
    assert f"{PROFILER_FILE}: assets.SOLUSDT.confidence_filters.preferred_buckets.1" in message


def test_tier_that_contradicts_the_edge_is_rejected(
    config_dir: Path, edit_config: EditConfig
) -> None:
    edit_config(PROFILER_FILE, lambda d: d["assets"]["BTCUSDT"].update(edge_bps=-1.0))
    message = _rejected(config_dir)
    assert "assets.BTCUSDT" in message and "does not match edge_bps" in message


def test_activation_order_must_follow_priorities(config_dir: Path, edit_config: EditConfig) -> None:
    edit_config(PAPER_FILE, lambda d: d["activation_order"].reverse())
    assert "activation_order" in _rejected(config_dir)


def test_asset_cap_above_the_portfolio_ceiling_is_rejected(
    config_dir: Path, edit_config: EditConfig
) -> None:
    edit_config(
        PAPER_FILE,
        lambda d: d["enabled_assets"]["ETHUSDT"].update(max_notional_per_trade_usd=900),
    )
    assert "exceeds position_limits.max_notional_per_trade_usd" in _rejected(config_dir)


def test_several_problems_are_reported_together_one_per_line(
    config_dir: Path, edit_config: EditConfig
) -> None:
    def two(d: dict[str, Any]) -> None:
        d["feed"]["source"] = "ftp"
        d["position_limits"]["starting_equity_usd"] = -5

    edit_config(PAPER_FILE, two)
    lines = _rejected(config_dir).splitlines()
    assert any("feed.source" in line for line in lines)
    assert any("position_limits.starting_equity_usd" in line for line in lines)


def test_load_json_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("[1, 2")
    with pytest.raises(ConfigError, match=r"x\.json: invalid JSON"):
        load_json(path)


def test_committed_schemas_match_the_models() -> None:
    for name, text in builtin_schema_files().items():
        committed = SHIPPED_CONFIG / "schema" / name
        assert committed.read_text() == text, f"run `chloe config schema` to refresh {name}"
        assert json.loads(text)["additionalProperties"] is False


def test_timeframe_lengths() -> None:
    assert timeframe_ms("1h") == 3_600_000
    assert timeframe_ms("15m") == 900_000
    with pytest.raises(ValueError, match="not like"):
        timeframe_ms("1w")


def test_cli_config_check_exits_2_with_the_message_and_no_traceback(
    config_dir: Path, edit_config: EditConfig
) -> None:
    edit_config(PROFILER_FILE, lambda d: d["assets"]["SOLUSDT"].update(tier=7))
    result = subprocess.run(
        [sys.executable, "-m", "engine_alpha", "config", "check", "--config-dir", str(config_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "assets.SOLUSDT.tier" in result.stderr
    assert "Traceback" not in result.stderr
