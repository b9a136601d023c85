"""Market rules (tick, lot step, minimums) from Binance filters, and exact rounding to them."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine_alpha.config.config_loader import ConfigError

__all__ = [
    "MarketRules",
    "MarketRulesError",
    "floor_to_step",
    "load_market_rules",
    "market_rules_from_ccxt",
    "round_price",
]


class MarketRulesError(ConfigError, ValueError):
    """Market rules could not be read; the message names the source, the symbol and the field."""


@dataclass(slots=True, frozen=True)
class MarketRules:
    """One symbol's trading rules, from the Binance PRICE_FILTER, LOT_SIZE and (MIN_)NOTIONAL."""

    symbol: str
    tick_size: float
    step_size: float
    min_qty: float
    min_notional: float

    def floor_qty(self, qty: float) -> float:
        """`qty` cut down to this market's lot step."""
        return floor_to_step(qty, self.step_size)

    def round_price(self, price: float, side: str) -> float:
        """`price` on this market's tick, rounded against us (`buy` up, `sell` down)."""
        return round_price(price, self.tick_size, side)


def floor_to_step(qty: float, step: float) -> float:
    """The largest multiple of `step` not above `qty`, exact in decimal (0.3 stays 0.3)."""
    q_num, q_den = _exact(qty, "qty")
    s_num, s_den = _exact_step(step)
    count = (q_num * s_den) // (q_den * s_num)
    return (count * s_num) / s_den


def round_price(price: float, tick: float, side: str) -> float:
    """`price` on the tick grid, rounded against us: a `buy` rounds up, a `sell` rounds down."""
    p_num, p_den = _exact(price, "price")
    t_num, t_den = _exact_step(tick)
    if side == "buy":
        count = -((-p_num * t_den) // (p_den * t_num))
    elif side == "sell":
        count = (p_num * t_den) // (p_den * t_num)
    else:
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    return (count * t_num) / t_den


def _exact(value: float, name: str) -> tuple[int, int]:
    """The decimal a float prints as (its shortest repr), as an exact integer ratio."""
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return Decimal(repr(value)).as_integer_ratio()


@lru_cache(maxsize=256)
def _exact_step(step: float) -> tuple[int, int]:
    if not (math.isfinite(step) and step > 0.0):
        raise ValueError(f"step must be finite and > 0, got {step!r}")
    return Decimal(repr(step)).as_integer_ratio()


def load_market_rules(path: Path) -> dict[str, MarketRules]:
    """Rules of every symbol in a Binance `GET /api/v3/exchangeInfo` response saved as JSON."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MarketRulesError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MarketRulesError(f"{path}: invalid JSON: {exc}") from None
    symbols = info.get("symbols") if isinstance(info, dict) else None
    if not isinstance(symbols, list):
        raise MarketRulesError(f"{path}: expected an exchangeInfo object with a 'symbols' list")
    rules: dict[str, MarketRules] = {}
    for index, entry in enumerate(symbols):
        if not isinstance(entry, dict) or not isinstance(entry.get("symbol"), str):
            raise MarketRulesError(f"{path}: symbols[{index}]: expected an object with 'symbol'")
        symbol = entry["symbol"]
        rules[symbol] = _rules_from_filters(str(path), symbol, entry.get("filters"))
    return rules


def market_rules_from_ccxt(markets: Mapping[str, Mapping[str, Any]]) -> dict[str, MarketRules]:
    """Rules from ccxt's `load_markets()`, read from the raw Binance filters in `info`."""
    rules: dict[str, MarketRules] = {}
    for key, market in markets.items():
        if market.get("spot") is False:
            continue  # a futures market shares the spot id (BTCUSDT); its filters differ
        info = market.get("info")
        symbol = market.get("id")
        if not isinstance(info, Mapping) or not isinstance(symbol, str):
            raise MarketRulesError(f"ccxt markets: {key}: expected 'id' and the raw 'info' object")
        rules[symbol] = _rules_from_filters("ccxt markets", symbol, info.get("filters"))
    return rules


def _rules_from_filters(source: str, symbol: str, filters: object) -> MarketRules:
    where = f"{source}: {symbol}"
    if not isinstance(filters, list):
        raise MarketRulesError(f"{where}: 'filters' must be a list of Binance filters")
    by_type = {f.get("filterType"): f for f in filters if isinstance(f, dict)}
    notional_type = "NOTIONAL" if "NOTIONAL" in by_type else "MIN_NOTIONAL"
    return MarketRules(
        symbol=symbol,
        tick_size=_positive(where, by_type, "PRICE_FILTER", "tickSize"),
        step_size=_positive(where, by_type, "LOT_SIZE", "stepSize"),
        min_qty=_number(where, by_type, "LOT_SIZE", "minQty"),
        min_notional=_number(where, by_type, notional_type, "minNotional"),
    )


def _number(where: str, by_type: dict[Any, Any], filter_type: str, field: str) -> float:
    if filter_type not in by_type:
        raise MarketRulesError(f"{where}: filters: no {filter_type} filter")
    raw = by_type[filter_type].get(field)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise MarketRulesError(
            f"{where}: {filter_type}.{field}: expected a decimal string, got {raw!r}"
        ) from None
    if not (math.isfinite(value) and value >= 0.0):
        raise MarketRulesError(f"{where}: {filter_type}.{field}: must be >= 0, got {raw!r}")
    return value


def _positive(where: str, by_type: dict[Any, Any], filter_type: str, field: str) -> float:
    value = _number(where, by_type, filter_type, field)
    if value <= 0.0:
        raise MarketRulesError(
            f"{where}: {filter_type}.{field}: must be > 0 to round to it, got {value!r}"
        )
    return value
