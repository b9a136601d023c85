"""A model's state as plain JSON data, and back: what a live restart restores instead of warming up.

The incremental indicators keep their state in `__slots__`; `dump_state` walks those slots
(deques become lists, nested indicators nested objects, parameter models their
fields) and `restore_state` writes them back into a freshly built object of the same parameters.
The fresh object is the template: every slot must be present with the template's type, and the
parameters must be equal, else `StateError` says what differs (the caller then warms up). Floats
survive JSON exactly (shortest round-trip repr), so a restored model decides bit for bit as the
one that was saved.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any

from pydantic import BaseModel

__all__ = ["SlotState", "StateError", "dump_state", "restore_state"]


class StateError(ValueError):
    """The saved state does not fit the model it is restored into: the message says where."""


def _slots(obj: object) -> list[str]:
    names: list[str] = []
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in names:
                names.append(name)
    return sorted(names)


def dump_state(obj: object) -> Any:
    """JSON-ready data holding everything `obj` keeps (slot objects, deques, lists, scalars)."""
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, deque | list | tuple):
        return [dump_state(x) for x in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: dump_state(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, BaseModel):
        return {name: dump_state(getattr(obj, name)) for name in type(obj).model_fields}
    names = _slots(obj)
    if not names:
        raise TypeError(f"cannot save the state of a {type(obj).__name__}")
    return {name: dump_state(getattr(obj, name)) for name in names}


def restore_state(obj: object, state: Any, where: str = "model") -> None:
    """Write `state` (from `dump_state`) into `obj`, built with the parameters it was saved with."""
    if not isinstance(state, dict):
        raise StateError(f"{where}: expected an object, got {type(state).__name__}")
    if isinstance(obj, BaseModel) or (dataclasses.is_dataclass(obj) and not isinstance(obj, type)):
        if dump_state(obj) != state:
            raise StateError(f"{where}: parameters differ (saved {state}, now {dump_state(obj)})")
        return
    names = _slots(obj)
    if sorted(state) != names:
        raise StateError(f"{where}: fields {sorted(state)}, expected {names}")
    values = {name: _value(getattr(obj, name), state[name], f"{where}.{name}") for name in names}
    for name, value in values.items():
        if value is not _IN_PLACE:
            object.__setattr__(obj, name, value)


_IN_PLACE = object()


def _value(template: Any, saved: Any, where: str) -> Any:
    """The value to set for one slot, checked against the fresh object's value there."""
    if template is None or isinstance(template, bool | str):
        if saved != template:
            raise StateError(f"{where}: saved {saved!r}, the model has {template!r}")
        return _IN_PLACE
    if isinstance(template, float):
        if type(saved) is not float and not (type(saved) is int and saved == 0):
            raise StateError(f"{where}: expected a number, got {saved!r}")
        return float(saved)
    if isinstance(template, int):
        if type(saved) is not int:
            raise StateError(f"{where}: expected an integer, got {saved!r}")
        return saved
    if isinstance(template, deque | list):
        if not isinstance(saved, list) or not all(type(x) in (float, int) for x in saved):
            raise StateError(f"{where}: expected a list of numbers")
        items = [x if type(x) is int else float(x) for x in saved]
        if isinstance(template, deque):
            return deque(items, maxlen=template.maxlen)
        return items
    restore_state(template, saved, where)
    return _IN_PLACE


class SlotState:
    """`snapshot` and `restore` for a model that keeps its state in `__slots__`: a model
    written this way gets the signal-model protocol's state methods for free."""

    __slots__ = ()

    def snapshot(self) -> Any:
        """Everything the model keeps, as JSON data (`dump_state`)."""
        return dump_state(self)

    def restore(self, state: Any) -> None:
        """Continue from a `snapshot()` of a model built with the same parameters."""
        restore_state(self, state)
