"""The contract a signal model's decision keeps (docs/signal-models.md), checked in one place.

`keeps_contract` is the fast yes/no the daemon and research run on every bar; `decision_problem`
says what is wrong, for the event or error that stops the asset. Both enforce the same rules:
a `BarDecision` for this bar's time, a regime of the SPEC's four or None, a finite ATR >= 0 and
close > 0, and for a signal a direction long/short, a regime, a confidence in [0, 1] and the
bucket `bucket_of(confidence)`; no confidence or bucket without a signal.
"""

from __future__ import annotations

import math
from typing import Any

from engine_alpha.config.models import REGIMES
from engine_alpha.market.bars import Bar
from engine_alpha.signals.decision import BarDecision, bucket_of

__all__ = ["decision_problem", "keeps_contract"]

_REGIMES_OR_NONE = frozenset((*REGIMES, None))
_DIRECTIONS = frozenset(("long", "short"))
_INF = math.inf


def keeps_contract(decision: Any, bar: Bar) -> bool:
    """True when `decision` is a valid decision for `bar` (cheap: runs on every bar)."""
    try:
        ok: bool = (
            isinstance(decision, BarDecision)
            and decision.ts_ms == bar.ts_ms
            and decision.regime in _REGIMES_OR_NONE
            and 0.0 <= decision.atr < _INF
            and 0.0 < decision.close < _INF
        )
        if not ok:
            return False
        conf = decision.confidence
        if decision.direction is None:
            return conf is None and decision.bucket is None
        return (
            decision.direction in _DIRECTIONS
            and decision.regime is not None
            and 0.0 <= conf <= 1.0
            and decision.bucket == bucket_of(conf)
        )
    except Exception:  # noqa: BLE001 - e.g. a string where a number belongs
        return False


def _finite(x: Any) -> bool:
    return isinstance(x, float | int) and not isinstance(x, bool) and math.isfinite(x)


def decision_problem(decision: Any, bar: Bar) -> str | None:
    """What is wrong with a model's decision for `bar` (None when it keeps the contract)."""
    try:
        return _problem(decision, bar)
    except Exception as exc:  # noqa: BLE001 - e.g. an unhashable regime
        return f"unusable decision {decision!r}: {exc!r}"


def _problem(decision: Any, bar: Bar) -> str | None:
    if not isinstance(decision, BarDecision):
        return f"returned a {type(decision).__name__}, not a BarDecision"
    direction, regime = decision.direction, decision.regime
    confidence: Any = decision.confidence
    signal = direction is not None
    rated = _finite(confidence)
    checks = (
        (decision.ts_ms == bar.ts_ms, f"decided bar time {decision.ts_ms!r} for bar {bar.ts_ms}"),
        (regime in _REGIMES_OR_NONE, f"unknown regime {regime!r}"),
        (_finite(decision.atr) and decision.atr >= 0.0, f"atr {decision.atr!r} is not >= 0"),
        (_finite(decision.close) and decision.close > 0.0, f"close {decision.close!r} is not > 0"),
        (signal or (confidence is None and decision.bucket is None), "confidence without signal"),
        (not signal or direction in _DIRECTIONS, f"unknown direction {direction!r}"),
        (
            not signal or (rated and 0.0 <= confidence <= 1.0),
            f"confidence {confidence!r} not in [0, 1]",
        ),
        (not signal or regime is not None, "a signal without a regime"),
        (
            not signal or not rated or decision.bucket == bucket_of(confidence),
            f"bucket {decision.bucket!r} is not bucket_of({confidence!r})",
        ),
    )
    return next((message for good, message in checks if not good), None)
