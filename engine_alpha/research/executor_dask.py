"""Tasks on a Dask distributed cluster: each asset's data scattered once to every worker.

Needs the optional `cluster` extra (`pip install -e '.[cluster]'`); `executor.executor_for`
imports this module only when a scheduler address is given. Each asset's data goes to the
workers once (`scatter(broadcast=True)`), and every point of that asset names the scattered
data, so a task carries only its point. A worker that dies mid-task has its task rescheduled
by the scheduler (up to `distributed.scheduler.allowed-failures` deaths per task); if a run
still loses tasks (its data lost with its last holder), the unfinished tasks are scattered and
submitted again, up to `retries` times. Results are keyed as the local run keys them, so the
two give identical results.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any, TypeVar

import distributed
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from engine_alpha.research.executor_tasks import OnDone, Run, TaskKey, WorkerLostError

__all__ = ["ClusterUnreachableError", "DaskCluster"]

D = TypeVar("D")
P = TypeVar("P")
R = TypeVar("R")

_LOST = (distributed.KilledWorker, CancelledError)


class ClusterUnreachableError(OSError):
    """The scheduler did not answer at its address in time."""


@dataclass(frozen=True, slots=True)
class DaskCluster:
    """The cluster whose scheduler listens at `address` (`tcp://HOST:PORT`)."""

    address: str
    connect_timeout_s: float = 30.0
    retries: int = 2

    @property
    def description(self) -> str:
        """Where the work runs, for people."""
        return f"the Dask cluster at {self.address}"

    def run(
        self,
        fn: Callable[[D, P], R],
        data: Mapping[str, D],
        points: Sequence[P],
        on_done: OnDone,
    ) -> dict[TaskKey, R]:
        """Every task's result by key, in task order; lost tasks are submitted again."""
        run = Run(fn, data, points, on_done)
        with self._client() as client:
            attempts = Retrying(
                stop=stop_after_attempt(self.retries + 1),
                retry=retry_if_exception_type(_LOST),
                reraise=True,
            )
            try:
                for attempt in attempts:
                    with attempt:
                        _cluster_run(client, run)
            except _LOST as exc:
                raise WorkerLostError(
                    f"tasks kept losing their workers on {self.address} "
                    f"({self.retries + 1} submissions); "
                    f"{len(run.todo())} of {len(run.keys)} tasks not done"
                ) from exc
        return run.ordered()

    def _client(self) -> distributed.Client:
        try:
            return distributed.Client(
                self.address, timeout=self.connect_timeout_s, set_as_default=False
            )
        except (OSError, TimeoutError) as exc:
            raise ClusterUnreachableError(
                f"no Dask scheduler answered at {self.address} within "
                f"{self.connect_timeout_s:g} s: {exc}"
            ) from exc


def _cluster_run(client: distributed.Client, run: Run[D, P, R]) -> None:
    """Scatter each unfinished asset's data once, submit its tasks, record them as they finish."""
    todo = run.todo()
    if not todo:
        return
    run_id = uuid.uuid4().hex[:12]
    scattered: dict[str, Any] = {}
    for asset in dict.fromkeys(key.asset for key in todo):
        name = f"chloe-data-{asset}-{run_id}"
        scattered[asset] = client.scatter({name: run.data[asset]}, broadcast=True, hash=False)[name]
    futures = {
        client.submit(
            run.fn,
            scattered[key.asset],
            run.points[key.point],
            key=f"chloe-task-{key.asset}-{key.point}-{run_id}",
            pure=False,
        ): key
        for key in todo
    }
    try:
        for future in distributed.as_completed(futures, loop=client.loop):
            key = futures[future]
            try:
                result = future.result()
            except _LOST:
                raise
            except Exception as exc:
                exc.add_note(f"in task asset={key.asset} point={key.point}")
                raise
            run.finish(key, result)
    finally:
        client.cancel(list(futures))
        client.cancel(list(scattered.values()))
