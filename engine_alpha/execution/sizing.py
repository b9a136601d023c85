"""Order sizing: per-trade cap x size factor, cut by the daily and portfolio caps, to the lot.

Pure functions over plain numbers; the trader calls `size_order` at the fill (the next bar's open),
so the caps see every fill that came before it in bar time.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.market.rules import MarketRules, floor_to_step


@dataclass(frozen=True, slots=True)
class AssetCaps:
    """One asset's effective caps and sizing switches, from both config files and its mode."""

    per_trade_usd: float
    daily_usd: float
    size_factor: float
    confidence_multiplier: bool
    volatility_multiplier: bool


@dataclass(frozen=True, slots=True)
class SizedOrder:
    """The outcome of sizing: a quantity, or a refusal code with the numbers behind it.

    `cut_by` names the caps that shrank the order (`daily_cap`, `exposure_cap`).
    """

    qty: float
    notional_usd: float
    requested_usd: float
    refusal: str | None
    cut_by: tuple[str, ...]


def asset_caps(config: ChloeConfig, symbol: str) -> AssetCaps:
    """Effective caps: the smaller of profile and paper caps; observation mode adds its own."""
    profile = config.profiler.assets[symbol]
    paper = config.paper.enabled_assets[symbol]
    per_trade = min(
        profile.position_sizing.max_notional_per_trade_usd, paper.max_notional_per_trade_usd
    )
    daily = paper.max_daily_notional_usd
    if paper.mode == "observation":
        per_trade = min(per_trade, config.paper.observation.max_notional_per_trade_usd)
        daily = min(daily, config.paper.observation.max_daily_notional_usd)
    return AssetCaps(
        per_trade_usd=per_trade,
        daily_usd=daily,
        size_factor=profile.position_sizing.base_size_factor,
        confidence_multiplier=profile.position_sizing.confidence_multiplier,
        volatility_multiplier=profile.position_sizing.volatility_multiplier,
    )


def size_order(
    caps: AssetCaps,
    *,
    confidence: float,
    vol_multiplier: float,
    daily_used_usd: float,
    open_exposure_usd: float,
    max_exposure_usd: float,
    price: float,
    rules: MarketRules,
) -> SizedOrder:
    """Size an entry at `price`: cap x factor x multiplier, cut daily, cut portfolio, to the lot."""
    requested = caps.per_trade_usd * caps.size_factor
    if caps.confidence_multiplier:
        requested *= confidence
    if caps.volatility_multiplier:
        requested *= vol_multiplier
    notional = requested
    cut_by: list[str] = []
    daily_left = caps.daily_usd - daily_used_usd
    if daily_left < notional:
        if daily_left <= 0.0:
            return SizedOrder(0.0, 0.0, requested, "daily_cap", ("daily_cap",))
        notional = daily_left
        cut_by.append("daily_cap")
    exposure_left = max_exposure_usd - open_exposure_usd
    if exposure_left < notional:
        if exposure_left <= 0.0:
            return SizedOrder(0.0, 0.0, requested, "exposure_cap", (*cut_by, "exposure_cap"))
        notional = exposure_left
        cut_by.append("exposure_cap")
    qty = floor_to_step(notional / price, rules.step_size)
    if qty * price > notional:  # float rounding of the step count; never exceed a cap
        qty = floor_to_step(qty - rules.step_size, rules.step_size)
    filled_notional = qty * price
    if qty <= 0.0 or qty < rules.min_qty or filled_notional < rules.min_notional:
        # an order a cap cut below the market minimum was refused by that cap
        code = cut_by[-1] if cut_by else "min_notional"
        return SizedOrder(0.0, 0.0, requested, code, tuple(cut_by))
    return SizedOrder(qty, filled_notional, requested, None, tuple(cut_by))
