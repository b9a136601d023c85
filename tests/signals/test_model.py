"""BreakoutModel: deterministic, no look-ahead, no signal before warm-up, honest confidence."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.config.models import REGIMES, ObservationSettings, StrategyProfiler
from engine_alpha.market.bars import Bar
from engine_alpha.signals.breakout import WARMUP_BARS, BreakoutModel, BreakoutParams
from engine_alpha.signals.decision import BarDecision, bucket_of
from engine_alpha.strategy.filters import FilterRules, refusal
from tests.signals.series import HOUR_MS, SMALL, bar_series, random_walk

REPO = Path(__file__).resolve().parents[2]


def _run(bars: list[Bar], params: BreakoutParams = SMALL) -> list[BarDecision]:
    model = BreakoutModel(params)
    return [model.update(bar) for bar in bars]


def _reference(bars: list[Bar], params: BreakoutParams) -> list[tuple[bool, float | None]]:
    """Plain-list recomputation of (is a breakout up, confidence) for each breakout bar.

    Channels by slicing, ATR and volume average by their defining recursions, ranks by counting.
    """
    trs: list[float] = []
    atrs: list[float] = []
    vols: list[float] = []
    strengths: list[float] = []
    out: list[tuple[bool, float | None]] = []
    for i, bar in enumerate(bars):
        prev_atr = atrs[-1] if atrs else 0.0
        prev_vol = vols[-1] if vols else 0.0
        excess = 0.0
        if i >= params.channel_bars and prev_atr > 0.0:
            upper = max(b.high for b in bars[i - params.channel_bars : i])
            lower = min(b.low for b in bars[i - params.channel_bars : i])
            excess = bar.close - upper if bar.close > upper else 0.0
            excess = bar.close - lower if bar.close < lower else excess
        pc = bars[i - 1].close if i else bar.close
        trs.append(max(bar.high, pc) - min(bar.low, pc) if i else bar.high - bar.low)
        n = min(i + 1, params.atr_bars)
        atrs.append(prev_atr + (trs[-1] - prev_atr) / n)
        alpha = 2.0 / (params.volume_bars + 1.0)
        vols.append(prev_vol + alpha * (bar.volume - prev_vol) if vols else bar.volume)
        if excess == 0.0:
            out.append((False, None))
            continue
        rel_volume = bar.volume / prev_vol if prev_vol > 0.0 else 1.0
        strength = abs(excess) / prev_atr * rel_volume
        past = strengths[-params.rank_window :]
        conf = None
        if len(past) >= params.min_rank_samples:
            below = sum(1 for s in past if s < strength)
            equal = sum(1 for s in past if s == strength)
            conf = (below + 0.5 * equal) / len(past)
        strengths.append(strength)
        out.append((excess > 0.0, conf))
    return out


def _assert_matches_reference(bars: list[Bar], params: BreakoutParams) -> int:
    """Compare the model with `_reference` bar by bar; return how many signals were compared."""
    decisions = _run(bars, params)
    compared = 0
    for i, (d, (up, conf)) in enumerate(zip(decisions, _reference(bars, params), strict=True)):
        if i < params.warmup_bars or conf is None:
            assert d.direction is None
            continue
        assert d.regime is not None
        faded = d.regime == "chop" and params.fade_in_chop
        assert d.direction == ("long" if up != faded else "short")
        assert d.confidence == pytest.approx(conf)
        compared += 1
    return compared


@given(bar_series(min_size=20, max_size=80))
def test_decisions_match_a_plain_recomputation_of_breakouts_and_ranks(bars: list[Bar]) -> None:
    _assert_matches_reference(bars, SMALL)


@pytest.mark.parametrize("seed", range(4))
def test_decisions_match_the_recomputation_on_long_random_walks(seed: int) -> None:
    small_windows = _assert_matches_reference(random_walk(800, seed), SMALL)
    defaults = _assert_matches_reference(random_walk(1500, seed), BreakoutParams())
    assert small_windows > 50
    assert defaults > 20


@given(bar_series(max_size=60))
def test_the_same_bars_twice_give_the_same_decisions(bars: list[Bar]) -> None:
    assert _run(bars) == _run(bars)


@given(bar_series(min_size=1, max_size=60), bar_series(min_size=1, max_size=30), st.data())
def test_no_look_ahead_later_bars_never_change_earlier_decisions(
    bars: list[Bar], future: list[Bar], data: st.DataObject
) -> None:
    n = data.draw(st.integers(1, len(bars)), label="prefix length")
    shift = bars[n - 1].ts_ms + HOUR_MS - future[0].ts_ms
    extended = bars[:n] + [replace(b, ts_ms=b.ts_ms + shift) for b in future]
    assert _run(extended)[:n] == _run(bars)[:n] == _run(bars[:n])


@given(bar_series(max_size=80))
def test_no_regime_or_signal_before_warm_up_and_a_regime_every_bar_after(bars: list[Bar]) -> None:
    for i, d in enumerate(_run(bars)):
        if i < SMALL.warmup_bars:
            assert (d.regime, d.direction, d.confidence, d.bucket) == (None, None, None, None)
        else:
            assert d.regime in REGIMES


@given(bar_series(max_size=80))
def test_a_signal_has_confidence_in_0_1_and_its_bucket_a_neutral_bar_neither(
    bars: list[Bar],
) -> None:
    for bar, d in zip(bars, _run(bars), strict=True):
        assert (d.ts_ms, d.close) == (bar.ts_ms, bar.close)
        assert d.atr >= 0.0
        if d.direction is None:
            assert d.confidence is None
            assert d.bucket is None
        else:
            assert d.direction in ("long", "short")
            assert d.confidence is not None
            assert 0.0 <= d.confidence <= 1.0
            assert d.bucket == bucket_of(d.confidence)


def test_the_small_model_signals_both_ways_in_several_regimes() -> None:
    """Guards the property tests above against passing vacuously on signal-free series."""
    signals = [d for d in _run(random_walk(600, seed=7)) if d.direction is not None]
    assert {d.direction for d in signals} == {"long", "short"}
    assert len({d.regime for d in signals}) >= 3


def test_flat_bars_then_a_jump_do_not_divide_by_a_zero_atr() -> None:
    bars = [Bar("TESTUSDT", i * HOUR_MS, 5.0, 5.0, 5.0, 5.0, 1.0) for i in range(30)]
    bars.append(Bar("TESTUSDT", 30 * HOUR_MS, 5.0, 6.0, 5.0, 6.0, 1.0))
    assert _run(bars)[-1].direction is None


def test_chop_breakouts_are_followed_when_fading_is_off() -> None:
    bars = random_walk(600, seed=7)
    faded = _run(bars)
    followed = _run(bars, SMALL.model_copy(update={"fade_in_chop": False}))
    chop = [(a, b) for a, b in zip(faded, followed, strict=True) if a.regime == "chop"]
    flipped = [(a, b) for a, b in chop if a.direction is not None]
    assert flipped
    assert all(a.direction != b.direction for a, b in flipped)
    assert all(a.confidence == b.confidence for a, b in flipped)


def test_default_warm_up_is_exposed_and_a_too_short_one_is_refused() -> None:
    assert BreakoutModel().params.warmup_bars == WARMUP_BARS
    with pytest.raises(ValueError, match="warmup_bars"):
        BreakoutParams(warmup_bars=BreakoutParams().regime.vol_slow_bars - 1)
    with pytest.raises(ValueError, match="min_rank_samples"):
        BreakoutParams(min_rank_samples=0)


def _sample(symbol: str) -> list[Bar]:
    with (REPO / "data" / "ohlcv" / f"{symbol}-1h.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    return [Bar(symbol, int(r[0]), *(float(x) for x in r[1:6])) for r in rows]


def test_on_the_shipped_eth_sample_regimes_buckets_and_filtered_signals_are_all_real() -> None:
    """The default model on the bundled 6 months: every regime, spread buckets, ETH trades."""
    decisions = _run(_sample("ETHUSDT"), BreakoutParams())
    warm = [d for d in decisions if d.regime is not None]
    signals = [d for d in warm if d.direction is not None]
    shares = {r: sum(d.regime == r for d in warm) / len(warm) for r in REGIMES}
    assert all(share >= 0.05 for share in shares.values()), shares
    assert 0.10 <= shares["high_vol"] <= 0.40, shares
    assert 0.03 <= len(signals) / len(warm) <= 0.20
    for bucket in range(10):
        assert sum(d.bucket == bucket for d in signals) >= 0.03 * len(signals), bucket
    profiler = StrategyProfiler.model_validate_json(
        (REPO / "config" / "multi_asset_strategy_profiler.json").read_text()
    )
    rules = FilterRules.from_profile(profiler.assets["ETHUSDT"], "paper", ObservationSettings())
    codes = [refusal(rules, d.regime, d.direction, d.confidence, d.bucket) for d in signals]
    assert codes.count(None) >= 40
    assert set(codes) == {None, "regime"}  # ETH: high_vol only, every bucket, no bias
