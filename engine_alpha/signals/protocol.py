"""The signal-model interface: what every model declares and does (docs/signal-models.md).

A model is one asset's incremental state: one closed bar in, one `BarDecision` out, from past
and current bars only. It declares its warm-up and its parameters (a pydantic model, so the
config validates them and the JSON Schema documents them), and hands its state over and takes it
back, so a live restart continues as an uninterrupted run would. The daemon (replay and live),
research, the risk report and the distribution gate all run it through this interface alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from engine_alpha.market.bars import Bar
from engine_alpha.signals.decision import BarDecision, DecisionColumns

__all__ = ["ModelParams", "ModelPlugin", "SignalModel"]


class ModelParams(BaseModel):
    """Base of a model's parameters: strict, frozen, no extras, no NaN (as the config files)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class SignalModel(Protocol):
    """One asset's signal model.

    `update` folds in one closed bar and returns its decision: `regime` one of the SPEC's four
    names (None while warming up), `direction` "long", "short" or None, and for a signal a
    `confidence` in [0, 1] with `bucket` = `bucket_of(confidence)`; `atr` (>= 0) sizes stops.
    `snapshot` returns JSON data holding everything the next decision depends on; `restore` is
    called on a freshly built model of the same parameters and raises `StateError` when the data
    does not fit (the caller then discards that model and warms a new one up).
    """

    @property
    def warmup_bars(self) -> int:
        """Bars the model needs before its decisions count (the live feed backfills as many)."""
        ...

    def update(self, bar: Bar) -> BarDecision:
        """Fold in one closed bar and decide on it."""
        ...

    def snapshot(self) -> Any:
        """Everything the next decision depends on, as JSON data."""
        ...

    def restore(self, state: Any) -> None:
        """Continue from a `snapshot()`; `StateError` when it does not fit."""
        ...


P = TypeVar("P", bound=ModelParams)


@dataclass(frozen=True, slots=True)
class ModelPlugin(Generic[P]):
    """What an `engine_alpha.signal_models` entry point names: a model, its parameters and
    how to build one. `name` must equal the entry point's name. `batch` (optional) decides a
    whole series at once, exactly as `build(params)` fed the bars one by one would: parameter
    sweeps use it when present; the daemon never does."""

    name: str
    summary: str
    params: type[P]
    build: Callable[[P], SignalModel]
    batch: Callable[[P, Sequence[Bar]], DecisionColumns] | None = None

    def create(self, raw: Mapping[str, Any] | None = None) -> SignalModel:
        """A fresh model from raw parameters (validated; `pydantic.ValidationError` if bad)."""
        return self.build(self.params.model_validate(dict(raw or {})))

    def identity(self, raw: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The model's name and every parameter (defaults filled in): what research records
        and what the distribution gate compares."""
        return {
            "name": self.name,
            "params": self.params.model_validate(dict(raw or {})).model_dump(),
        }

    def decide_all(self, raw: Mapping[str, Any] | None, bars: Sequence[Bar]) -> DecisionColumns:
        """Every bar's decision through `batch`; ValueError when the model has none."""
        if self.batch is None:
            raise ValueError(f"signal model {self.name!r} has no batch path")
        return self.batch(self.params.model_validate(dict(raw or {})), bars)
