"""What every executor shares: a task's key, the progress report, the executor protocol.

A run is one pure function `fn(data, point)` over every (asset, point) pair: `data` is the
asset's payload (sent to each worker once), `point` one entry of a list of points. Results are
keyed by `TaskKey(asset, point index)` and come back asset by asset, points in order, whatever
order the workers finished in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

__all__ = [
    "Executor",
    "OnDone",
    "Run",
    "TaskDone",
    "TaskKey",
    "WorkerLostError",
    "in_task_order",
    "task_keys",
]

D = TypeVar("D")
P = TypeVar("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True, order=True)
class TaskKey:
    """One task: the asset's name and the index of the point in the run's list of points."""

    asset: str
    point: int


@dataclass(frozen=True, slots=True)
class TaskDone:
    """A finished task, as the progress hook hears of it (in completion order)."""

    key: TaskKey
    result: Any
    done: int
    total: int


OnDone = Callable[[TaskDone], object]


class WorkerLostError(RuntimeError):
    """Workers kept dying: the tasks were resubmitted as often as allowed and still not done."""


class Executor(Protocol):
    """Runs `fn` over every (asset, point) task; returns every task's result by key."""

    @property
    def description(self) -> str:
        """Where the work runs, for people (e.g. `2 local processes`)."""
        ...

    def run(
        self,
        fn: Callable[[D, P], R],
        data: Mapping[str, D],
        points: Sequence[P],
        on_done: OnDone,
    ) -> dict[TaskKey, R]:
        """Every task's result; `on_done` is called once per finished task."""
        ...


def task_keys(assets: Sequence[str], n_points: int) -> list[TaskKey]:
    """Every task in the order a serial loop would run them: asset by asset, points in order."""
    return [TaskKey(asset, point) for asset in assets for point in range(n_points)]


def in_task_order(
    results: Mapping[TaskKey, R], assets: Sequence[str], n_points: int
) -> dict[TaskKey, R]:
    """`results` reordered as `task_keys` lists them (KeyError naming a missing task)."""
    return {key: results[key] for key in task_keys(assets, n_points)}


@dataclass(slots=True)
class Run(Generic[D, P, R]):
    """One run's inputs and the results so far, shared by an executor's attempts."""

    fn: Callable[[D, P], R]
    data: Mapping[str, D]
    points: Sequence[P]
    on_done: OnDone
    results: dict[TaskKey, R] = field(default_factory=dict)

    @property
    def keys(self) -> list[TaskKey]:
        """Every task of the run, in task order."""
        return task_keys(list(self.data), len(self.points))

    def todo(self) -> list[TaskKey]:
        """The tasks without a result yet, in task order."""
        return [key for key in self.keys if key not in self.results]

    def finish(self, key: TaskKey, result: R) -> None:
        """Record a task's result and tell the progress hook."""
        self.results[key] = result
        self.on_done(TaskDone(key, result, len(self.results), len(self.data) * len(self.points)))

    def ordered(self) -> dict[TaskKey, R]:
        """Every result, in task order."""
        return in_task_order(self.results, list(self.data), len(self.points))
