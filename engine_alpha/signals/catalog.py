"""Signal models by name: the profile's choice turned into models (docs/signal-models.md).

An asset without `signal_model` runs the breakout model with its defaults, built directly (no
entry point needed); a named model comes from its `engine_alpha.signal_models` entry point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from engine_alpha.config.models import SignalModelChoice
from engine_alpha.config.signal_models import DEFAULT_MODEL, installed, load_entry
from engine_alpha.signals.breakout import PLUGIN as BREAKOUT
from engine_alpha.signals.protocol import ModelPlugin, SignalModel

__all__ = [
    "ChosenModel",
    "ModelFactory",
    "chosen",
    "identity",
    "installed_plugins",
    "json_identity",
    "model_factory",
    "model_name",
    "plugin",
]

ModelFactory = Callable[[], SignalModel]


def plugin(name: str) -> ModelPlugin[Any]:
    """The installed model `name` (ValueError naming the installed ones if there is none)."""
    entry = load_entry(name)
    if not isinstance(entry, ModelPlugin):
        raise ValueError(f"signal model {name!r} is not a ModelPlugin")
    return entry


def installed_plugins() -> list[ModelPlugin[Any]]:
    """Every installed model, by name."""
    return [plugin(name) for name in installed()]


def _chosen(choice: SignalModelChoice | None) -> tuple[ModelPlugin[Any], dict[str, Any]]:
    if choice is None:
        return BREAKOUT, {}
    return plugin(choice.name), choice.params


def model_factory(choice: SignalModelChoice | None) -> ModelFactory:
    """Builds fresh models of the chosen model and parameters (validated once, here)."""
    chosen, raw = _chosen(choice)
    params = chosen.params.model_validate(raw)
    build = chosen.build
    return lambda: build(params)


def model_name(choice: SignalModelChoice | None) -> str:
    """The chosen model's name (`breakout` when the profile names none)."""
    return DEFAULT_MODEL if choice is None else choice.name


def identity(choice: SignalModelChoice | None) -> dict[str, Any]:
    """The chosen model's name and full parameters, as research records them."""
    chosen, raw = _chosen(choice)
    return chosen.identity(raw)


@dataclass(frozen=True, slots=True)
class ChosenModel:
    """A profile's (or a command line's) model resolved once: its name, its identity (name and
    every parameter, as JSON data: what research records and the gate compares) and a factory."""

    name: str
    identity: dict[str, Any]
    factory: ModelFactory


def chosen(choice: SignalModelChoice | None) -> ChosenModel:
    """Resolve `choice` (None: the breakout with its defaults); ValueError when it is unusable."""
    return ChosenModel(model_name(choice), json_identity(choice), model_factory(choice))


def json_identity(choice: SignalModelChoice | None) -> dict[str, Any]:
    """`identity(choice)` as JSON text would give it back (tuples as lists, and so on)."""
    data: dict[str, Any] = orjson.loads(orjson.dumps(identity(choice)))
    return data
