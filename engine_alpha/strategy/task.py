"""One asset's strategy as an asyncio task: bars in, decisions out; it never knows the feed.

The task runs the asset's signal model (any model of the protocol in `signals/protocol.py`) and
the profile filter; everything that depends on the portfolio (positions, caps) is the trader's.
Bars arrive in batches (a replay chunk, or one live bar time) and each batch's decisions resolve
a future, so the supervisor awaits all assets together.

A model that raises, or returns a decision outside the contract (`contract.py`: an unknown
regime or direction, a confidence outside [0, 1] or NaN, a bucket that is not
`bucket_of(confidence)`, a negative or non-finite ATR, another bar's time), stops: this asset
decides nothing more (its open position still exits by its stop, target or timeout), one
critical `model_failed` event names the model, the bar time and the problem, and the other
assets carry on. The stop is part of the task's
state, so a restart from a checkpoint stops the same way.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

import structlog

from engine_alpha.market.bars import Bar
from engine_alpha.signals.breakout import BreakoutModel
from engine_alpha.signals.catalog import ModelFactory
from engine_alpha.signals.decision import BarDecision
from engine_alpha.signals.protocol import SignalModel
from engine_alpha.signals.state import StateError
from engine_alpha.strategy.contract import decision_problem, keeps_contract
from engine_alpha.strategy.decided import Decided
from engine_alpha.strategy.filters import FilterRules, refusal
from engine_alpha.strategy.volatility import volatility_multiplier

ATR_BASELINE_SPAN = 500  # bars: the EWMA of ATR% that the volatility multiplier compares with
_BASELINE_ALPHA = 2.0 / (ATR_BASELINE_SPAN + 1)
_STATE_KEYS = ["atr_pct", "atr_pct_baseline", "bar_ts", "model"]
_STATE_KEYS_NOW = sorted([*_STATE_KEYS, "last_close", "model_failed"])


@dataclass(frozen=True, slots=True)
class ModelFailure:
    """Why and where an asset's model stopped."""

    bar_ts: int
    problem: str

    def to_json(self) -> dict[str, Any]:
        return {"bar_ts": self.bar_ts, "problem": self.problem}


@dataclass(slots=True)
class _Batch:
    bars: list[Bar]
    done: asyncio.Future[list[Decided]]


