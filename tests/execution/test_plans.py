"""Per-asset plans from the config: who trades, in which mode, under which caps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import PAPER_FILE, PROFILER_FILE, ConfigError, load_config
from engine_alpha.execution.plans import build_plans, filter_rules, run_symbols
from engine_alpha.market.rules import load_market_rules
from tests.conftest import MARKETS_FILE, EditConfig


def _enable(symbol: str, mode: str) -> Any:
    def change(data: dict[str, Any]) -> None:
        data["enabled_assets"][symbol].update(enabled=True, mode=mode)

    return change


def test_every_profiler_asset_gets_a_plan_and_only_enabled_ones_trade_under_the_smaller_cap(
    config_dir: Path, edit_config: EditConfig
) -> None:
    edit_config(PAPER_FILE, _enable("XRPUSDT", "observation"))
    config = load_config(config_dir)
    paper = json.loads((config_dir / PAPER_FILE).read_text())
    profiler = json.loads((config_dir / PROFILER_FILE).read_text())
    symbols = run_symbols(config, [])
    plans = build_plans(config, symbols, load_market_rules(MARKETS_FILE))
    assert list(plans) == symbols == config.run_order()
    enabled = {s for s, a in paper["enabled_assets"].items() if a["enabled"]}
    assert {s for s, p in plans.items() if p.trades} == enabled == {"ETHUSDT", "XRPUSDT"}
    for symbol, plan in plans.items():
        if symbol not in enabled:
            assert plan.caps is None and filter_rules(config, plan) is None
            expected = "asset_disabled" if symbol in paper["enabled_assets"] else "research_only"
            assert plan.idle_reason == expected
            continue
        asset, sizing = paper["enabled_assets"][symbol], profiler["assets"][symbol]
        per_trade = min(
            asset["max_notional_per_trade_usd"],
            sizing["position_sizing"]["max_notional_per_trade_usd"],
        )
        daily = asset["max_daily_notional_usd"]
        if asset["mode"] == "observation":  # the observation caps are the defaults, 250 / 2500
            per_trade, daily = min(per_trade, 250.0), min(daily, 2500.0)
        assert plan.caps is not None and plan.mode == asset["mode"]
        assert (plan.caps.per_trade_usd, plan.caps.daily_usd) == (per_trade, daily)
        assert filter_rules(config, plan) is not None


def test_an_open_position_on_an_asset_the_config_dropped_runs_after_the_others(
    config_dir: Path,
) -> None:
    config = load_config(config_dir)
    assert run_symbols(config, ["ZZZUSDT", "ETHUSDT"]) == [*config.run_order(), "ZZZUSDT"]


def test_an_asset_without_market_rules_is_a_config_error_naming_the_file_and_symbol(
    config_dir: Path,
) -> None:
    config = load_config(config_dir)
    markets = load_market_rules(MARKETS_FILE)
    del markets["ETHUSDT"]
    with pytest.raises(ConfigError, match=r"no market rules for ETHUSDT") as info:
        build_plans(config, config.run_order(), markets)
    assert config.paper.feed.markets_file in str(info.value)
