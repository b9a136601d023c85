"""A batch path's decisions enter research only through the decision contract, as incremental
ones do: the same series either way, and a broken column names its first bad bar."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine_alpha.core.formatting import fmt_ts
from engine_alpha.core.units import HOUR_MS
from engine_alpha.research.collect import ModelFailedError, collect_bars, collect_columns
from engine_alpha.signals.breakout import PLUGIN
from tests.research.series import random_walk


def test_the_batch_series_equals_the_incremental_series() -> None:
    bars = random_walk(3_000, seed=5)
    bars = bars[:1000] + bars[1001:]  # one missing hour
    incremental = collect_bars(bars, "TESTUSDT", HOUR_MS)
    batch = collect_columns(bars, "TESTUSDT", HOUR_MS, PLUGIN.decide_all({}, bars), "breakout")
    for name in ("ts_ms", "open", "close", "atr", "regime", "direction", "bucket"):
        assert np.array_equal(getattr(batch, name), getattr(incremental, name)), name
    assert np.array_equal(batch.confidence, incremental.confidence, equal_nan=True)
    assert batch.missing_bars == incremental.missing_bars == 1
    assert len(batch.signal_idx) > 50


@pytest.mark.parametrize(
    ("column", "value"),
    [("bucket", 3), ("confidence", 1.5), ("regime", 7), ("atr", np.nan), ("direction", 2)],
)
def test_a_column_that_breaks_the_contract_is_refused_at_its_first_bad_bar(
    column: str, value: float
) -> None:
    bars = random_walk(2_000, seed=5)
    columns = PLUGIN.decide_all({}, bars)
    at = int(np.flatnonzero(columns.direction != 0)[3])
    broken = getattr(columns, column).copy()
    broken[at] = value
    if column == "bucket" and columns.bucket[at] == 3:
        broken[at] = 4
    bad = dataclasses.replace(columns, **{column: broken})
    with pytest.raises(ModelFailedError, match="breakout") as info:
        collect_columns(bars, "TESTUSDT", HOUR_MS, bad, "breakout")
    assert f"TESTUSDT at bar {fmt_ts(bars[at].ts_ms)} UTC" in str(info.value)
