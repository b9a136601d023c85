"""Walk-forward folds: a worked example, test windows that tile the tail without overlap, train
windows that end before their test, and samples that straddle a boundary left out."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.research.folds import walk_forward_folds

H = 3_600_000
T0 = 1_609_459_200_000  # 2021-01-01 00:00 UTC


def _hours(n: int) -> np.ndarray:
    return T0 + H * np.arange(n, dtype=np.int64)


def test_ten_bars_in_four_folds_worked_by_hand() -> None:
    # 10 slots in 5 segments of 2: edges at bars 0, 2, 4, 6, 8, 10.
    anchored = walk_forward_folds(_hours(10), H, 4)
    assert [(f.train_rows, f.test_rows) for f in anchored] == [
        ((0, 2), (2, 4)),
        ((0, 4), (4, 6)),
        ((0, 6), (6, 8)),
        ((0, 8), (8, 10)),
    ]
    rolling = walk_forward_folds(_hours(10), H, 4, "rolling")
    assert [(f.train_rows, f.test_rows) for f in rolling] == [
        ((0, 2), (2, 4)),
        ((2, 4), (4, 6)),
        ((4, 6), (6, 8)),
        ((6, 8), (8, 10)),
    ]
    assert anchored[1].describe() == {
        "fold": 1,
        "train_start": "2021-01-01T00:00:00Z",
        "test_start": "2021-01-01T04:00:00Z",
        "test_end": "2021-01-01T06:00:00Z",
        "train_bars": 4,
        "test_bars": 2,
    }


def test_a_gap_in_the_data_does_not_move_the_boundaries() -> None:
    ts = np.delete(_hours(12), [4, 5])  # 12 slots, two missing bars
    folds = walk_forward_folds(ts, H, 2)  # edges at slots 0, 4, 8, 12
    assert [f.test_start_ms for f in folds] == [T0 + 4 * H, T0 + 8 * H]
    assert [f.test_rows for f in folds] == [(4, 6), (6, 10)]


def test_a_window_without_bars_is_refused() -> None:
    with pytest.raises(ValueError, match="without bars"):
        walk_forward_folds(_hours(3), H, 4)
    with pytest.raises(ValueError, match="at least 1 fold"):
        walk_forward_folds(_hours(3), H, 0)


def test_a_sample_straddling_a_boundary_is_in_neither_window() -> None:
    fold = walk_forward_folds(_hours(10), H, 4)[1]  # train [0, 4), test [4, 6) in hours
    start = T0 + H * np.array([0, 2, 3, 4, 5, 5], dtype=np.int64)
    end = T0 + H * np.array([3, 3, 4, 5, 5, 6], dtype=np.int64)
    train, test = fold.masks(start, end)
    assert train.tolist() == [True, True, False, False, False, False]
    assert test.tolist() == [False, False, False, True, True, False]


@given(
    st.integers(2, 400),
    st.integers(1, 8),
    st.sampled_from(["anchored", "rolling"]),
    st.sets(st.integers(1, 398), max_size=20),
)
def test_folds_tile_the_tail_and_never_look_ahead(
    n: int, n_folds: int, scheme: str, missing: set[int]
) -> None:
    ts = np.delete(_hours(n), sorted(i for i in missing if i < n - 1))
    try:
        folds = walk_forward_folds(ts, H, n_folds, scheme)  # type: ignore[arg-type]
    except ValueError:
        return  # some window holds no bar: refused, checked above
    assert len(folds) == n_folds
    first_train_ms = folds[0].test_start_ms - folds[0].train_start_ms
    for a, b in itertools.pairwise(folds):
        assert a.test_end_ms == b.test_start_ms  # contiguous, no overlap
        assert a.test_rows[1] == b.test_rows[0]
    assert folds[-1].test_end_ms == ts[-1] + H  # the last window runs to the end
    assert folds[-1].test_rows[1] == len(ts)
    for fold in folds:
        assert fold.train_start_ms < fold.test_start_ms < fold.test_end_ms
        assert fold.test_start_ms % H == T0 % H  # on the bar grid
        assert ts[fold.train_rows[1] - 1] < fold.test_start_ms <= ts[fold.test_rows[0]]
        if scheme == "anchored":
            assert fold.train_rows[0] == 0
        else:
            assert fold.test_start_ms - fold.train_start_ms == first_train_ms
        # No look-ahead: every sample the train mask keeps ends before the test begins.
        start = ts[:, None].repeat(3, axis=1).ravel()
        end = start + H * np.tile(np.arange(3), len(ts))
        train, test = fold.masks(start, end)
        assert (end[train] < fold.test_start_ms).all()
        assert not (train & test).any()
