"""The breakout, broken on purpose: `faulty` breaks the decision contract from bar `fail_at_ms`
on (as `fault` says); `slow` decides as the breakout but sleeps `delay_ms` on each bar from
`slow_from_ms` on."""

from __future__ import annotations

import math
import time
from typing import Any, Literal

from engine_alpha.market.bars import Bar
from engine_alpha.signals.breakout import BreakoutModel
from engine_alpha.signals.decision import BarDecision
from engine_alpha.signals.protocol import ModelParams, ModelPlugin

Fault = Literal["raise", "confidence_nan", "confidence_high", "regime", "direction"]


class FaultyParams(ModelParams):
    fail_at_ms: int = 0
    fault: Fault = "raise"


class _Wrapped:
    """The breakout with its defaults inside: its warm-up, snapshot and restore."""

    def __init__(self) -> None:
        self.inner = BreakoutModel()

    @property
    def warmup_bars(self) -> int:
        return self.inner.warmup_bars

    def snapshot(self) -> Any:
        return self.inner.snapshot()

    def restore(self, state: Any) -> None:
        self.inner.restore(state)


class FaultyModel(_Wrapped):
    """The breakout until bar `fail_at_ms`; from that bar on, the fault."""

    def __init__(self, params: FaultyParams) -> None:
        super().__init__()
        self.params = params

    def update(self, bar: Bar) -> BarDecision:
        decision = self.inner.update(bar)
        if bar.ts_ms < self.params.fail_at_ms:
            return decision
        fault = self.params.fault
        if fault == "raise":
            raise ZeroDivisionError("float division by zero")
        confidence = {"confidence_nan": math.nan, "confidence_high": 1.5}.get(fault, 0.55)
        return BarDecision(
            bar.ts_ms,
            bar.close,
            decision.atr,
            "sideways" if fault == "regime" else "chop",
            "up" if fault == "direction" else "long",
            confidence,
            5,
        )


class SlowParams(ModelParams):
    delay_ms: float = 50.0
    slow_from_ms: int = 0


class SlowModel(_Wrapped):
    """The breakout, `delay_ms` slower on each bar from `slow_from_ms` on (a blocking sleep, as
    a heavy model's computation would block)."""

    def __init__(self, params: SlowParams) -> None:
        super().__init__()
        self.delay_s = params.delay_ms / 1000.0
        self.slow_from_ms = params.slow_from_ms

    def update(self, bar: Bar) -> BarDecision:
        if bar.ts_ms >= self.slow_from_ms:
            time.sleep(self.delay_s)
        return self.inner.update(bar)


FAULTY: ModelPlugin[Any] = ModelPlugin(
    name="faulty",
    summary="breakout that breaks its contract",
    params=FaultyParams,
    build=FaultyModel,
)
SLOW: ModelPlugin[Any] = ModelPlugin(
    name="slow", summary="breakout that sleeps per bar", params=SlowParams, build=SlowModel
)
