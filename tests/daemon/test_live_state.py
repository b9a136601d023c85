"""A strategy task saved as JSON and restored decides exactly as the one that never stopped."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.daemon.live_state import LiveStateKeeper, restore_live_state
from engine_alpha.execution.trader import PendingOrder
from engine_alpha.market.bars import Bar
from engine_alpha.signals.breakout import BreakoutModel, BreakoutParams
from engine_alpha.signals.state import StateError
from engine_alpha.strategy.task import StrategyTask
from tests.signals.series import SMALL, bar_series, random_walk


def _task(params: BreakoutParams = SMALL, symbol: str = "TESTUSDT") -> StrategyTask:
    return StrategyTask(symbol=symbol, rules=None, new_model=lambda: BreakoutModel(params))


def _through_json(data: Any) -> Any:
    return orjson.loads(orjson.dumps(data))


def _outcomes(task: StrategyTask, bars: list[Bar]) -> list[tuple[Any, ...]]:
    return [
        (d.decision.regime, d.decision.direction, d.decision.confidence, d.vol_multiplier)
        for d in task.decide(bars)
    ]


@given(bars=bar_series(min_size=2, max_size=200), cut=st.floats(0.0, 1.0))
def test_a_restored_task_decides_every_later_bar_as_the_uninterrupted_one(
    bars: list[Bar], cut: float
) -> None:
    k = max(1, min(len(bars) - 1, int(cut * len(bars))))
    whole = _task()
    expected = _outcomes(whole, bars)
    first = _task()
    head = _outcomes(first, bars[:k])
    second = _task()
    second.restore(_through_json(first.state()))
    assert second.last_bar_ts == bars[k - 1].ts_ms
    assert head + _outcomes(second, bars[k:]) == expected
    assert second.state() == whole.state()


def test_a_state_saved_under_other_parameters_or_damaged_is_refused_and_changes_nothing() -> None:
    task = _task()
    task.decide(random_walk(300, seed=3))
    saved = _through_json(task.state())
    other = _task(BreakoutParams(**{**_params(SMALL), "channel_bars": SMALL.channel_bars + 1}))
    before = other.state()
    with pytest.raises(StateError, match="parameters differ"):
        other.restore(saved)
    assert other.state() == before
    damaged = _through_json(saved)
    damaged["model"]["_atr"]["value"] = "1.0"
    with pytest.raises(StateError, match=r"_atr\.value"):
        _task().restore(damaged)
    missing = _through_json(saved)
    del missing["model"]["_ranks"]
    with pytest.raises(StateError, match="fields"):
        _task().restore(missing)


def _params(params: BreakoutParams) -> dict[str, Any]:
    return {name: getattr(params, name) for name in BreakoutParams.model_fields}


def _order(signal_bar_ts: int) -> PendingOrder:
    return PendingOrder("long", "trend_up", 0.75, 7, 12.5, signal_bar_ts, 0.9, False)


def test_restore_takes_what_fits_and_names_each_asset_that_warms_up() -> None:
    bars = random_walk(300, seed=5)
    ahead = [Bar("BBBUSDT", b.ts_ms, b.open, b.high, b.low, b.close, b.volume) for b in bars]
    tasks = {"TESTUSDT": _task(), "BBBUSDT": _task(symbol="BBBUSDT")}
    tasks["TESTUSDT"].decide(bars[:200])
    tasks["BBBUSDT"].decide(ahead[:250])  # ran ahead of the stepped bar time (a mid-chunk stop)
    stepped = bars[199].ts_ms
    keeper = LiveStateKeeper(tasks, restore_live_state(None, tasks, None))
    live = _through_json(keeper.capture(stepped, {"TESTUSDT": _order(stepped)}))
    assert sorted(live["models"]) == ["TESTUSDT"]
    fresh = {"TESTUSDT": _task(), "BBBUSDT": _task(symbol="BBBUSDT")}
    restored = restore_live_state(live, fresh, journal_last_bar_ts=bars[150].ts_ms)
    assert restored.resume_after_ms == stepped
    assert restored.models == {"TESTUSDT": stepped}
    assert restored.closes == {"TESTUSDT": bars[199].close}  # primes the feed's jump check
    assert restored.pending == {"TESTUSDT": _order(stepped)}
    assert set(restored.problems) == {"BBBUSDT"}
    assert fresh["BBBUSDT"].last_bar_ts is None
    bad = _through_json(live)
    bad["pending"]["TESTUSDT"]["bucket"] = 7.0
    unreadable = restore_live_state(bad, {"TESTUSDT": _task()}, bars[150].ts_ms)
    assert unreadable.models == {}
    assert "bucket" in unreadable.problems["TESTUSDT"]
    assert unreadable.resume_after_ms == bars[150].ts_ms
