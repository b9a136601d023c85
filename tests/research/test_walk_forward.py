"""Walk-forward research: each fold chooses on its train window only; the pooled out-of-sample
edge is every fold's test samples of what it chose (recomputed here with plain loops)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.research.folds import FoldScheme, walk_forward_folds
from engine_alpha.research.walk_forward import WalkForward, walk_forward

HOUR = 3_600_000
MIN = 5


def _samples(seed: int, n_bars: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n_bars - 4, size=n_bars // 3, replace=False)).astype(np.int64)
    regime = rng.integers(0, 3, size=len(idx)).astype(np.int64)
    return {
        "start_ts": idx * HOUR,
        "end_ts": (idx + 4) * HOUR,
        "regime": regime,
        "cell": regime * 2 + rng.integers(0, 2, size=len(idx)).astype(np.int64),
        "values": rng.normal(0.0, 20.0, size=len(idx)) + regime * 3.0,
    }


def _run(s: dict[str, np.ndarray], n_bars: int, folds: int, scheme: FoldScheme) -> WalkForward:
    grid = walk_forward_folds(np.arange(n_bars, dtype=np.int64) * HOUR, HOUR, folds, scheme)
    return walk_forward(grid, scheme, n_regimes=3, n_cells=6, min_samples=MIN, **s)


def _best_by_hand(keys: list[int], values: list[float], n_keys: int) -> int | None:
    best, best_mean = None, 0.0
    for k in range(n_keys):
        mine = [v for key, v in zip(keys, values, strict=True) if key == k]
        if len(mine) >= MIN and (best is None or sum(mine) / len(mine) > best_mean):
            best, best_mean = k, sum(mine) / len(mine)
    return best


@given(st.integers(0, 10_000), st.integers(1, 5), st.sampled_from(["anchored", "rolling"]))
def test_each_fold_chooses_from_its_train_window_and_the_pool_is_its_test_samples(
    seed: int, folds: int, scheme: FoldScheme
) -> None:
    n_bars = 600
    s = _samples(seed, n_bars)
    wf = _run(s, n_bars, folds, scheme)
    pooled: list[float] = []
    for f in wf.folds:
        start, end = s["start_ts"].tolist(), s["end_ts"].tolist()
        train = [
            i
            for i in range(len(start))
            if start[i] >= f.fold.train_start_ms and end[i] < f.fold.test_start_ms
        ]
        test = [
            i
            for i in range(len(start))
            if start[i] >= f.fold.test_start_ms and end[i] < f.fold.test_end_ms
        ]
        regime, values = s["regime"].tolist(), s["values"].tolist()
        focus = _best_by_hand([regime[i] for i in train], [values[i] for i in train], 3)
        assert f.focus_regime == focus
        assert f.test_overall.samples == len(test)
        if focus is not None:
            chosen = [values[i] for i in test if regime[i] == focus]
            pooled += chosen
            assert f.regime_test is not None and f.regime_test.samples == len(chosen)
    assert wf.pooled_regime.samples == len(pooled)
    if pooled:
        assert np.isclose(wf.pooled_regime.mean, sum(pooled) / len(pooled))
    positive = sum(1 for f in wf.folds if f.regime_test is not None and f.regime_test.mean > 0)
    deciding = sum(1 for f in wf.folds if f.regime_test is not None and f.regime_test.samples)
    holds = bool(pooled) and sum(pooled) / len(pooled) > 0 and 2 * positive > deciding
    assert wf.holds == holds


@given(st.integers(0, 10_000), st.integers(2, 5), st.floats(-500.0, 500.0))
def test_a_folds_choices_never_see_its_test_window_or_later(
    seed: int, folds: int, shift: float
) -> None:
    n_bars = 600
    s = _samples(seed, n_bars)
    before = _run(s, n_bars, folds, "anchored")
    k = folds // 2
    later = s["end_ts"] >= before.folds[k].fold.test_start_ms
    changed = dict(s, values=np.where(later, s["values"] + shift, s["values"]))
    after = _run(changed, n_bars, folds, "anchored")
    for f_before, f_after in zip(before.folds[: k + 1], after.folds[: k + 1], strict=True):
        assert f_after.focus_regime == f_before.focus_regime
        assert f_after.best_cell == f_before.best_cell
        assert f_after.regime_train == f_before.regime_train
