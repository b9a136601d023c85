"""The outside package under examples/: pip-installed like a user's, found by name, and it decides
what its docs say (recomputed here from the bars in one batch, not through its own code)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from pathlib import Path

import orjson
import pytest
from hypothesis import given

from engine_alpha.config.signal_models import builtin, installed
from engine_alpha.market.bars import Bar
from engine_alpha.signals.catalog import plugin
from engine_alpha.signals.regime import RegimeParams
from tests.conftest import REPO
from tests.plugin_packages import PACKAGES
from tests.signals.series import bar_series, random_walk

Decisions = list[tuple[str | None, float | None]]
EXAMPLE = REPO / "examples" / "chloe-example-model"
SMALL = {
    "roc_bars": 3,
    "atr_bars": 2,
    "min_move_atr": 0.5,
    "rank_window": 6,
    "min_rank_samples": 2,
    "warmup_bars": 8,
    "regime": RegimeParams(
        vol_fast_bars=2, vol_slow_bars=8, ema_fast_bars=2, ema_slow_bars=6
    ).model_dump(),
}


def test_the_example_is_installed_from_its_own_distribution_not_from_chloe() -> None:
    assert EXAMPLE in PACKAGES
    entry = installed()["momentum"]
    assert entry.dist is not None and entry.dist.name == "chloe-example-model"
    assert "momentum" not in builtin()
    module = Path(str(plugin("momentum").build.__code__.co_filename)).resolve()
    assert REPO / "engine_alpha" not in module.parents  # its code is the package's own


def _atr(bars: list[Bar], period: int) -> list[float]:
    """Wilder's ATR in one pass: the mean of the first `period` true ranges, then smoothing."""
    out: list[float] = []
    for i, bar in enumerate(bars):
        prev = bars[i - 1].close if i else None
        tr = bar.high - bar.low
        if prev is not None:
            tr = max(tr, abs(bar.high - prev), abs(bar.low - prev))
        n = min(i + 1, period)
        out.append(tr if i == 0 else out[-1] + (tr - out[-1]) / n)
    return out


def _expected(bars: list[Bar], raw: dict[str, object]) -> Decisions:
    """(direction, confidence) per bar, straight from the definition in the module docstring."""
    p = plugin("momentum").params.model_validate(raw)
    atr = _atr(bars, p.atr_bars)
    sizes: list[float] = []  # every ranked move so far, oldest first
    out: Decisions = []
    for i, bar in enumerate(bars):
        if i < p.roc_bars or atr[i] <= 0.0:
            out.append((None, None))
            continue
        move = (bar.close - bars[i - p.roc_bars].close) / atr[i]
        past = sorted(sizes[-p.rank_window :])
        size = abs(move)
        sizes.append(size)
        conf = (bisect_left(past, size) + bisect_right(past, size)) / (2 * len(past or [0]))
        if i < p.warmup_bars or len(past) < p.min_rank_samples or size < p.min_move_atr:
            out.append((None, None))
        elif move != 0.0:
            out.append(("long" if move > 0 else "short", conf))
        else:
            out.append((None, None))
    return out


def _decided(bars: list[Bar], raw: dict[str, object]) -> Decisions:
    model = plugin("momentum").create(raw)
    return [(d.direction, d.confidence) for d in map(model.update, bars)]


def _same(got: Decisions, want: Decisions) -> None:
    assert [d for d, _ in got] == [d for d, _ in want]
    assert [c for _, c in got] == pytest.approx([c for _, c in want], abs=1e-12)


@given(bar_series(min_size=1, max_size=60))
def test_momentum_signals_the_atr_scaled_move_ranked_among_recent_moves(bars: list[Bar]) -> None:
    _same(_decided(bars, SMALL), _expected(bars, SMALL))


def test_momentum_on_a_long_walk_signals_both_ways_and_as_recomputed() -> None:
    bars = random_walk(3000, seed=13)
    got = _decided(bars, {})
    assert {"long", "short"} <= {d for d, _ in got}
    _same(got, _expected(bars, {}))


def test_a_restored_momentum_model_continues_as_the_uninterrupted_one() -> None:
    bars = random_walk(1200, seed=7)
    whole = _decided(bars, {})
    first = plugin("momentum").create({})
    for bar in bars[:700]:
        first.update(bar)
    saved = orjson.loads(orjson.dumps(first.snapshot()))
    second = plugin("momentum").create({})
    second.restore(saved)
    assert [(d.direction, d.confidence) for d in map(second.update, bars[700:])] == whole[700:]
