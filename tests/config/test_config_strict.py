"""Bad config files the audit found: each one exits 2 with one message naming file and field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import PAPER_FILE, PROFILER_FILE, ConfigError, load_config
from tests.conftest import EditConfig


def _rejected(config_dir: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    return str(info.value)


def _check(config_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine_alpha", "config", "check", "--config-dir", str(config_dir)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_profile_for_a_symbol_the_paper_config_does_not_know_is_rejected(
    config_dir: Path, edit_config: EditConfig
) -> None:
    edit_config(PROFILER_FILE, lambda d: d["assets"].update(FOOBARUSDT=d["assets"]["ETHUSDT"]))
    result = _check(config_dir)
    assert result.returncode == 2
    assert f"{PROFILER_FILE}: assets.FOOBARUSDT: unknown symbol" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("file_name", "change", "field"),
    [
        (PAPER_FILE, lambda d: d["enabled_assets"]["ETHUSDT"].update(enabled="yes"), "enabled"),
        (
            PAPER_FILE,
            lambda d: d["enabled_assets"]["ETHUSDT"].update(max_daily_notional_usd="5000"),
            "max_daily_notional_usd",
        ),
        (PAPER_FILE, lambda d: d["enabled_assets"]["BTCUSDT"].update(priority="1"), "priority"),
        (
            PROFILER_FILE,
            lambda d: d["assets"]["XRPUSDT"]["confidence_filters"].update(min_conf="0.2"),
            "min_conf",
        ),
        (
            PROFILER_FILE,
            lambda d: d["assets"]["BTCUSDT"]["position_sizing"].update(confidence_multiplier=1),
            "confidence_multiplier",
        ),
    ],
)
def test_no_string_or_number_coercion(
    config_dir: Path, edit_config: EditConfig, file_name: str, change: Any, field: str
) -> None:
    edit_config(file_name, change)
    message = _rejected(config_dir)
    assert file_name in message and field in message


def test_an_integer_where_a_float_is_expected_stays_valid(
    config_dir: Path, edit_config: EditConfig
) -> None:
    edit_config(PAPER_FILE, lambda d: d["execution"].update(fee_bps=10))
    assert load_config(config_dir).paper.execution.fee_bps == 10.0


def test_megabytes_of_nested_lists_exit_2_naming_the_file(config_dir: Path) -> None:
    path = config_dir / PAPER_FILE
    data = json.loads(path.read_text())
    text = json.dumps(data)[:-1] + ', "junk": ' + "[" * 2_500_000 + "]" * 2_500_000 + "}"
    path.write_text(text)
    result = _check(config_dir)
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr


def test_deep_nesting_under_the_size_limit_is_named_too(config_dir: Path) -> None:
    path = config_dir / PAPER_FILE
    text = path.read_text().rstrip()[:-1] + ', "junk": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path.write_text(text)
    message = _rejected(config_dir)
    assert str(path) in message and "nested too deeply" in message


def test_a_duplicate_key_is_rejected_with_its_path(config_dir: Path) -> None:
    path = config_dir / PAPER_FILE
    text = path.read_text().replace('"enabled": true', '"enabled": true, "enabled": false', 1)
    assert text != path.read_text()
    path.write_text(text)
    result = _check(config_dir)
    assert result.returncode == 2
    assert "enabled_assets.ETHUSDT.enabled: duplicate key" in result.stderr


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e999"])
def test_infinite_or_nan_caps_are_rejected(config_dir: Path, literal: str) -> None:
    path = config_dir / PAPER_FILE
    data = json.loads(path.read_text())
    data["position_limits"]["max_portfolio_exposure_usd"] = 123456.5
    path.write_text(json.dumps(data, indent=2).replace("123456.5", literal))
    message = _rejected(config_dir)
    assert str(path) in message
    assert (
        f"{path}: position_limits.max_portfolio_exposure_usd: Input should be a finite number"
        in message
    )


def test_a_tier3_asset_enabled_is_named_even_beside_other_errors(
    config_dir: Path, edit_config: EditConfig
) -> None:
    def break_two_ways(d: dict[str, Any]) -> None:
        d["research_only_assets"].pop("BNBUSDT")
        d["enabled_assets"]["BNBUSDT"] = dict(d["enabled_assets"]["SOLUSDT"], priority=9)
        d["enabled_assets"]["BNBUSDT"]["enabled"] = True
        d["activation_order"].append("BNBUSDT")
        d["feed"]["source"] = "ftp"

    edit_config(PAPER_FILE, break_two_ways)
    result = _check(config_dir)
    assert result.returncode == 2
    assert "enabled_assets.BNBUSDT.enabled: BNBUSDT is tier 3" in result.stderr
    assert "feed.source" in result.stderr
