"""BH and BY q-values: the 1995 paper's worked example, p.adjust values worked by hand, a plain
reference written from the definition, and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.research.multiple_testing import bh_q_values, by_q_values, harmonic_number

# Benjamini and Hochberg (1995), section 4: 15 p-values from a study of myocardial infarction.
# At q = 0.05 the paper's procedure rejects the four smallest (Bonferroni only three).
BH_1995 = [
    0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
    0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000,
]  # fmt: skip


def _reference(p: list[float], factor: float) -> list[float]:
    """Straight from the definition: q_i = min over p_j >= p_i of min(1, factor m p_j / rank_j)."""
    m = len(p)
    ranked = sorted(p)
    out = []
    for value in p:
        candidates = [factor * m * ranked[j] / (j + 1) for j in range(m) if ranked[j] >= value]
        out.append(min(1.0, *candidates))
    return out


def test_the_1995_example_rejects_four_hypotheses_at_5_percent() -> None:
    q = bh_q_values(np.array(BH_1995))
    assert [i for i, v in enumerate(q) if v <= 0.05] == [0, 1, 2, 3]
    # By hand: 15 p/rank for the first four: 0.0015, 0.003, 0.0095, 0.035625; the fifth,
    # 15 * 0.0201 / 5 = 0.0603, and all later ones are above 0.05 after the running minimum.
    assert q[:4] == pytest.approx([0.0015, 0.003, 0.0095, 0.035625])
    assert q[4] == pytest.approx(0.0603)
    # 0.0278 * 15 / 6 = 0.0695 is not the minimum: 0.0298 * 15 / 7 = 0.063857 is below it
    # (and below 0.0344 * 15 / 8 = 0.0645 and 0.0459 * 15 / 9 = 0.0765).
    assert q[5] == pytest.approx(0.0298 * 15 / 7)
    assert q[6] == pytest.approx(0.0298 * 15 / 7)


def test_p_adjust_values_worked_by_hand() -> None:
    # R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "BH") is 0.05 five times;
    # "BY" multiplies by 1 + 1/2 + 1/3 + 1/4 + 1/5 = 137/60: 0.1141667 five times.
    p = np.array([0.01, 0.02, 0.03, 0.04, 0.05])
    assert bh_q_values(p) == pytest.approx([0.05] * 5)
    assert by_q_values(p) == pytest.approx([0.05 * 137 / 60] * 5)
    # R: p.adjust(c(0.04, 0.001, 0.03, 0.5), "BH") = 0.05333, 0.004, 0.05333, 0.5
    # (4 * 0.001 / 1; 4 * 0.03 / 2 = 0.06 > 4 * 0.04 / 3 = 0.05333; 4 * 0.5 / 4).
    assert bh_q_values(np.array([0.04, 0.001, 0.03, 0.5])) == pytest.approx(
        [0.16 / 3, 0.004, 0.16 / 3, 0.5]
    )


def test_untested_cells_stay_nan_and_do_not_count() -> None:
    q = bh_q_values(np.array([0.01, math.nan, 0.04]))
    assert q[0] == pytest.approx(0.02)
    assert math.isnan(q[1])
    assert q[2] == pytest.approx(0.04)
    assert np.isnan(by_q_values(np.array([math.nan]))).all()


def test_the_harmonic_number() -> None:
    assert harmonic_number(1) == 1.0
    assert harmonic_number(4) == pytest.approx(25 / 12)
    assert harmonic_number(0) == 0.0


def test_a_p_value_outside_the_unit_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="p-values"):
        bh_q_values(np.array([0.5, 1.5]))


_pvalues = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40)


@given(_pvalues)
def test_q_values_match_the_definition(p: list[float]) -> None:
    m = len(p)
    assert bh_q_values(np.array(p)) == pytest.approx(_reference(p, 1.0))
    assert by_q_values(np.array(p)) == pytest.approx(_reference(p, harmonic_number(m)))


@given(_pvalues)
def test_q_values_keep_the_order_of_p_and_are_between_p_and_1(p: list[float]) -> None:
    arr = np.array(p)
    bh, by = bh_q_values(arr), by_q_values(arr)
    order = np.argsort(arr, kind="stable")
    assert (np.diff(bh[order]) >= 0).all()
    assert (bh >= arr - 1e-15).all() and (bh <= 1).all()
    assert (by >= bh - 1e-15).all() and (by <= 1).all()


@given(_pvalues, st.integers(0, 2**32 - 1))
def test_q_values_follow_their_cell_when_cells_are_reordered(p: list[float], seed: int) -> None:
    perm = np.random.default_rng(seed).permutation(len(p))
    arr = np.array(p)
    assert bh_q_values(arr[perm]) == pytest.approx(bh_q_values(arr)[perm])


def test_on_null_cells_bh_discovers_something_in_about_5_percent_of_studies() -> None:
    # All nulls true: the FDR equals the chance of any discovery, at most q = 0.05.
    rng = np.random.default_rng(3)
    any_found = [bool((bh_q_values(rng.uniform(size=40)) <= 0.05).any()) for _ in range(2_000)]
    assert np.mean(any_found) == pytest.approx(0.05, abs=0.015)
