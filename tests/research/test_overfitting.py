"""PBO by CSCV: a case worked by hand, a plain reference, noise and a planted edge."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest

from engine_alpha.research.overfitting import probability_of_backtest_overfitting

# Four periods (one per split), three configurations; the winner of any two periods is the
# loser (or the middle) of the other two.
HAND = np.array(
    [
        [5.0, 1.0, 2.0],
        [2.0, 0.0, 4.0],
        [0.0, 6.0, 1.0],
        [1.5, 3.0, 7.0],
    ]
)


def test_a_case_worked_by_hand() -> None:
    # Train {0,1}: sums [7, 1, 6] -> column 0; test {2,3}: [1.5, 9, 8] -> rank 1 of 3,
    # w = 1/4, logit ln(1/3). Train {0,2}: [5, 7, 3] -> 1; test [3.5, 3, 11] -> rank 1.
    # Train {0,3}: [6.5, 4, 9] -> 2; test [2, 6, 5] -> rank 2, w = 1/2, logit 0.
    # Train {1,2}: [2, 6, 5] -> 1; test [6.5, 4, 9] -> rank 1. Train {1,3}: [3.5, 3, 11] -> 2;
    # test [5, 7, 3] -> rank 1. Train {2,3}: [1.5, 9, 8] -> 1; test [7, 1, 6] -> rank 1.
    result = probability_of_backtest_overfitting(HAND, n_splits=4, metric="mean")
    third = math.log(1 / 3)
    assert result.chosen == (0, 1, 2, 1, 2, 1)
    assert result.logits == pytest.approx((third, third, 0.0, third, third, third))
    assert result.pbo == 1.0
    assert result.n_combinations == 6


def test_a_column_best_everywhere_is_not_overfit() -> None:
    dominant = HAND.copy()
    dominant[:, 0] += 10.0
    result = probability_of_backtest_overfitting(dominant, n_splits=4, metric="mean")
    assert result.chosen == (0,) * 6
    assert result.logits == pytest.approx((math.log(3),) * 6)  # rank 3 of 3: w = 3/4
    assert result.pbo == 0.0


def _reference_pbo(m: np.ndarray, s: int) -> float:
    """The paper's steps with the statistics module, one combination at a time."""
    t, n = m.shape
    size = t // s
    blocks = [list(range(i * size, (i + 1) * size)) for i in range(s)]
    below_median = 0
    combos = list(itertools.combinations(range(s), s // 2))
    for train in combos:
        rows_in = sorted(r for b in train for r in blocks[b])
        rows_out = sorted(r for b in range(s) if b not in train for r in blocks[b])

        def sharpe(rows: list[int], col: int) -> float:
            values = [float(m[r, col]) for r in rows]
            return statistics.mean(values) / statistics.stdev(values)

        r_in = [sharpe(rows_in, c) for c in range(n)]
        r_out = [sharpe(rows_out, c) for c in range(n)]
        best = r_in.index(max(r_in))
        rank = sorted(r_out).index(r_out[best]) + 1
        w = rank / (n + 1)
        below_median += math.log(w / (1 - w)) <= 0
    return below_median / len(combos)


def test_sharpe_pbo_matches_a_plain_reference() -> None:
    m = np.random.default_rng(3).normal(0.02, 1.0, size=(60, 7))
    m[:, 2] += 0.2
    got = probability_of_backtest_overfitting(m, n_splits=6)
    assert got.pbo == pytest.approx(_reference_pbo(m, 6))
    assert got.n_combinations == 20


def test_on_noise_pbo_is_about_one_half() -> None:
    # The best of 20 noise configurations in sample is a random draw out of sample: its rank
    # is uniform on 1..20, so P(w <= 1/2) = 10/20. Over 20 studies of C(8, 4) = 70 splits.
    rng = np.random.default_rng(2026)
    pbos = [
        probability_of_backtest_overfitting(rng.normal(size=(400, 20)), n_splits=8).pbo
        for _ in range(20)
    ]
    assert 0.4 <= float(np.mean(pbos)) <= 0.65


def test_one_configuration_with_a_planted_edge_gives_pbo_near_zero() -> None:
    rng = np.random.default_rng(7)
    m = rng.normal(size=(400, 20))
    m[:, 11] += 0.4
    result = probability_of_backtest_overfitting(m, n_splits=8)
    assert set(result.chosen) == {11}
    assert result.pbo <= 0.02


@pytest.mark.parametrize(
    ("shape", "splits", "match"),
    [((10,), 4, "T x N"), ((10, 1), 4, "T x N"), ((10, 3), 5, "even"), ((3, 3), 4, "too few")],
)
def test_bad_inputs_are_refused(shape: tuple[int, ...], splits: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        probability_of_backtest_overfitting(np.zeros(shape), n_splits=splits)
