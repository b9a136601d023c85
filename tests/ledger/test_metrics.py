"""PF, drawdown and trade counts (SPEC §3): edge cases by hand, the rest against brute force."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.ledger.metrics import (
    StatsAccumulator,
    TradeStats,
    left_sum,
    max_drawdown_pct,
    passes_pf_gate,
    profit_factor,
    summarize,
)

pnl = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
pnls = st.lists(pnl, max_size=60)
equity = st.floats(min_value=1.0, max_value=1e7, allow_nan=False, allow_infinity=False)


def brute_drawdown_pct(start: float, values: list[float]) -> float:
    """The definition, literally: every equity point against the highest one up to it."""
    points = [start] + [start + left_sum(values[: i + 1]) for i in range(len(values))]
    return max(
        (max(points[: i + 1]) - e) / max(points[: i + 1]) * 100.0 for i, e in enumerate(points)
    )


def test_no_trades_has_no_pf_and_zero_counts() -> None:
    stats = summarize([], 10_000.0)
    assert stats == TradeStats(0, 0, 0, 0.0, 0.0, None, 0.0, 0.0)
    assert profit_factor([]) is None


def test_no_losses_has_no_pf_but_counts_the_wins() -> None:
    stats = summarize([5.0, 2.5], 10_000.0)
    assert stats.pf is None
    assert (stats.trades, stats.wins, stats.losses) == (2, 2, 0)
    assert stats.gross_profit_usd == 7.5


def test_all_losses_give_pf_zero() -> None:
    assert profit_factor([-1.0, -3.0]) == 0.0
    assert summarize([-1.0, -3.0], 100.0).gross_loss_usd == 4.0


def test_mixed_trades_give_wins_over_losses() -> None:
    assert profit_factor([3.0, -1.0, 6.0, -2.0]) == 3.0


def test_a_zero_pnl_trade_counts_but_is_neither_win_nor_loss() -> None:
    stats = summarize([0.0, 1.0, -1.0], 100.0)
    assert (stats.trades, stats.wins, stats.losses) == (3, 1, 1)


def test_drawdown_is_measured_from_the_running_peak() -> None:
    assert max_drawdown_pct(100.0, [10.0, -22.0, 5.0]) == pytest.approx(20.0)


def test_drawdown_of_rising_equity_is_zero() -> None:
    assert max_drawdown_pct(100.0, [1.0, 0.0, 2.0]) == 0.0
    assert max_drawdown_pct(100.0, []) == 0.0


def test_drawdown_below_zero_equity_passes_100_percent() -> None:
    assert max_drawdown_pct(100.0, [-150.0]) == 150.0


@pytest.mark.parametrize("start", [0.0, -5.0, math.nan])
def test_starting_equity_must_be_positive(start: float) -> None:
    with pytest.raises(ValueError, match="starting equity"):
        summarize([1.0], start)


def test_one_summation_left_to_right_not_compensated() -> None:
    values = [1e16, 1.0, -1e16]
    assert left_sum(values) == 0.0 != math.fsum(values)
    assert summarize(values, 1e17).net_pnl_usd == 0.0


@given(equity, pnls)
def test_drawdown_matches_the_brute_force_definition(start: float, values: list[float]) -> None:
    assert max_drawdown_pct(start, values) == brute_drawdown_pct(start, values)


@given(equity, st.lists(st.floats(min_value=0.0, max_value=1e6), max_size=40))
def test_drawdown_of_never_falling_equity_is_zero(start: float, values: list[float]) -> None:
    assert max_drawdown_pct(start, values) == 0.0


@given(equity, pnls)
def test_summarize_agrees_with_the_single_metrics_bit_for_bit(
    start: float, values: list[float]
) -> None:
    stats = summarize(values, start)
    assert stats.pf == profit_factor(values)
    assert stats.max_drawdown_pct == max_drawdown_pct(start, values)
    assert stats.net_pnl_usd == left_sum(values)
    assert stats.gross_profit_usd == left_sum(v for v in values if v > 0)
    assert stats.gross_loss_usd == left_sum(-v for v in values if v < 0)
    assert stats.wins + stats.losses + values.count(0.0) == stats.trades == len(values)
    assert stats.gross_loss_usd >= 0.0


@given(equity, pnls)
def test_running_totals_equal_a_recount_at_every_step(start: float, values: list[float]) -> None:
    acc = StatsAccumulator(start)
    for i, value in enumerate(values):
        acc.add(value)
        assert acc.stats() == summarize(values[: i + 1], start)


def _stats(pf: float | None, wins: int) -> TradeStats:
    return TradeStats(wins, wins, 0, 0.0, 0.0, pf, 0.0, 0.0)


@pytest.mark.parametrize(
    ("pf", "wins", "passes"),
    [(None, 1, True), (None, 0, False), (0.95, 3, True), (0.90, 3, False), (0.0, 0, False)],
)
def test_pf_gate(pf: float | None, wins: int, passes: bool) -> None:
    assert passes_pf_gate(_stats(pf, wins), 0.90) is passes
