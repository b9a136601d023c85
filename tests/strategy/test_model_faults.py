"""A model that breaks its contract stops its own asset, says so once, and stays stopped."""

from __future__ import annotations

import math
from typing import Any

import pytest
from structlog.testing import capture_logs

from engine_alpha.market.bars import Bar
from engine_alpha.signals.decision import BarDecision
from engine_alpha.signals.state import StateError
from engine_alpha.strategy.task import StrategyTask
from tests.signals.series import random_walk

FAULT_AT = 7


BAD: dict[str, dict[str, Any]] = {
    "raise": {},
    "confidence_high": {"confidence": 1.5, "bucket": 9},
    "confidence_nan": {"confidence": math.nan},
    "regime": {"regime": "sideways"},
    "direction": {"direction": "up"},
    "bucket": {"bucket": 2},
    "bar_time": {"ts_ms": -1},
    "atr_nan": {"atr": math.nan},
    "confidence_text": {"confidence": "high"},
}


class Scripted:
    """Signals long at 0.55 on every bar, and at bar FAULT_AT does what `fault` says."""

    warmup_bars = 0

    def __init__(self, fault: str) -> None:
        self.fault = fault
        self.seen = 0

    def update(self, bar: Bar) -> BarDecision:
        self.seen += 1
        fields: dict[str, Any] = {
            "ts_ms": bar.ts_ms,
            "atr": 1.0,
            "regime": "chop",
            "direction": "long",
            "confidence": 0.55,
            "bucket": 5,
        }
        if self.seen == FAULT_AT + 1 and self.fault in BAD:
            if self.fault == "raise":
                raise ZeroDivisionError("division by zero")
            fields.update(BAD[self.fault])
        return BarDecision(
            fields["ts_ms"],
            bar.close,
            fields["atr"],
            fields["regime"],
            fields["direction"],
            fields["confidence"],
            fields["bucket"],
        )

    def snapshot(self) -> Any:
        return {"seen": self.seen}

    def restore(self, state: Any) -> None:
        if not isinstance(state, dict) or not isinstance(state.get("seen"), int):
            raise StateError("model: not a Scripted state")
        self.seen = state["seen"]


EXPECTED_PROBLEM = {
    "raise": "raised ZeroDivisionError",
    "confidence_high": "confidence 1.5",
    "confidence_nan": "confidence nan",
    "regime": "unknown regime 'sideways'",
    "direction": "unknown direction 'up'",
    "bucket": "bucket 2 is not bucket_of(0.55)",
    "bar_time": "decided bar time",
    "atr_nan": "atr nan",
    "confidence_text": "confidence 'high'",
}


def _task(fault: str) -> StrategyTask:
    return StrategyTask(
        symbol="TESTUSDT", rules=None, new_model=lambda: Scripted(fault), model_name="scripted"
    )


@pytest.mark.parametrize("fault", sorted(EXPECTED_PROBLEM))
def test_a_broken_decision_stops_the_asset_at_that_bar_with_one_critical_event(
    fault: str,
) -> None:
    bars = random_walk(20, seed=3)
    task = _task(fault)
    with capture_logs() as logs:
        first = task.decide(bars[:10])
        later = task.decide(bars[10:])
    directions = [d.decision.direction for d in first + later]
    assert directions == ["long"] * FAULT_AT + [None] * (20 - FAULT_AT)
    assert [d.bar for d in first + later] == bars  # one decision per bar, in order
    assert task.failure is not None and task.failure.bar_ts == bars[FAULT_AT].ts_ms
    assert EXPECTED_PROBLEM[fault] in task.failure.problem
    failed = [e for e in logs if e["event"] == "model_failed"]
    assert len(failed) == 1
    assert failed[0]["log_level"] == "critical"
    assert (failed[0]["symbol"], failed[0]["model"], failed[0]["bar_ts"]) == (
        "TESTUSDT",
        "scripted",
        bars[FAULT_AT].ts_ms,
    )


def test_the_stop_is_saved_with_the_state_and_a_restored_task_stays_stopped() -> None:
    bars = random_walk(20, seed=4)
    task = _task("regime")
    task.decide(bars[:12])
    again = _task("regime")
    with capture_logs() as logs:
        again.restore(task.state())
        again.log_failure(restored=True)
        after = again.decide(bars[12:])
    assert again.failure == task.failure
    assert all(d.decision.direction is None for d in after)
    assert [e["bar_ts"] for e in logs if e["event"] == "model_failed"] == [bars[FAULT_AT].ts_ms]


def test_a_state_saved_before_the_stop_was_kept_still_restores() -> None:
    bars = random_walk(20, seed=5)
    task = _task("none")
    task.decide(bars[:5])
    legacy = {k: v for k, v in task.state().items() if k not in ("last_close", "model_failed")}
    again = _task("none")
    again.restore(legacy)
    assert (again.last_bar_ts, again.failure, again.last_close) == (bars[4].ts_ms, None, None)


def test_a_damaged_saved_stop_is_refused() -> None:
    task = _task("none")
    task.decide(random_walk(3, seed=6))
    state = {**task.state(), "model_failed": {"bar_ts": "x", "problem": "p"}}
    with pytest.raises(StateError, match="model_failed"):
        _task("none").restore(state)
