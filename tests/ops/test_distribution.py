"""The distribution check on hand-made signals: each failing code for the rule it names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine_alpha.config.models import AssetProfile, ObservationSettings, SignalModelChoice
from engine_alpha.ops.distribution import check_distribution
from engine_alpha.ops.history import TakenTrade
from engine_alpha.ops.reports_reader import ResearchDistribution, load_research_distributions
from engine_alpha.ops.signal_digest import AssetSignals
from engine_alpha.signals.catalog import plugin
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
    return [
        {"bar_ts": i * 3_600_000, "regime": regime, "bucket": b, "confidence": b / 10 + 0.05}
        for i, b in enumerate(buckets)
    ]


def _check(signals: list[dict[str, Any]], **kwargs: Any) -> Any:
    kwargs.setdefault("taken", [])
    kwargs.setdefault("research", research_of(uniform_cells()))
    return check_distribution(
        PROFILE, observation=OBSERVATION, signals=AssetSignals(signals), **kwargs
    )


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


def _profile_running(choice: dict[str, Any] | None) -> AssetProfile:
    return PROFILE.model_copy(
        update={"signal_model": None if choice is None else SignalModelChoice(**choice)}
    )


def _research_file(tmp_path: Path, model: Any) -> ResearchDistribution:
    """An edge.json whose distribution block records `model`, read as the gate reads it."""
    path = tmp_path / "research" / "ETHUSDT" / "edge.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    block = {"model": model, "signals": 400, "cells": uniform_cells(10)}
    path.write_text(json.dumps({"signal_distribution": block}))
    return load_research_distributions(tmp_path, ["ETHUSDT"])["ETHUSDT"]


def test_the_research_must_be_of_the_model_the_profile_runs(tmp_path: Path) -> None:
    signals = _signals([b for b in range(10) for _ in range(6)])
    mr = {"name": "mean_reversion", "params": {"entry_z": 2.5}}
    mr_identity = {
        "name": "mean_reversion",
        "params": {
            **json.loads(plugin("mean_reversion").params().model_dump_json()),
            "entry_z": 2.5,
        },
    }
    research = _research_file(tmp_path, mr_identity)
    runs_mr = check_distribution(
        _profile_running(mr),
        observation=OBSERVATION,
        signals=AssetSignals(signals),
        taken=[],
        research=research,
    )
    assert runs_mr.unknown is None and runs_mr.matches
    runs_breakout = check_distribution(
        _profile_running(None),
        observation=OBSERVATION,
        signals=AssetSignals(signals),
        taken=[],
        research=research,
    )
    assert runs_breakout.expected_shares is None and not runs_breakout.matches
    assert runs_breakout.unknown is not None
    assert "research of 'mean_reversion' (entry_z=2.5)" in runs_breakout.unknown
    assert "the profile runs 'breakout'" in runs_breakout.unknown
    other_params = _profile_running({"name": "mean_reversion", "params": {"entry_z": 3.0}})
    check = check_distribution(
        other_params,
        observation=OBSERVATION,
        signals=AssetSignals(signals),
        taken=[],
        research=research,
    )
    assert check.unknown is not None and "the profile runs 'mean_reversion' (entry_z=3.0)" in (
        check.unknown
    )


def test_research_written_before_models_were_named_reads_as_the_breakout(tmp_path: Path) -> None:
    """Older edge.json files recorded the breakout's parameters alone."""
    legacy = json.loads(plugin("breakout").params().model_dump_json())
    research = _research_file(tmp_path, legacy)
    assert research.model == {"name": "breakout", "params": legacy}
    signals = _signals([b for b in range(10) for _ in range(6)])
    check = check_distribution(
        _profile_running(None),
        observation=OBSERVATION,
        signals=AssetSignals(signals),
        taken=[],
        research=research,
    )
    assert check.unknown is None and check.matches
    changed = _research_file(tmp_path, {**legacy, "channel_bars": 48})
    check = check_distribution(
        _profile_running(None),
        observation=OBSERVATION,
        signals=AssetSignals(signals),
        taken=[],
        research=changed,
    )
    assert check.unknown is not None and "(channel_bars=48)" in check.unknown
