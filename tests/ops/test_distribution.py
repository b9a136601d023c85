"""The distribution check on hand-made signals: each failing code for the rule it names."""

from __future__ import annotations

from typing import Any

from engine_alpha.config.models import AssetProfile, ObservationSettings
from engine_alpha.ops.distribution import check_distribution
from engine_alpha.ops.history import TakenTrade
from tests.ops.factory import research_of, uniform_cells

PROFILE = AssetProfile.model_validate(
    {
        "tier": 1,
        "regime": "chop",
        "edge_bps": 8.0,
        "regime_filters": {"enabled_regimes": ["chop"]},
        "confidence_filters": {"min_conf": 0.5},
        "position_sizing": {"max_notional_per_trade_usd": 500.0},
    }
)
OBSERVATION = ObservationSettings()


def _signals(buckets: list[int], regime: str = "chop") -> list[dict[str, Any]]:
    return [{"regime": regime, "bucket": b, "confidence": b / 10 + 0.05} for b in buckets]


def _check(signals: list[dict[str, Any]], **kwargs: Any) -> Any:
    kwargs.setdefault("taken", [])
    kwargs.setdefault("research", research_of(uniform_cells()))
    return check_distribution(PROFILE, observation=OBSERVATION, signals=signals, **kwargs)


def test_signals_spread_as_research_expects_match_and_count_per_bucket() -> None:
    buckets = [b for b in range(10) for _ in range(6)]
    check = _check(_signals(buckets) + _signals([3] * 20, regime="trend_up"))
    assert check.observed == tuple([6] * 10)
    assert (check.signals, check.focus_signals) == (80, 60)
    assert check.focus_share == 60 / 80
    assert check.expected_shares == tuple([0.1] * 10)
    assert check.failing == () and check.matches


def test_every_signal_in_one_bucket_against_uniform_research_is_off() -> None:
    check = _check(_signals([9] * 60))
    assert check.failing == ("bucket_distribution_off",)
    assert check.test is not None and check.test.p_value < check.alpha
    assert "bucket_distribution_off (p " in check.describe_failing()


def test_fewer_than_ten_focus_signals_are_too_few_and_no_test_runs() -> None:
    check = _check(_signals([9] * 9))
    assert check.failing == ("too_few_signals",) and check.test is None


def test_a_focus_regime_under_a_tenth_of_the_signals_is_rare() -> None:
    buckets = [b for b in range(10) for _ in range(2)]
    check = _check(_signals(buckets) + _signals([1] * 181, regime="high_vol"))
    assert check.focus_share == 20 / 201
    assert "focus_regime_rare" in check.failing


def test_without_research_the_expectation_is_unknown_never_uniform() -> None:
    check = _check(_signals([9] * 60), research=None)
    assert check.unknown is not None and "no research" in check.unknown
    assert check.expected_shares is None and check.test is None
    assert check.failing == () and not check.matches


def test_trades_the_profile_filter_would_refuse_are_counted() -> None:
    def taken(regime: str, confidence: float) -> TakenTrade:
        bucket = min(9, int(confidence * 10))
        return TakenTrade(0, "paper", regime, bucket, confidence, "long")

    trades = [taken("chop", 0.7), taken("trend_up", 0.7), taken("chop", 0.2)]
    check = _check(_signals([b for b in range(10) for _ in range(6)]), taken=trades)
    assert check.off_profile_trades == 2  # the wrong regime, and a confidence under min_conf
    assert check.failing == ("off_profile_trades",)
