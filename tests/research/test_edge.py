"""Edge math: forward returns from the next open, t intervals, per-group summaries, best groups."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.config.models import REGIMES
from engine_alpha.research.edge import (
    N_CELLS,
    Summary,
    best_key,
    cell_key,
    cell_name,
    forward_returns_bps,
    group_summaries,
    round_trip_cost_bps,
    summarize,
    t_critical_975,
)

_values = st.lists(st.floats(-1_000.0, 1_000.0), min_size=0, max_size=60)


def test_the_default_round_trip_costs_24_bps() -> None:
    assert round_trip_cost_bps(10.0, 2.0) == 24.0


@pytest.mark.parametrize(
    ("df", "expected"), [(1, 12.7062), (5, 2.5706), (30, 2.0423), (60, 2.0003), (120, 1.9799)]
)
def test_t_critical_values_match_the_published_table(df: int, expected: float) -> None:
    assert t_critical_975(df) == pytest.approx(expected, abs=2e-4)


def test_t_critical_values_fall_towards_the_normal_quantile() -> None:
    values = [t_critical_975(df) for df in range(1, 2_000)]
    assert all(a > b for a, b in itertools.pairwise(values))
    assert t_critical_975(1_000_000) == pytest.approx(1.95996, abs=1e-5)


def test_forward_return_runs_from_the_next_open_to_the_close_horizon_bars_later() -> None:
    open_ = np.array([100.0, 101.0, 102.0, 103.0, 104.0, 105.0])
    close = np.array([101.0, 102.0, 103.0, 104.0, 105.0, 106.0])
    idx = np.array([0, 1, 4], dtype=np.int64)
    sign = np.array([1.0, -1.0, 1.0])
    got, full = forward_returns_bps(open_, close, idx, sign, 2)
    assert got[0] == pytest.approx((103.0 / 101.0 - 1.0) * 10_000)  # open[1] -> close[2]
    assert got[1] == pytest.approx(-(104.0 / 102.0 - 1.0) * 10_000)  # a short gains on a fall
    assert math.isnan(got[2])  # bar 4 + 2 is past the end: no full window
    assert full.tolist() == [True, True, False]


@given(_values)
def test_a_summary_is_the_mean_share_above_zero_and_t_interval_of_its_values(
    values: list[float],
) -> None:
    s = summarize(np.array(values, dtype=np.float64))
    assert s.samples == len(values)
    if not values:
        assert math.isnan(s.mean) and math.isnan(s.ci_low)
        return
    assert s.mean == pytest.approx(statistics.fmean(values), abs=1e-9)
    assert s.hit_rate == pytest.approx(sum(v > 0 for v in values) / len(values))
    if len(values) == 1:
        assert math.isnan(s.ci_low) and math.isnan(s.ci_high)
        return
    half = t_critical_975(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    assert s.ci_low == pytest.approx(s.mean - half, abs=1e-6)
    assert s.ci_high == pytest.approx(s.mean + half, abs=1e-6)


@given(st.lists(st.tuples(st.integers(0, 5), st.floats(-500.0, 500.0)), max_size=80))
def test_group_summaries_equal_the_summary_of_each_group_alone(
    samples: list[tuple[int, float]],
) -> None:
    keys = np.array([k for k, _ in samples], dtype=np.int64)
    values = np.array([v for _, v in samples], dtype=np.float64)
    grouped = group_summaries(keys, values, 6)
    for key in range(6):
        alone = summarize(values[keys == key])
        got = grouped[key]
        assert got.samples == alone.samples
        for a, b in [(got.mean, alone.mean), (got.ci_low, alone.ci_low)]:
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-6)


def test_cell_keys_name_every_regime_and_bucket_once() -> None:
    names = {cell_name(cell_key(r, b)) for r in range(len(REGIMES)) for b in range(10)}
    assert len(names) == N_CELLS
    assert cell_name(cell_key(REGIMES.index("high_vol"), 8)) == "high_vol|8"


def test_the_best_group_is_the_highest_mean_among_groups_big_enough() -> None:
    groups = [Summary(100, 5.0, 0.5, 1, 9), Summary(10, 90.0, 0.9, 50, 130)]
    assert best_key(groups, 30) == 0
    assert best_key(groups, 5) == 1
    assert best_key(groups, 500) is None


def test_a_planted_edge_in_one_cell_is_found_with_its_sign_and_size() -> None:
    rng = np.random.default_rng(7)
    n = 40_000
    regime = rng.integers(0, len(REGIMES), n)
    bucket = rng.integers(0, 10, n)
    gross = rng.normal(0.0, 80.0, n)
    planted = cell_key(REGIMES.index("trend_down"), 6)
    keys = regime * 10 + bucket
    gross[keys == planted] += 60.0
    net = gross - round_trip_cost_bps(10.0, 2.0)
    cells = group_summaries(keys, net, N_CELLS)
    assert best_key(cells, 30) == planted
    found = cells[planted]
    assert found.ci_low <= 60.0 - 24.0 <= found.ci_high
    assert found.ci_low > 0.0
    others = [s for k, s in enumerate(cells) if k != planted]
    inside = sum(s.ci_low <= -24.0 <= s.ci_high for s in others)
    assert inside >= 0.85 * len(others)
