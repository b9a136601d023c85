"""The installed signal models, as the config sees them: names and parameter schemas.

Models are found by name through the `engine_alpha.signal_models` entry points (read with
`importlib.metadata`), the built-in ones registered the same way as a user's package. Loading an
entry point imports the model's module; this layer only reads its `name`, `summary` and `params`
(a pydantic model), so the config can validate a profile's choice and document it.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

__all__ = [
    "DEFAULT_MODEL",
    "ENTRY_POINT_GROUP",
    "ModelEntry",
    "builtin",
    "check_params",
    "installed",
    "load_entry",
]

ENTRY_POINT_GROUP = "engine_alpha.signal_models"
DEFAULT_MODEL = "breakout"
DISTRIBUTION = "chloe-engine-alpha"


class ModelEntry(Protocol):
    """What an entry point must name (`signals.protocol.ModelPlugin` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def params(self) -> type[BaseModel]: ...


def installed() -> dict[str, EntryPoint]:
    """Every model installed in this environment, by name, sorted."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return dict(sorted(found.items()))


def builtin() -> list[str]:
    """The models Chloe itself registers (its own distribution's entry points), by name."""
    return sorted(
        name
        for name, ep in installed().items()
        if ep.dist is not None and ep.dist.name == DISTRIBUTION
    )


def load_entry(name: str) -> ModelEntry:
    """The installed model `name`; ValueError naming the installed ones when there is none, or
    saying why its entry point cannot be used."""
    models = installed()
    ep = models.get(name)
    if ep is None:
        names = ", ".join(models) or "none"
        raise ValueError(f"unknown signal model {name!r} (installed: {names})")
    try:
        entry = ep.load()
    except Exception as exc:  # noqa: BLE001 - a broken plugin is a config problem, named
        raise ValueError(f"signal model {name!r} ({ep.value}) cannot be loaded: {exc!r}") from None
    params = getattr(entry, "params", None)
    if getattr(entry, "name", None) != name or not (
        isinstance(params, type) and issubclass(params, BaseModel)
    ):
        raise ValueError(
            f"signal model {name!r} ({ep.value}) is not a ModelPlugin named {name!r} "
            "with a pydantic params model"
        )
    return entry  # type: ignore[no-any-return]


def check_params(name: str, raw: dict[str, Any]) -> None:
    """ValueError naming each bad parameter of model `name` (`params.<field>: problem`)."""
    entry = load_entry(name)
    try:
        entry.params.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"params.{'.'.join(str(p) for p in err['loc']) or '(all)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ValueError(problems) from None
