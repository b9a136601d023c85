"""Proposed profiles: measured fields replaced, the operator's kept, validated, diffed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import (
    PROFILER_FILE,
    ConfigError,
    load_config,
    load_json,
)
from engine_alpha.config.models import StrategyProfiler
from engine_alpha.research.analysis import ResearchSettings
from engine_alpha.research.pipeline import ResearchRun, run_research
from engine_alpha.research.profiles import (
    ABSENT,
    check_with_paper_config,
    profile_diff,
    propose_profiler,
)
from tests.research.series import planted_walk, random_walk, write_csv

HV_HIGH = frozenset({7, 8, 9})


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> ResearchRun:
    """MATIC with a planted edge, AVAX whose edge reverses out of sample, ETH a random walk."""
    data = tmp_path_factory.mktemp("data")
    write_csv(data / "MATICUSDT-1h.csv", planted_walk(12_000, 2, "high_vol", HV_HIGH, 0.006, 4))
    flipped = planted_walk(12_000, 2, "high_vol", HV_HIGH, 0.006, 4, flip_after=8_000)
    write_csv(data / "AVAXUSDT-1h.csv", flipped)
    write_csv(data / "ETHUSDT-1h.csv", random_walk(12_000, 3))
    symbols = ["MATICUSDT", "AVAXUSDT", "ETHUSDT"]
    return run_research(data, symbols, "1h", ResearchSettings())


def _propose(config_dir: Path, run: ResearchRun) -> tuple[dict[str, Any], dict[str, Any]]:
    path = config_dir / PROFILER_FILE
    current = load_json(path)
    proposed, kept = propose_profiler(current, run.results, load_config(config_dir).paper, path)
    assert kept == {}
    return current, proposed


def test_an_asset_with_an_edge_gets_its_tier_focus_and_buckets(
    config_dir: Path, run: ResearchRun
) -> None:
    current, proposed = _propose(config_dir, run)
    matic = StrategyProfiler.model_validate(proposed).assets["MATICUSDT"]
    result = run.results["MATICUSDT"]
    assert matic.tier == 1 and matic.edge_bps == result.edge_bps and matic.edge_bps > 50
    assert matic.regime == "high_vol"
    assert matic.regime_filters.enabled_regimes == ["high_vol"]
    assert matic.confidence_filters.preferred_buckets == list(result.selection.preferred_buckets)
    assert matic.best_bucket == result.selection.best_bucket
    old = current["assets"]["MATICUSDT"]
    assert proposed["assets"]["MATICUSDT"]["position_sizing"] == old["position_sizing"]
    assert proposed["assets"]["BTCUSDT"] == current["assets"]["BTCUSDT"]  # not researched


def test_an_out_of_sample_sign_flip_makes_a_tier_3_profile_with_its_best_cell(
    config_dir: Path, run: ResearchRun
) -> None:
    _, proposed = _propose(config_dir, run)
    avax = StrategyProfiler.model_validate(proposed).assets["AVAXUSDT"]
    assert run.results["AVAXUSDT"].tier_reason == "oos_sign_flip"
    assert "sign_flip" in run.results["AVAXUSDT"].asset_flags
    assert "sign_flip" not in run.results["MATICUSDT"].asset_flags
    assert avax.tier == 3 and avax.edge_bps <= 0
    assert avax.regime is None and avax.regime_filters.enabled_regimes == []
    assert avax.best_selective_cell is not None
    assert avax.directional_bias == "SHORT"  # the operator's choice is kept
    assert "oos_sign_flip" in avax.strategy_focus


def test_demoting_an_enabled_asset_is_caught_before_writing(
    config_dir: Path, run: ResearchRun
) -> None:
    _, proposed = _propose(config_dir, run)
    assert proposed["assets"]["ETHUSDT"]["tier"] == 3  # a random walk has no edge
    with pytest.raises(ConfigError, match=r"enabled_assets\.ETHUSDT\.enabled: ETHUSDT is tier 3"):
        check_with_paper_config(proposed, config_dir)


def test_the_check_passes_once_the_operator_disables_the_asset(
    config_dir: Path, run: ResearchRun, edit_config: Any
) -> None:
    edit_config(
        "multi_asset_paper_config.json",
        lambda d: d["enabled_assets"]["ETHUSDT"].update(enabled=False),
    )
    _, proposed = _propose(config_dir, run)
    check_with_paper_config(proposed, config_dir)


def test_the_diff_lists_changed_added_and_removed_leaves() -> None:
    old = {"a": {"tier": 1, "cells": [1, 2], "gone": 5}, "same": 1}
    new = {"a": {"tier": 3, "cells": [1, 2], "cell": "chop|1"}, "same": 1}
    assert profile_diff(old, new) == [
        ("a.tier", 1, 3),
        ("a.gone", 5, ABSENT),
        ("a.cell", ABSENT, "chop|1"),
    ]
