"""The breakout's batch path decides exactly as the incremental model, on every bar.

Sweeps may use `breakout_columns` only because of this: on generated series (any prices, gaps,
zero volumes, short spans that reach every branch), on random walks with the defaults and
other parameters, and on the bundled ETHUSDT sample, every column equals what
`BreakoutModel.update` returned bar by bar: the ATR and the confidence to the bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.config.models import REGIMES
from engine_alpha.market.bars import Bar
from engine_alpha.market.csv_bars import read_bars
from engine_alpha.signals.breakout import PLUGIN, BreakoutModel, BreakoutParams
from engine_alpha.signals.breakout_batch import breakout_columns
from tests.conftest import SAMPLE_DATA
from tests.signals.series import SMALL, bar_series, random_walk


def _assert_same(params: BreakoutParams, bars: list[Bar]) -> int:
    """Every column equals the incremental model's decision; returns the signals seen."""
    model = BreakoutModel(params)
    columns = breakout_columns(params, bars)
    signals = 0
    for i, bar in enumerate(bars):
        d = model.update(bar)
        where = f"bar {i} ({bar.ts_ms})"
        assert columns.atr[i] == d.atr, where  # bit for bit: the same arithmetic
        assert columns.regime[i] == (-1 if d.regime is None else REGIMES.index(d.regime)), where
        expected = {"long": 1, "short": -1, None: 0}[d.direction]
        assert columns.direction[i] == expected, where
        if d.confidence is None:
            assert math.isnan(columns.confidence[i]) and columns.bucket[i] == -1, where
        else:
            assert columns.confidence[i] == d.confidence and columns.bucket[i] == d.bucket, where
            signals += 1
    return signals


@given(
    bar_series(min_size=1, max_size=120),
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(1, 10),
    st.booleans(),
)
def test_on_any_series_and_short_spans_every_bar_is_decided_the_same(
    bars: list[Bar], channel: int, atr_bars: int, rank_window: int, fade: bool
) -> None:
    params = SMALL.model_copy(
        update={
            "channel_bars": channel,
            "atr_bars": atr_bars,
            "rank_window": max(rank_window, SMALL.min_rank_samples),
            "fade_in_chop": fade,
        }
    )
    _assert_same(params, bars)


@pytest.mark.parametrize(
    "params",
    [
        BreakoutParams(),
        BreakoutParams(channel_bars=12, atr_bars=10, volume_bars=12, rank_window=250),
        BreakoutParams(channel_bars=36, fade_in_chop=False, min_rank_samples=5),
    ],
)
def test_on_random_walks_and_the_eth_sample_every_bar_is_decided_the_same(
    params: BreakoutParams,
) -> None:
    assert _assert_same(params, random_walk(3_000, seed=7)) > 50
    eth = list(read_bars(SAMPLE_DATA / "ETHUSDT-1h.csv", on_refusal=lambda _: None))
    assert _assert_same(params, eth) > 50


def test_the_plugin_offers_the_batch_path_with_validated_parameters() -> None:
    bars = random_walk(800, seed=3)
    columns = PLUGIN.decide_all({"channel_bars": 12}, bars)
    expected = breakout_columns(BreakoutParams(channel_bars=12), bars)
    assert np.array_equal(columns.direction, expected.direction)
    with pytest.raises(ValueError, match="channel_bars"):
        PLUGIN.decide_all({"channel_bars": 0}, bars)
