"""The profile filter (SPEC §3) and observation mode (SPEC §5), one rule per test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.config.models import REGIMES, AssetProfile, ObservationSettings, StrategyProfiler
from engine_alpha.strategy.filters import FilterRules, refusal

REPO = Path(__file__).resolve().parents[2]
OBSERVATION = ObservationSettings(min_conf=0.3)


def _profile(
    *,
    regimes: list[str] | None = None,
    preferred: list[int] | None = None,
    avoid: list[int] | None = None,
    cells: list[str] | None = None,
    min_conf: float | None = 0.0,
    bias: str | None = None,
    best_bucket: int | None = None,
) -> AssetProfile:
    data: dict[str, Any] = {
        "tier": 1,
        "edge_bps": 8.0,
        "best_bucket": best_bucket,
        "confidence_filters": {
            "min_conf": min_conf,
            "preferred_buckets": preferred or [],
            "avoid_buckets": avoid or [],
        },
        "regime_filters": {"enabled_regimes": ["high_vol"] if regimes is None else regimes},
        "allowed_cells": cells or [],
        "directional_bias": bias,
        "position_sizing": {"max_notional_per_trade_usd": 500},
    }
    return AssetProfile.model_validate(data)


def _rules(mode: str = "paper", **profile: Any) -> FilterRules:
    return FilterRules.from_profile(_profile(**profile), mode, OBSERVATION)


def _check(
    rules: FilterRules, regime: str, bucket: int, direction: str = "long", conf: float | None = None
) -> str | None:
    confidence = bucket / 10.0 + 0.05 if conf is None else conf
    return refusal(rules, regime, direction, confidence, bucket)


def test_a_signal_in_an_enabled_regime_passes_and_one_in_another_regime_is_refused() -> None:
    rules = _rules(regimes=["high_vol", "trend_down"])
    assert _check(rules, "high_vol", 3) is None
    assert _check(rules, "trend_down", 3) is None
    assert _check(rules, "chop", 3) == "regime"
    assert _check(rules, "trend_up", 3) == "regime"


def test_an_empty_preferred_list_means_every_bucket() -> None:
    rules = _rules(preferred=[])
    assert all(_check(rules, "high_vol", b) is None for b in range(10))


def test_a_preferred_list_refuses_the_other_buckets() -> None:
    rules = _rules(preferred=[5, 6, 7, 8])
    assert [b for b in range(10) if _check(rules, "high_vol", b) is None] == [5, 6, 7, 8]
    assert _check(rules, "high_vol", 4) == "bucket"
    assert _check(rules, "high_vol", 9) == "bucket"


def test_an_avoided_bucket_is_refused_even_with_no_preferred_list() -> None:
    rules = _rules(avoid=[0, 9])
    assert _check(rules, "high_vol", 0) == "bucket"
    assert _check(rules, "high_vol", 9) == "bucket"
    assert _check(rules, "high_vol", 5) is None
    both = _rules(preferred=[7, 8], avoid=[8])
    assert _check(both, "high_vol", 8) == "bucket"
    assert _check(both, "high_vol", 7) is None


def test_an_allowed_cell_passes_outside_the_enabled_regimes_and_buckets() -> None:
    rules = _rules(preferred=[2, 6], avoid=[8], cells=["chop|8", "high_vol|8"])
    assert _check(rules, "chop", 8) is None
    assert _check(rules, "high_vol", 8) is None  # the cell overrides avoid_buckets
    assert _check(rules, "chop", 7) == "regime"  # only the exact cell
    assert _check(rules, "trend_up", 8) == "regime"


def test_an_allowed_cell_still_needs_min_conf_and_the_bias() -> None:
    rules = _rules(cells=["chop|8"], min_conf=0.85, bias="SHORT")
    assert _check(rules, "chop", 8, "short", conf=0.86) is None
    assert _check(rules, "chop", 8, "short", conf=0.84) == "min_conf"
    assert _check(rules, "chop", 8, "long", conf=0.86) == "bias"


def test_min_conf_is_inclusive() -> None:
    rules = _rules(min_conf=0.2)
    assert _check(rules, "high_vol", 2, conf=0.2) is None
    assert _check(rules, "high_vol", 1, conf=0.19999) == "min_conf"


@pytest.mark.parametrize(
    ("bias", "passes", "refused"),
    [("LONG", "long", "short"), ("SHORT", "short", "long")],
)
def test_a_directional_bias_refuses_the_other_direction(
    bias: str, passes: str, refused: str
) -> None:
    rules = _rules(bias=bias)
    assert _check(rules, "high_vol", 5, passes) is None
    assert _check(rules, "high_vol", 5, refused) == "bias"


def test_no_bias_passes_both_directions() -> None:
    rules = _rules(bias=None)
    assert _check(rules, "high_vol", 5, "long") is None
    assert _check(rules, "high_vol", 5, "short") is None


def test_the_first_failing_rule_is_reported_in_order_regime_bucket_min_conf_bias() -> None:
    rules = _rules(preferred=[3, 8], min_conf=0.5, bias="LONG")
    assert _check(rules, "chop", 1, "short", conf=0.15) == "regime"
    assert _check(rules, "high_vol", 1, "short", conf=0.15) == "bucket"
    assert _check(rules, "high_vol", 3, "short", conf=0.35) == "min_conf"
    assert _check(rules, "high_vol", 8, "short", conf=0.85) == "bias"


def test_missing_inputs_refuse_with_the_code_of_the_rule_that_needed_them() -> None:
    rules = _rules()
    assert refusal(rules, None, "long", 0.5, 5) == "regime"
    assert refusal(rules, "high_vol", "long", 0.5, None) == "bucket"
    assert refusal(rules, "chop", "long", 0.5, None) == "regime"
    assert refusal(rules, "high_vol", "long", None, 5) == "min_conf"
    assert refusal(rules, "high_vol", None, 0.5, 5) == "bias"


def test_observation_mode_keeps_the_preferred_buckets_and_the_profiles_own_min_conf() -> None:
    paper = _rules(preferred=[2, 6], min_conf=0.2)
    observed = _rules("observation", preferred=[2, 6], min_conf=0.2)
    assert paper.min_conf == 0.2
    assert observed.min_conf == 0.2  # SPEC §5: a value the profile sets stands
    assert _check(paper, "high_vol", 2, conf=0.25) is None
    assert _check(observed, "high_vol", 2, conf=0.25) is None
    assert _check(observed, "high_vol", 2, conf=0.15) == "min_conf"
    assert _check(observed, "high_vol", 6) is None
    assert _check(observed, "high_vol", 7) == "bucket"


def test_observation_mode_fills_an_unset_min_conf_with_its_floor() -> None:
    paper = _rules(preferred=[2, 6], min_conf=None)
    observed = _rules("observation", preferred=[2, 6], min_conf=None)
    assert paper.min_conf == 0.0
    assert observed.min_conf == OBSERVATION.min_conf
    assert _check(observed, "high_vol", 2, conf=0.25) == "min_conf"
    assert _check(observed, "high_vol", 6) is None


def test_observation_mode_with_no_preferred_list_trades_only_the_best_bucket() -> None:
    paper = _rules(best_bucket=6)
    observed = _rules("observation", best_bucket=6)
    assert _check(paper, "high_vol", 4) is None
    assert _check(observed, "high_vol", 4) == "bucket"
    assert _check(observed, "high_vol", 6) is None
    no_best = _rules("observation")
    assert _check(no_best, "high_vol", 4) is None


def test_observation_mode_keeps_a_profile_min_conf_whether_stricter_or_looser() -> None:
    assert _rules("observation", min_conf=0.6).min_conf == 0.6
    assert _rules("observation", min_conf=0.0).min_conf == 0.0


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        _rules("live")


def _shipped() -> StrategyProfiler:
    text = (REPO / "config" / "multi_asset_strategy_profiler.json").read_text()
    return StrategyProfiler.model_validate_json(text)


def test_every_shipped_tier_3_profile_refuses_everything_with_regime() -> None:
    tier3 = {s: p for s, p in _shipped().assets.items() if p.tier == 3}
    assert len(tier3) == 5
    for profile in tier3.values():
        for mode in ("paper", "observation"):
            rules = FilterRules.from_profile(profile, mode, OBSERVATION)
            for regime in REGIMES:
                for bucket in range(10):
                    for direction in ("long", "short"):
                        assert _check(rules, regime, bucket, direction) == "regime"


def test_the_shipped_profiles_of_xrp_and_avax_behave_as_their_research_says() -> None:
    assets = _shipped().assets
    xrp = FilterRules.from_profile(assets["XRPUSDT"], "observation", OBSERVATION)
    assert _check(xrp, "chop", 8, "short") is None  # mean reversion cell chop|8
    # The guide's min_conf 0.2 stands in observation mode: XRP's best bucket, high_vol|2, trades.
    assert xrp.min_conf == 0.2
    assert _check(xrp, "high_vol", 2) is None
    assert _check(xrp, "high_vol", 7) is None
    sol = FilterRules.from_profile(assets["SOLUSDT"], "observation", OBSERVATION)
    assert sol.min_conf == OBSERVATION.min_conf  # the guide leaves SOL's unset
    avax = FilterRules.from_profile(assets["AVAXUSDT"], "paper", OBSERVATION)
    assert _check(avax, "trend_down", 6, "short") is None
    assert _check(avax, "trend_down", 6, "long") == "bias"


_buckets = st.lists(st.integers(0, 9), max_size=4)


@given(
    regimes=st.lists(st.sampled_from(REGIMES), max_size=4, unique=True),
    preferred=_buckets,
    avoid=_buckets,
    cells=st.lists(st.tuples(st.sampled_from(REGIMES), st.integers(0, 9)), max_size=3),
    min_conf=st.floats(0.0, 1.0),
    bias=st.sampled_from([None, "LONG", "SHORT"]),
    regime=st.sampled_from(REGIMES),
    direction=st.sampled_from(["long", "short"]),
    confidence=st.floats(0.0, 1.0),
)
def test_refusal_agrees_with_the_spec_formula(
    regimes: list[str],
    preferred: list[int],
    avoid: list[int],
    cells: list[tuple[str, int]],
    min_conf: float,
    bias: str | None,
    regime: str,
    direction: str,
    confidence: float,
) -> None:
    bucket = min(9, int(confidence * 10))
    cell_names = [f"{r}|{b}" for r, b in cells]
    rules = _rules(
        regimes=regimes,
        preferred=preferred,
        avoid=avoid,
        cells=cell_names,
        min_conf=min_conf,
        bias=bias,
    )
    # SPEC §3, transcribed literally.
    passes = (
        (
            (regime in regimes and (not preferred or bucket in preferred) and bucket not in avoid)
            or f"{regime}|{bucket}" in cell_names
        )
        and confidence >= min_conf
        and (bias is None or bias.lower() == direction)
    )
    code = refusal(rules, regime, direction, confidence, bucket)
    assert (code is None) == passes
    assert code in (None, "regime", "bucket", "min_conf", "bias")
