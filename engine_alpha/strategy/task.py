"""One asset's strategy as an asyncio task: bars in, decisions out; it never knows the feed.

The task runs the signal model and the profile filter; everything that depends on the portfolio
(positions, caps) is the trader's. Bars arrive in batches (a replay chunk, or one live bar time)
and each batch's decisions resolve a future, so the supervisor awaits all assets together.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from engine_alpha.market.bars import Bar
from engine_alpha.signals.model import SignalModel
from engine_alpha.signals.state import StateError, dump_state, restore_state
from engine_alpha.strategy.decided import Decided
from engine_alpha.strategy.filters import FilterRules, refusal
from engine_alpha.strategy.volatility import volatility_multiplier

ATR_BASELINE_SPAN = 500  # bars: the EWMA of ATR% that the volatility multiplier compares with
_BASELINE_ALPHA = 2.0 / (ATR_BASELINE_SPAN + 1)


@dataclass(slots=True)
class _Batch:
    bars: list[Bar]
    done: asyncio.Future[list[Decided]]


@dataclass(slots=True)
class StrategyTask:
    """Decisions for one symbol; `rules` is None for an asset that only collects research data."""

    symbol: str
    rules: FilterRules | None
    model: SignalModel = field(default_factory=SignalModel)
    inbox: asyncio.Queue[_Batch | None] = field(default_factory=asyncio.Queue)
    _atr_pct_baseline: float = 0.0
    _atr_pct: float = 0.0
    last_bar_ts: int | None = None

    def decide(self, bars: list[Bar]) -> list[Decided]:
        """Run the model and the filter over `bars`, in order."""
        out: list[Decided] = []
        append = out.append
        update = self.model.update
        rules = self.rules
        base = self._atr_pct_baseline
        atr_pct = self._atr_pct
        for bar in bars:
            decision = update(bar)
            atr = decision.atr
            if atr > 0.0:
                atr_pct = atr / decision.close
                base = atr_pct if base == 0.0 else base + _BASELINE_ALPHA * (atr_pct - base)
            if decision.direction is None:
                append(Decided(bar, decision, None, 1.0))
                continue
            vol_mult = volatility_multiplier(atr / decision.close, base) if atr > 0.0 else 1.0
            code = None
            if rules is not None:
                code = refusal(
                    rules,
                    decision.regime,
                    decision.direction,
                    decision.confidence,
                    decision.bucket,
                )
            append(Decided(bar, decision, code, vol_mult))
        self._atr_pct_baseline = base
        self._atr_pct = atr_pct
        if bars:
            self.last_bar_ts = bars[-1].ts_ms
        return out

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
            "model": dump_state(self.model),
        }

    def restore(self, state: Any) -> None:
        """Continue from a saved `state()`; StateError (nothing changed) when it does not fit."""
        keys = ["atr_pct", "atr_pct_baseline", "bar_ts", "model"]
        if not isinstance(state, dict) or sorted(state) != keys:
            raise StateError(f"{self.symbol}: not a strategy state")
        bar_ts, now, base = state["bar_ts"], state["atr_pct"], state["atr_pct_baseline"]
        if type(bar_ts) is not int or not all(type(x) is float and x >= 0.0 for x in (now, base)):
            raise StateError(f"{self.symbol}: bar_ts {bar_ts!r}, ATR% {now!r}, baseline {base!r}")
        model = SignalModel(self.model.params)
        restore_state(model, state["model"], f"{self.symbol}.model")
        self.model = model
        self._atr_pct_baseline = base
        self._atr_pct = now
        self.last_bar_ts = bar_ts

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
