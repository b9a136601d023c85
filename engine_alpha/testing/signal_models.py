"""Checks any signal model should pass, for Chloe's tests and a user's own (docs/signal-models.md).

Each helper takes a `factory` (no arguments, returns a fresh model: `PLUGIN.create` with bound
parameters, `catalog.model_factory(choice)`, or a lambda) and a list of bars, and raises
`AssertionError` naming the first bar (index and open time) where the model misbehaves:

- `assert_deterministic`: two fresh models decide the same on the same bars, bit for bit;
- `assert_no_look_ahead`: the decisions on a prefix of the bars equal the decisions on the whole
  series up to that bar, and a changed future leaves the decisions before it unchanged;
- `assert_snapshot_continues`: snapshot -> JSON text -> `restore` into a fresh model continues
  exactly as the uninterrupted model does;
- `assert_keeps_contract`: every decision passes the strategy's own contract check
  (`strategy.contract.decision_problem`, what stops an asset in the daemon);
- `assert_warms_up`: no regime and no signal before `warmup_bars`;
- `assert_model_sound`: all of the above.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from engine_alpha.market.bars import Bar
from engine_alpha.signals.protocol import SignalModel
from engine_alpha.strategy.contract import decision_problem

__all__ = [
    "ModelFactory",
    "assert_deterministic",
    "assert_keeps_contract",
    "assert_model_sound",
    "assert_no_look_ahead",
    "assert_snapshot_continues",
    "assert_warms_up",
    "run_model",
]

ModelFactory = Callable[[], SignalModel]

# Future bars are rescaled by these factors (prices) to make a different future.
_FUTURES = (1.37, 0.61)


def run_model(factory: ModelFactory, bars: Sequence[Bar]) -> list[Any]:
    """A fresh model's decisions on `bars`, one per bar."""
    model = factory()
    return [model.update(bar) for bar in bars]


def _where(bars: Sequence[Bar], i: int) -> str:
    return f"bar {i} (ts_ms {bars[i].ts_ms})"


def _same(a: Any, b: Any) -> bool:
    """Equal bit for bit: repr shows floats exactly (and tells -0.0 from 0.0, NaN from NaN)."""
    return repr(a) == repr(b)


def _first_difference(
    expected: Sequence[Any], got: Sequence[Any], bars: Sequence[Bar], offset: int = 0
) -> str | None:
    for i, (a, b) in enumerate(zip(expected, got, strict=True)):
        if not _same(a, b):
            return f"{_where(bars, offset + i)}: expected {a!r}, got {b!r}"
    return None


def assert_deterministic(factory: ModelFactory, bars: Sequence[Bar]) -> None:
    """Two fresh models give the same decisions on the same bars."""
    first = run_model(factory, bars)
    second = run_model(factory, bars)
    problem = _first_difference(first, second, bars)
    if problem:
        raise AssertionError(f"not deterministic: a second run differs at {problem}")


def _default_cuts(factory: ModelFactory, n: int) -> list[int]:
    warmup = factory().warmup_bars
    spread = [n * k // 7 for k in range(1, 7)]
    return sorted({k for k in (*spread, warmup, warmup + 1) if 1 <= k < n})


def _changed_future(bars: Sequence[Bar], cut: int, factor: float) -> list[Bar]:
    future = [
        replace(
            b,
            open=b.open * factor,
            high=b.high * factor,
            low=b.low * factor,
            close=b.close * factor,
            volume=b.volume * (2.0 - factor) + 1.0,
        )
        for b in bars[cut:]
    ]
    return [*bars[:cut], *future]


def assert_no_look_ahead(
    factory: ModelFactory, bars: Sequence[Bar], cuts: Sequence[int] | None = None
) -> None:
    """For each cut k (default: six spread over the series, and the warm-up's end), the
    decisions on bars[:k] equal the whole series' first k decisions, and rescaling the bars from
    k on (prices and volumes) changes none of the first k decisions."""
    full = run_model(factory, bars)
    for cut in _default_cuts(factory, len(bars)) if cuts is None else cuts:
        prefix = run_model(factory, bars[:cut])
        problem = _first_difference(full[:cut], prefix, bars)
        if problem:
            raise AssertionError(
                f"look-ahead: run on the first {cut} bars only, the decision at {problem} "
                "(the whole series decided otherwise)"
            )
        for factor in _FUTURES:
            changed = run_model(factory, _changed_future(bars, cut, factor))
            problem = _first_difference(full[:cut], changed[:cut], bars)
            if problem:
                raise AssertionError(
                    f"look-ahead: with the bars from {cut} on scaled by {factor}, the decision "
                    f"at {problem}"
                )


def assert_snapshot_continues(factory: ModelFactory, bars: Sequence[Bar], at: int) -> None:
    """A model that ran bars[:at], saved as JSON text and restored into a fresh model, decides
    bars[at:] exactly as the model that never stopped."""
    if not 0 <= at <= len(bars):
        raise ValueError(f"at={at} is outside the {len(bars)} bars")
    uninterrupted = run_model(factory, bars)
    model = factory()
    for bar in bars[:at]:
        model.update(bar)
    try:
        text = json.dumps(model.snapshot(), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"the snapshot after {at} bars is not JSON data: {exc}") from None
    fresh = factory()
    fresh.restore(json.loads(text))
    resumed = [fresh.update(bar) for bar in bars[at:]]
    problem = _first_difference(uninterrupted[at:], resumed, bars, offset=at)
    if problem:
        raise AssertionError(f"restored after {at} bars, the model differs at {problem}")


def assert_keeps_contract(factory: ModelFactory, bars: Sequence[Bar]) -> None:
    """Every decision keeps the contract the strategy checks (signals/protocol.py)."""
    model = factory()
    for i, bar in enumerate(bars):
        problem = decision_problem(model.update(bar), bar)
        if problem:
            raise AssertionError(f"contract broken at {_where(bars, i)}: {problem}")


def assert_warms_up(factory: ModelFactory, bars: Sequence[Bar]) -> None:
    """No regime and no signal on the first `warmup_bars` bars."""
    model = factory()
    warmup = model.warmup_bars
    for i, bar in enumerate(bars[:warmup]):
        d = model.update(bar)
        if d.regime is not None or d.direction is not None:
            raise AssertionError(
                f"warming up ({warmup} bars) yet {_where(bars, i)} has regime {d.regime!r}, "
                f"direction {d.direction!r}"
            )


def assert_model_sound(factory: ModelFactory, bars: Sequence[Bar]) -> None:
    """Every check above, the snapshot taken mid-series and right after the warm-up."""
    assert_keeps_contract(factory, bars)
    assert_warms_up(factory, bars)
    assert_deterministic(factory, bars)
    assert_no_look_ahead(factory, bars)
    warmup = factory().warmup_bars
    for at in sorted({len(bars) // 2, min(warmup, len(bars))}):
        assert_snapshot_continues(factory, bars, at)
