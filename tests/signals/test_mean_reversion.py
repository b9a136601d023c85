"""MeanReversionModel against a plain recomputation; its parameters' validation; the real sample."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from engine_alpha.config.models import REGIMES
from engine_alpha.market.bars import Bar
from engine_alpha.signals.catalog import plugin
from engine_alpha.signals.decision import BarDecision, bucket_of
from engine_alpha.signals.mean_reversion import PLUGIN, MeanReversionModel, MeanReversionParams
from engine_alpha.testing.signal_models import assert_model_sound
from tests.signals.series import SMALL, bar_series, random_walk

REPO = Path(__file__).resolve().parents[2]

SMALL_MR = MeanReversionParams(
    ema_bars=4,
    atr_bars=3,
    entry_z=1.0,
    rank_window=8,
    min_rank_samples=2,
    warmup_bars=12,
    regime=SMALL.regime,
)


def _run(bars: list[Bar], params: MeanReversionParams = SMALL_MR) -> list[BarDecision]:
    model = MeanReversionModel(params)
    return [model.update(bar) for bar in bars]


def _reference(bars: list[Bar], p: MeanReversionParams) -> list[tuple[float, float | None] | None]:
    """Per bar: None when no threshold crossing, else (stretch z, confidence or None).

    EMA and ATR by their defining recursions over plain lists, ranks by counting.
    """
    closes = [b.close for b in bars]
    emas: list[float] = []
    atrs: list[float] = []
    crossings: list[float] = []
    prev_abs = 0.0
    out: list[tuple[float, float | None] | None] = []
    alpha = 2.0 / (p.ema_bars + 1.0)
    for i, bar in enumerate(bars):
        z = 0.0
        if i >= p.ema_bars and i >= p.atr_bars and atrs[-1] > 0.0:
            z = (bar.close - emas[-1]) / atrs[-1]
        pc = closes[i - 1] if i else bar.close
        tr = max(bar.high, pc) - min(bar.low, pc) if i else bar.high - bar.low
        prev_atr = atrs[-1] if atrs else 0.0
        atrs.append(prev_atr + (tr - prev_atr) / min(i + 1, p.atr_bars))
        emas.append(emas[-1] + alpha * (bar.close - emas[-1]) if emas else bar.close)
        crossed = abs(z) > p.entry_z >= prev_abs
        prev_abs = abs(z)
        if not crossed:
            out.append(None)
            continue
        past = crossings[-p.rank_window :]
        conf = None
        if len(past) >= p.min_rank_samples:
            below = sum(1 for s in past if s < abs(z))
            equal = sum(1 for s in past if s == abs(z))
            conf = (below + 0.5 * equal) / len(past)
        crossings.append(abs(z))
        out.append((z, conf))
    return out


def _assert_matches_reference(bars: list[Bar], p: MeanReversionParams) -> int:
    compared = 0
    for i, (d, ref) in enumerate(zip(_run(bars, p), _reference(bars, p), strict=True)):
        if i < p.warmup_bars:
            assert (d.regime, d.direction) == (None, None)
            continue
        assert d.regime in REGIMES
        in_trend = d.regime in ("trend_up", "trend_down")
        if ref is None or ref[1] is None or (in_trend and not p.trade_trends):
            assert (d.direction, d.confidence, d.bucket) == (None, None, None), i
            continue
        z, conf = ref
        assert d.direction == ("short" if z > 0 else "long")
        assert d.confidence == pytest.approx(conf)
        assert d.bucket == bucket_of(d.confidence)
        compared += 1
    return compared


@given(bar_series(min_size=20, max_size=80), st.booleans())
def test_decisions_match_a_plain_recomputation(bars: list[Bar], trends: bool) -> None:
    _assert_matches_reference(bars, SMALL_MR.model_copy(update={"trade_trends": trends}))


@pytest.mark.parametrize("seed", range(3))
def test_decisions_match_the_recomputation_on_long_random_walks(seed: int) -> None:
    assert _assert_matches_reference(random_walk(800, seed), SMALL_MR) > 30
    assert _assert_matches_reference(random_walk(1500, seed), MeanReversionParams()) > 10


@given(bar_series(min_size=20, max_size=60))
def test_the_small_model_passes_the_reusable_checks(bars: list[Bar]) -> None:
    assert_model_sound(lambda: MeanReversionModel(SMALL_MR), bars)


def test_trends_are_skipped_unless_traded_and_nothing_else_changes() -> None:
    bars = random_walk(800, seed=7)
    skipped = _run(bars)
    traded = _run(bars, SMALL_MR.model_copy(update={"trade_trends": True}))
    trend = [
        (a, b)
        for a, b in zip(skipped, traded, strict=True)
        if a.regime in ("trend_up", "trend_down")
    ]
    assert any(b.direction is not None for _, b in trend)
    assert all(a.direction is None for a, _ in trend)
    others = [(a, b) for a, b in zip(skipped, traded, strict=True) if (a, b) not in trend]
    assert all(a == b for a, b in others)


def test_flat_bars_then_a_jump_do_not_divide_by_a_zero_atr() -> None:
    bars = [Bar("TESTUSDT", i * 3_600_000, 5.0, 5.0, 5.0, 5.0, 1.0) for i in range(30)]
    bars.append(Bar("TESTUSDT", 30 * 3_600_000, 5.0, 6.0, 5.0, 6.0, 1.0))
    assert all(d.direction is None for d in _run(bars))


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"ema_bars": 0}, "ema_bars"),
        ({"atr_bars": 0}, "atr_bars"),
        ({"entry_z": 0.0}, "entry_z"),
        ({"entry_z": float("nan")}, "entry_z"),
        ({"min_rank_samples": 0}, "min_rank_samples"),
        ({"min_rank_samples": 300, "rank_window": 200}, "min_rank_samples"),
        ({"warmup_bars": 239}, "warmup_bars"),
        ({"ema_bars": 600}, "warmup_bars"),
        ({"ema_bars": "48"}, "ema_bars"),
        ({"window": 3}, "window"),
    ],
)
def test_bad_params_are_refused_naming_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        PLUGIN.create(raw)


def test_the_plugin_is_found_by_name_with_its_defaults() -> None:
    found = plugin("mean_reversion")
    assert found is PLUGIN
    identity = found.identity({"entry_z": 2.5})
    assert identity["name"] == "mean_reversion"
    assert identity["params"]["entry_z"] == 2.5
    assert identity["params"]["ema_bars"] == 48
    assert found.create().warmup_bars == 480


def _sample(symbol: str) -> list[Bar]:
    with (REPO / "data" / "ohlcv" / f"{symbol}-1h.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    return [Bar(symbol, int(r[0]), *(float(x) for x in r[1:6])) for r in rows]


def test_on_the_real_sample_it_fades_both_ways_outside_trends_with_spread_buckets() -> None:
    decisions = _run(_sample("ETHUSDT"), MeanReversionParams())
    assert _assert_matches_reference(_sample("ETHUSDT"), MeanReversionParams()) > 50
    signals = [d for d in decisions if d.direction is not None]
    assert {d.direction for d in signals} == {"long", "short"}
    assert {d.regime for d in signals} <= {"chop", "high_vol"}
    assert len({d.bucket for d in signals}) == 10
