"""Calibration: on random walks the research calls no edge beyond its nominal rate and proposes
nothing above tier 3; an edge planted in known cells is found with its sign and size.

The random walks are run twice: with the daemon's costs (every cell's true net edge is then
-24 bps) and at zero cost, where every cell's true edge is exactly 0, the hardest null for a
test of "edge > 0". The full-size run (12 assets x 20,000 bars, 7 seeds) is bench/calibration.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine_alpha.config.models import REGIMES, ExecutionSettings
from engine_alpha.core.units import HOUR_MS
from engine_alpha.research.analysis import ResearchSettings, analyse
from engine_alpha.research.collect import collect_bars
from engine_alpha.research.edge import cell_key
from tests.research.series import planted_walk, random_walk

pytestmark = pytest.mark.slow  # about 15 s of research (quick set: -m 'not slow')

SEEDS = range(6)
BARS = 12_000
COSTS = {
    "daemon costs": ExecutionSettings(),
    "zero cost": ExecutionSettings(fee_bps=0.0, slippage_bps=0.0),
}


@pytest.mark.parametrize("costs", sorted(COSTS))
def test_on_random_walks_nothing_is_proposed_and_few_cells_are_called_an_edge(costs: str) -> None:
    settings = ResearchSettings(walk_forward=4, execution=COSTS[costs])
    called = tested = 0
    for seed in SEEDS:
        result = analyse(collect_bars(random_walk(BARS, seed), "TESTUSDT", HOUR_MS), settings, 1e-8)
        tests = result.halves["in_sample"].tests
        assert tests is not None
        tested += int(np.count_nonzero(~np.isnan(tests.cell_q)))
        called += len(result.edges)
        assert result.tier == 3, (seed, result.tier_reason, result.edge_bps)
        assert result.search["best_cell"].spa_p > settings.alpha
    assert tested >= 60, "too few candidate cells for the rate to mean anything"
    assert called <= settings.alpha * tested


def test_a_planted_edge_is_called_with_its_sign_and_the_asset_proposed() -> None:
    settings = ResearchSettings(walk_forward=4)
    high_vol = REGIMES.index("high_vol")
    planted = {cell_key(high_vol, b) for b in (7, 8, 9)}
    expected = ((1.004) ** 4 - 1.0) * 10_000 - settings.cost_bps  # +137 bps net per signal
    for seed in (1, 2):
        bars = planted_walk(BARS, seed, "high_vol", frozenset({7, 8, 9}), 0.004, 4)
        result = analyse(collect_bars(bars, "TESTUSDT", HOUR_MS), settings, 1e-8)
        assert planted & set(result.edges), result.edges
        for key in planted & set(result.edges):
            assert result.halves["in_sample"].cells[key].mean > 0.5 * expected
        assert result.selection.focus_regime == high_vol
        assert result.search["focus_regime"].spa_p <= settings.alpha
        assert result.walk_forward is not None and result.walk_forward.holds
        assert result.tier < 3 and result.tier_reason == "in_sample_edge"
