"""Per-asset research: in-sample choices, out-of-sample flags and the proposed tier."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.config.models import AssetProfile, tier_for_edge
from engine_alpha.research.analysis import (
    FLAG_OOS_CI_ZERO,
    FLAG_OOS_EMPTY,
    FLAG_SIGN_FLIP,
    HalfTable,
    TradeTable,
    cell_flags,
    propose_tier,
    select,
)
from engine_alpha.research.edge import N_CELLS, Summary, cell_key
from engine_alpha.research.folds import Fold
from engine_alpha.research.walk_forward import FoldResult, WalkForward

NAN = math.nan
EMPTY = Summary(0, NAN, NAN, NAN, NAN)


def _s(mean: float, n: int = 100, half: float = 5.0) -> Summary:
    return Summary(n, mean, 0.5, mean - half, mean + half)


def _half(regimes: list[Summary], cells: dict[int, Summary]) -> HalfTable:
    all_cells = [cells.get(k, EMPTY) for k in range(N_CELLS)]
    trades = TradeTable(EMPTY, [EMPTY] * N_CELLS, {}, 0)
    return HalfTable(1_000, EMPTY, regimes, all_cells, trades)


def test_the_focus_regime_best_bucket_and_cell_are_chosen_among_big_enough_groups() -> None:
    hv = 2  # high_vol
    cells = {
        cell_key(hv, 3): _s(12.0),
        cell_key(hv, 8): _s(30.0),
        cell_key(hv, 9): _s(99.0, n=5),  # too few samples to be chosen
        cell_key(hv, 1): _s(-4.0),
        cell_key(3, 7): _s(45.0),  # chop|7: the best cell, outside the focus regime
    }
    table = _half([_s(-3.0), _s(-9.0), _s(6.0), _s(1.0, n=10)], cells)
    edges = (cell_key(hv, 3), cell_key(hv, 8), cell_key(3, 7))
    sel = select(table, min_samples=30, edges=edges)
    assert sel.focus_regime == hv
    assert sel.best_bucket == 8
    assert sel.preferred_buckets == (3, 8)
    assert sel.best_cell == cell_key(3, 7)
    # Only the focus regime's cells called an edge are preferred; the best bucket stays the best.
    narrower = select(table, min_samples=30, edges=(cell_key(hv, 8), cell_key(3, 7)))
    assert narrower.preferred_buckets == (8,) and narrower.best_bucket == 8
    assert select(table, min_samples=30, edges=()).preferred_buckets == ()


def test_no_regime_with_enough_samples_means_no_focus() -> None:
    sel = select(_half([_s(5.0, n=3)] * 4, {}), min_samples=30, edges=(cell_key(0, 1),))
    assert sel.focus_regime is None and sel.preferred_buckets == ()


SIGNIFICANT = 0.01


def _wf(pooled: float, positive: int, deciding: int) -> WalkForward:
    """A walk-forward whose folds measured `positive` of `deciding` chosen regimes above 0."""
    folds = [
        FoldResult(
            fold=Fold(k, 0, 1, 2, (0, 1), (1, 2)),
            test_overall=EMPTY,
            focus_regime=0,
            regime_train=_s(10.0),
            regime_test=_s(5.0 if k < positive else -5.0),
            best_cell=None,
            cell_train=None,
            cell_test=None,
        )
        for k in range(deciding)
    ]
    return WalkForward("anchored", folds, _s(pooled), EMPTY)


@pytest.mark.parametrize(
    ("edge", "tier"), [(18.14, 1), (5.04, 2), (5.06, 1), (0.04, 3), (0.06, 2), (-3.0, 3)]
)
def test_the_tier_follows_the_rounded_in_sample_edge(edge: float, tier: int) -> None:
    got_tier, got_edge, reason = propose_tier(edge, _s(10.0), SIGNIFICANT, None, 0.05)
    assert (got_tier, reason) == (tier, "in_sample_edge")
    assert tier_for_edge(got_edge) == got_tier


def test_an_out_of_sample_edge_of_the_other_sign_demotes_to_tier_3() -> None:
    tier, edge, reason = propose_tier(12.0, _s(-7.46), SIGNIFICANT, None, 0.05)
    assert (tier, edge, reason) == (3, -7.5, "oos_sign_flip")


def test_an_empty_out_of_sample_half_keeps_the_in_sample_tier() -> None:
    assert propose_tier(12.0, EMPTY, SIGNIFICANT, None, 0.05)[:2] == (1, 12.0)


def test_a_search_that_does_not_survive_the_snooping_test_is_tier_3_with_no_edge() -> None:
    assert propose_tier(40.0, _s(30.0), 0.2, None, 0.05) == (3, 0.0, "not_significant")
    assert propose_tier(40.0, _s(30.0), 0.05, None, 0.05)[:2] == (1, 40.0)  # at the level


def test_a_walk_forward_that_does_not_hold_demotes_to_tier_3_with_its_pooled_edge() -> None:
    assert propose_tier(12.0, _s(3.0), SIGNIFICANT, _wf(-4.04, 1, 3), 0.05) == (
        3,
        -4.0,
        "walk_forward_fails",
    )
    # Pooled above zero but positive in only half the folds: it does not hold either.
    assert propose_tier(12.0, _s(3.0), SIGNIFICANT, _wf(2.0, 2, 4), 0.05) == (
        3,
        0.0,
        "walk_forward_fails",
    )
    assert propose_tier(12.0, _s(3.0), SIGNIFICANT, _wf(2.0, 3, 4), 0.05)[:2] == (1, 12.0)


@given(
    st.floats(-200.0, 200.0),
    st.floats(-200.0, 200.0),
    st.integers(0, 500),
    st.floats(0.0, 1.0),
    st.none() | st.tuples(st.floats(-100.0, 100.0), st.integers(0, 5), st.integers(0, 5)),
)
def test_every_proposed_tier_and_edge_make_a_valid_profile(
    in_sample: float,
    out_of_sample: float,
    oos_samples: int,
    search_p: float,
    walk: tuple[float, int, int] | None,
) -> None:
    oos = Summary(oos_samples, out_of_sample if oos_samples else NAN, 0.5, NAN, NAN)
    wf = None if walk is None else _wf(walk[0], min(walk[1], walk[2]), walk[2])
    tier, edge, reason = propose_tier(in_sample, oos, search_p, wf, 0.05)
    AssetProfile(
        tier=tier,
        edge_bps=edge,
        best_selective_cell="chop|1",
        position_sizing={"max_notional_per_trade_usd": 100.0},
    )
    if oos_samples and in_sample > 0.05 and out_of_sample <= 0.0:
        assert tier == 3
    if search_p > 0.05 or (wf is not None and not wf.holds):
        assert tier == 3
    if tier < 3:
        assert reason == "in_sample_edge" and edge == round(in_sample, 1)


def test_cells_are_flagged_for_a_sign_flip_an_oos_interval_holding_zero_or_no_oos_data() -> None:
    ins = [EMPTY] * N_CELLS
    oos = [EMPTY] * N_CELLS
    ins[1], oos[1] = _s(20.0), _s(-20.0)  # flips, and its OOS interval excludes zero
    ins[2], oos[2] = _s(20.0), _s(3.0)  # same sign, OOS interval [-2, 8] holds zero
    ins[3], oos[3] = _s(20.0), _s(15.0)  # holds up
    ins[4] = _s(20.0)  # nothing out of sample
    assert cell_flags(ins, oos) == {
        1: (FLAG_SIGN_FLIP,),
        2: (FLAG_OOS_CI_ZERO,),
        4: (FLAG_OOS_EMPTY,),
    }
