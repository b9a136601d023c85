"""The live state a restart continues from: each asset's model, and the pending orders.

A live daemon cannot replay its history from a file, and a warm-up from a short backfill leaves
the confidence ranks and the slow averages different from an uninterrupted run's, so every
later decision could differ. The daemon therefore saves, with each checkpoint (same atomic
step, same verification), `capture()`: the last bar time stepped and committed, each task's
model state as of its last bar (only when that bar was stepped: a model that ran ahead of a
mid-chunk stop keeps its previous state), and the trader's pending orders. At start `restore()`
puts back what fits; an asset whose state is missing or does not fit warms up, said by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine_alpha.execution.trader import PendingOrder, pending_from_json
from engine_alpha.signals.state import StateError
from engine_alpha.strategy.task import StrategyTask

__all__ = ["LiveStateKeeper", "Restored", "restore_live_state"]


@dataclass(slots=True)
class Restored:
    """What `restore_live_state` put back, and what it could not."""

    resume_after_ms: int | None
    models: dict[str, int] = field(default_factory=dict)  # symbol -> bar time it continues from
    closes: dict[str, float] = field(default_factory=dict)  # symbol -> that bar's close
    pending: dict[str, PendingOrder] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # symbol (or "*") -> why it warms up


def restore_live_state(
    live: Any, tasks: Mapping[str, StrategyTask], journal_last_bar_ts: int | None
) -> Restored:
    """Restore each task from `live` (a checkpoint's live state, or None) where it fits.

    The resume point becomes the later of the journal's last bar time and the last bar time
    stepped: bar times up to it were committed (fills and signal records) before the save.
    """
    if live is None:
        return Restored(journal_last_bar_ts, problems=dict.fromkeys(tasks, "no saved state"))
    try:
        stepped, models, pending = live["stepped_bar_ts"], live["models"], live["pending"]
        if stepped is not None and type(stepped) is not int:
            raise ValueError(f"stepped_bar_ts {stepped!r}")
        if not isinstance(models, dict):
            raise ValueError("models is not an object")
        orders = pending_from_json(pending)
    except (KeyError, TypeError, ValueError) as exc:
        return Restored(journal_last_bar_ts, problems=dict.fromkeys(tasks, f"unreadable: {exc}"))
    resume = stepped if journal_last_bar_ts is None else max(journal_last_bar_ts, stepped or 0)
    out = Restored(resume)
    for symbol, task in tasks.items():
        state = models.get(symbol)
        if state is None:
            out.problems[symbol] = "no saved state for this asset"
            continue
        bar_ts = state.get("bar_ts") if isinstance(state, dict) else None
        if type(bar_ts) is not int or resume is None or bar_ts > resume:
            out.problems[symbol] = f"its bar time {bar_ts!r} is not a stepped one ({resume})"
            continue
        try:
            task.restore(state)
        except StateError as exc:
            out.problems[symbol] = str(exc)
            continue
        out.models[symbol] = bar_ts
        if (close := task.last_close) is not None:
            out.closes[symbol] = close
    # An order restored without its model would be re-derived by the warm-up anyway.
    out.pending = {s: order for s, order in orders.items() if s in out.models}
    return out


class LiveStateKeeper:
    """Builds the live state each checkpoint saves; keeps each model's last consistent state."""

    __slots__ = ("_models", "_stepped", "_tasks")

    def __init__(self, tasks: Mapping[str, StrategyTask], restored: Restored) -> None:
        self._tasks = tasks
        self._stepped = restored.resume_after_ms
        self._models: dict[str, Any] = {symbol: tasks[symbol].state() for symbol in restored.models}

    def capture(self, stepped_bar_ts: int | None, pending: Mapping[str, PendingOrder]) -> Any:
        """The live state after a commit whose last stepped bar time is `stepped_bar_ts`."""
        if stepped_bar_ts is not None and (self._stepped is None or stepped_bar_ts > self._stepped):
            self._stepped = stepped_bar_ts
        for symbol, task in self._tasks.items():
            ts = task.last_bar_ts
            if ts is not None and self._stepped is not None and ts <= self._stepped:
                self._models[symbol] = task.state()
        return {
            "stepped_bar_ts": self._stepped,
            "models": dict(self._models),
            "pending": {s: order.to_json() for s, order in pending.items() if s in self._models},
        }