@dataclass(slots=True)
class StrategyTask:
    """Decisions for one symbol; `rules` is None for an asset that only collects research data."""

    symbol: str
    rules: FilterRules | None
    new_model: ModelFactory = BreakoutModel
    model_name: str = "breakout"
    model: SignalModel = field(init=False)
    inbox: asyncio.Queue[_Batch | None] = field(default_factory=asyncio.Queue)
    _atr_pct_baseline: float = 0.0
    _atr_pct: float = 0.0
    last_bar_ts: int | None = None
    last_close: float | None = None
    failure: ModelFailure | None = None

    def __post_init__(self) -> None:
        self.model = self.new_model()

    def replace_model(self, new_model: ModelFactory, name: str) -> None:
        """Run another model (or other parameters) from the next bar on, cold: it decides
        nothing until it has seen its own warm-up bars (docs/signal-models.md)."""
        self.new_model = new_model
        self.model_name = name
        self.model = new_model()
        self.failure = None

    def decide(self, bars: list[Bar]) -> list[Decided]:
        """Run the model and the filter over `bars`, in order."""
        out: list[Decided] = []
        if not bars:
            return out
        if self.failure is not None:
            self._decide_nothing(bars, out)
            self.last_bar_ts, self.last_close = bars[-1].ts_ms, bars[-1].close
            return out
        append = out.append
        update = self.model.update
        rules = self.rules
        base = self._atr_pct_baseline
        atr_pct = self._atr_pct
        for bar in bars:
            try:
                decision = update(bar)
            except Exception as exc:  # noqa: BLE001 - a model's fault stops its asset only
                self._fail(bar, f"raised {exc!r}")
                self._decide_nothing(bars[len(out) :], out)
                break
            if not keeps_contract(decision, bar):
                self._fail(bar, decision_problem(decision, bar) or "invalid decision")
                self._decide_nothing(bars[len(out) :], out)
                break
            atr = decision.atr
            direction = decision.direction
            if atr > 0.0:
                atr_pct = atr / decision.close
                base = atr_pct if base == 0.0 else base + _BASELINE_ALPHA * (atr_pct - base)
            if direction is None:
                append(Decided(bar, decision, None, 1.0))
                continue
            vol_mult = volatility_multiplier(atr / decision.close, base) if atr > 0.0 else 1.0
            code = None
            if rules is not None:
                code = refusal(
                    rules,
                    decision.regime,
                    direction,
                    decision.confidence,
                    decision.bucket,
                )
            append(Decided(bar, decision, code, vol_mult))
        self._atr_pct_baseline = base
        self._atr_pct = atr_pct
        self.last_bar_ts = bars[-1].ts_ms
        self.last_close = bars[-1].close
        return out

    def _fail(self, bar: Bar, problem: str) -> None:
        self.failure = ModelFailure(bar.ts_ms, problem)
        self.log_failure()

    def log_failure(self, **extra: Any) -> None:
        """The critical `model_failed` event (at the stop, and again at a restart that keeps it)."""
        if self.failure is not None:
            structlog.get_logger("chloe.strategy").critical(
                "model_failed",
                symbol=self.symbol,
                model=self.model_name,
                bar_ts=self.failure.bar_ts,
                problem=self.failure.problem,
                effect="this asset decides nothing more until its model is fixed and the "
                "daemon restarted; open positions still exit by stop, target or timeout",
                **extra,
            )

    @staticmethod
    def _decide_nothing(bars: list[Bar], out: list[Decided]) -> None:
        for bar in bars:
            neutral = BarDecision(bar.ts_ms, bar.close, 0.0, None, None, None, None)
            out.append(Decided(bar, neutral, None, 1.0))

    def sizing_volatility(self) -> tuple[float, float, float]:
        """ATR% of the last bar, its EWMA-500 baseline, and the multiplier an order sized now
        gets (`risk.sizing.volatility_multiplier`): the one figure sizing uses.
        """
        now, base = self._atr_pct, self._atr_pct_baseline
        return now, base, volatility_multiplier(now, base)

    def state(self) -> dict[str, Any]:
        """Everything the next decision depends on, as JSON data (saved with the checkpoint)."""
        return {
            "bar_ts": self.last_bar_ts,
            "atr_pct": self._atr_pct,
            "atr_pct_baseline": self._atr_pct_baseline,
            "last_close": self.last_close,
            "model": self.model.snapshot(),
            "model_failed": None if self.failure is None else self.failure.to_json(),
        }

    def restore(self, state: Any) -> None:
        """Continue from a saved `state()`; StateError (nothing changed) when it does not fit.

        A state saved before `last_close` and `model_failed` were kept (four keys) restores too.
        """
        if not isinstance(state, dict) or sorted(state) not in (_STATE_KEYS, _STATE_KEYS_NOW):
            raise StateError(f"{self.symbol}: not a strategy state")
        bar_ts, now, base = state["bar_ts"], state["atr_pct"], state["atr_pct_baseline"]
        if type(bar_ts) is not int or not all(type(x) is float and x >= 0.0 for x in (now, base)):
            raise StateError(f"{self.symbol}: bar_ts {bar_ts!r}, ATR% {now!r}, baseline {base!r}")
        close, failed = state.get("last_close"), state.get("model_failed")
        if close is not None and not (type(close) is float and 0.0 < close < math.inf):
            raise StateError(f"{self.symbol}: last_close {close!r}")
        failure = _failure(failed, self.symbol)
        model = self.new_model()
        try:
            model.restore(state["model"])
        except StateError as exc:
            raise StateError(f"{self.symbol}.{exc}") from None
        except Exception as exc:  # noqa: BLE001 - a plugin's restore may raise anything
            raise StateError(f"{self.symbol}.model: {exc!r}") from None
        self.model = model
        self._atr_pct_baseline = base
        self._atr_pct = now
        self.last_bar_ts = bar_ts
        self.last_close = close
        self.failure = failure

    def submit(self, bars: list[Bar]) -> asyncio.Future[list[Decided]]:
        """Queue a batch of bars; the future resolves with their decisions."""
        done: asyncio.Future[list[Decided]] = asyncio.get_running_loop().create_future()
        self.inbox.put_nowait(_Batch(bars, done))
        return done

    async def run(self) -> None:
        """Decide each batch as it arrives until a None batch says stop."""
        while (batch := await self.inbox.get()) is not None:
            try:
                batch.done.set_result(self.decide(batch.bars))
            except Exception as exc:  # noqa: BLE001 - handed to the supervisor via the future
                batch.done.set_exception(exc)


def _failure(saved: Any, symbol: str) -> ModelFailure | None:
    if saved is None:
        return None
    if (
        not isinstance(saved, dict)
        or sorted(saved) != ["bar_ts", "problem"]
        or type(saved["bar_ts"]) is not int
        or not isinstance(saved["problem"], str)
    ):
        raise StateError(f"{symbol}: model_failed {saved!r}")
    return ModelFailure(saved["bar_ts"], saved["problem"])
