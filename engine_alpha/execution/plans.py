"""Per-asset plans from the config: which assets trade, in which mode, under which caps and filter.

Every asset of the profiler runs (its indicators stay warm); the plan decides whether its signals
trade. A reload swaps plans in place, so enabling an asset never waits for a warm-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine_alpha.config.config_loader import ChloeConfig, ConfigError
from engine_alpha.execution.sizing import asset_caps
from engine_alpha.execution.trader import AssetPlan
from engine_alpha.market.rules import MarketRules
from engine_alpha.strategy.filters import FilterRules


def run_symbols(config: ChloeConfig, open_symbols: Sequence[str]) -> list[str]:
    """Every profiler asset in run order, then any symbol still holding a position (exit-only)."""
    symbols = config.run_order()
    return symbols + sorted(s for s in open_symbols if s not in symbols)


def build_plans(
    config: ChloeConfig, symbols: Sequence[str], markets: Mapping[str, MarketRules]
) -> dict[str, AssetPlan]:
    """One plan per symbol; a symbol without market rules is a config error."""
    trading = set(config.trading_symbols())
    plans = {}
    for symbol in symbols:
        rules = markets.get(symbol)
        if rules is None:
            raise ConfigError(f"{config.paper.feed.markets_file}: no market rules for {symbol}")
        enabled = config.paper.enabled_assets.get(symbol)
        trades = symbol in trading
        plans[symbol] = AssetPlan(
            symbol=symbol,
            trades=trades,
            mode=enabled.mode if enabled is not None else "paper",
            caps=asset_caps(config, symbol) if trades else None,
            rules=rules,
            idle_reason="asset_disabled" if enabled is not None else "research_only",
        )
    return plans


def filter_rules(config: ChloeConfig, plan: AssetPlan) -> FilterRules | None:
    """The profile filter of a trading asset; None for one that does not trade."""
    if not plan.trades:
        return None
    return FilterRules.from_profile(
        config.profiler.assets[plan.symbol], plan.mode, config.paper.observation
    )
