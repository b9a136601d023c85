"""Gate met and gate lost: what changed between two readings of the rollout gates.

Pure: given the previous and the current rollout state, the messages an operator should get.
Met: the next asset in the activation order has nothing blocking it (it can be enabled now).
Lost: that asset is blocked again while still not enabled, or an enabled asset whose enable
gate held no longer does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine_alpha.notify import messages
from engine_alpha.notify.messages import Message
from engine_alpha.ops.gates import RolloutState

__all__ = ["GateView", "gate_changes", "view_of"]


@dataclass(frozen=True, slots=True)
class GateView:
    """The part of a rollout state the notifications compare."""

    ready: str | None
    enabled: tuple[str, ...]
    held: frozenset[str]
    """Enabled assets whose enable gate is met."""
    blocked: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """What fails, per asset (the next one and the enabled ones), as people read it."""


def view_of(state: RolloutState) -> GateView:
    """The comparable view of `state`."""
    blocked = {s: tuple(b.text() for b in blockers) for s, blockers in state.ahead.items()}
    ready = None
    if state.next_symbol is not None:
        if state.next_blockers:
            blocked[state.next_symbol] = tuple(b.text() for b in state.next_blockers)
        else:
            ready = state.next_symbol
    held = frozenset(s for s in state.done if s not in state.ahead)
    return GateView(ready, state.done, held, blocked)


def enable_command(symbol: str) -> str:
    """The command that enables `symbol` (docs/rollout.md)."""
    return f"chloe enable {symbol}"


def gate_changes(old: GateView | None, new: GateView) -> list[Message]:
    """Messages for what changed from `old` to `new`; none for the first reading."""
    if old is None:
        return []
    out = []
    if new.ready is not None and new.ready != old.ready:
        stable = tuple(s for s in new.enabled if s in new.held)
        out.append(messages.gate_met(new.ready, enable_command(new.ready), stable))
    if old.ready is not None and new.ready != old.ready and old.ready not in new.enabled:
        out.append(
            messages.gate_lost(
                old.ready,
                new.blocked.get(old.ready, ()),
                "ready to enable",
            )
        )
    for symbol in sorted(old.held - new.held):
        if symbol in new.enabled:
            out.append(messages.gate_lost(symbol, new.blocked.get(symbol, ()), "its enable gate"))
    return out
