"""Sizing: no cap is ever exceeded, cuts and refusals say which cap, the lot and minimum hold."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.config.config_loader import load_config
from engine_alpha.execution.sizing import AssetCaps, asset_caps, size_order
from engine_alpha.market.rules import MarketRules
from engine_alpha.strategy.volatility import volatility_multiplier
from tests.conftest import SHIPPED_CONFIG

RULES = MarketRules("ETHUSDT", tick_size=0.01, step_size=0.0001, min_qty=0.0001, min_notional=5.0)
CAPS = AssetCaps(500.0, 5000.0, 1.0, confidence_multiplier=False, volatility_multiplier=False)

money = st.floats(min_value=0.0, max_value=20_000.0, allow_nan=False)


@given(
    per_trade=st.floats(min_value=1.0, max_value=5000.0),
    daily=st.floats(min_value=1.0, max_value=50_000.0),
    factor=st.floats(min_value=0.01, max_value=1.0),
    confidence=st.floats(min_value=0.0, max_value=1.0),
    vol_mult=st.floats(min_value=0.25, max_value=1.0),
    daily_used=money,
    exposure=money,
    max_exposure=st.floats(min_value=1.0, max_value=20_000.0),
    price=st.floats(min_value=0.001, max_value=100_000.0),
    use_conf=st.booleans(),
    use_vol=st.booleans(),
)
def test_no_cap_is_ever_exceeded(
    per_trade: float,
    daily: float,
    factor: float,
    confidence: float,
    vol_mult: float,
    daily_used: float,
    exposure: float,
    max_exposure: float,
    price: float,
    use_conf: bool,
    use_vol: bool,
) -> None:
    caps = AssetCaps(per_trade, daily, factor, use_conf, use_vol)
    order = size_order(
        caps,
        confidence=confidence,
        vol_multiplier=vol_mult,
        daily_used_usd=daily_used,
        open_exposure_usd=exposure,
        max_exposure_usd=max_exposure,
        price=price,
        rules=RULES,
    )
    if order.refusal is not None:
        assert order.qty == 0.0
        return
    assert order.notional_usd <= per_trade * factor
    assert daily_used + order.notional_usd <= daily + 1e-9 * daily
    assert exposure + order.notional_usd <= max_exposure + 1e-9 * max_exposure
    assert order.notional_usd >= RULES.min_notional
    steps = Decimal(repr(order.qty)) / Decimal(repr(RULES.step_size))
    assert steps == steps.to_integral_value()


def _size(**overrides: float) -> tuple[float, str | None, tuple[str, ...]]:
    args: dict[str, float] = {
        "confidence": 0.5,
        "vol_multiplier": 1.0,
        "daily_used_usd": 0.0,
        "open_exposure_usd": 0.0,
        "max_exposure_usd": 2000.0,
        "price": 2000.0,
    }
    args.update(overrides)
    order = size_order(CAPS, rules=RULES, **args)
    return order.notional_usd, order.refusal, order.cut_by


def test_full_size_when_nothing_binds() -> None:
    notional, refusal, cut = _size()
    assert refusal is None and cut == ()
    assert 499.0 < notional <= 500.0


def test_daily_cap_cuts_then_refuses() -> None:
    notional, refusal, cut = _size(daily_used_usd=4800.0)
    assert refusal is None and cut == ("daily_cap",) and notional <= 200.0
    assert _size(daily_used_usd=5000.0)[1] == "daily_cap"


def test_exposure_cap_cuts_then_refuses() -> None:
    notional, refusal, cut = _size(open_exposure_usd=1800.0)
    assert refusal is None and cut == ("exposure_cap",) and notional <= 200.0
    assert _size(open_exposure_usd=2000.0)[1] == "exposure_cap"


def test_below_min_notional_is_refused_naming_the_cap_that_cut_it() -> None:
    assert _size(daily_used_usd=4996.0)[1] == "daily_cap"
    assert _size(open_exposure_usd=1996.0)[1] == "exposure_cap"
    tiny = MarketRules("X", tick_size=0.01, step_size=1.0, min_qty=1.0, min_notional=5.0)
    order = size_order(
        CAPS,
        confidence=1.0,
        vol_multiplier=1.0,
        daily_used_usd=0.0,
        open_exposure_usd=0.0,
        max_exposure_usd=2000.0,
        price=600.0,
        rules=tiny,
    )
    assert order.refusal == "min_notional"


def test_confidence_multiplier_scales_the_order() -> None:
    caps = AssetCaps(500.0, 5000.0, 0.5, confidence_multiplier=True, volatility_multiplier=False)
    order = size_order(
        caps,
        confidence=0.8,
        vol_multiplier=1.0,
        daily_used_usd=0.0,
        open_exposure_usd=0.0,
        max_exposure_usd=2000.0,
        price=10.0,
        rules=RULES,
    )
    assert order.requested_usd == 500.0 * 0.5 * 0.8
    assert abs(order.notional_usd - 200.0) < 0.01


def test_volatility_multiplier_shrinks_only_above_baseline() -> None:
    assert volatility_multiplier(0.02, 0.01) == 0.5
    assert volatility_multiplier(0.005, 0.01) == 1.0
    assert volatility_multiplier(1.0, 0.01) == 0.25


def test_observation_mode_caps_are_the_tier2_caps() -> None:
    config = load_config(SHIPPED_CONFIG)
    xrp = asset_caps(config, "XRPUSDT")
    assert (xrp.per_trade_usd, xrp.daily_usd) == (250.0, 2500.0)
    eth = asset_caps(config, "ETHUSDT")
    assert (eth.per_trade_usd, eth.daily_usd) == (500.0, 5000.0)
