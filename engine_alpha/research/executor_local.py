"""Tasks on local worker processes (`spawn`): each process gets every asset's data once.

The pool's initializer hands each worker process the function and all assets' data once;
a task then carries only its asset name and point, and returns only its result. A worker that
dies (killed, out of memory) breaks the pool: the tasks not yet finished run again on a fresh
pool, up to `retries` times. Results do not depend on which process ran a task.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from engine_alpha.research.executor_tasks import OnDone, Run, TaskKey, WorkerLostError

__all__ = ["LocalProcesses", "available_cores"]

D = TypeVar("D")
P = TypeVar("P")
R = TypeVar("R")

# The one piece of process state: in a pool WORKER process only, what its initializer received
# (the function and every asset's data), so that tasks need not carry the data. The parent
# process never writes it.
_WORKER: dict[str, Any] = {}


def _install(fn: Callable[[Any, Any], Any], data: Mapping[str, Any]) -> None:
    _WORKER["fn"] = fn
    _WORKER["data"] = data


def _run_task(asset: str, point: Any) -> Any:
    return _WORKER["fn"](_WORKER["data"][asset], point)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class LocalProcesses:
    """`workers` local processes (None: every available core); `retries` fresh pools at most."""

    workers: int | None = None
    retries: int = 2

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")

    @property
    def size(self) -> int:
        """How many worker processes a run starts (at most one per task)."""
        return self.workers or available_cores()

    @property
    def description(self) -> str:
        """Where the work runs, for people."""
        return f"{self.size} local processes"

    def run(
        self,
        fn: Callable[[D, P], R],
        data: Mapping[str, D],
        points: Sequence[P],
        on_done: OnDone,
    ) -> dict[TaskKey, R]:
        """Every task's result by key, in task order; a dead worker's tasks run again."""
        run = Run(fn, data, points, on_done)
        attempts = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            retry=retry_if_exception_type(BrokenProcessPool),
            reraise=True,
        )
        try:
            for attempt in attempts:
                with attempt:
                    self._pool_run(run)
        except BrokenProcessPool as exc:
            raise WorkerLostError(
                f"a worker process died on each of {self.retries + 1} pools; "
                f"{len(run.todo())} of {len(run.keys)} tasks not done"
            ) from exc
        return run.ordered()

    def _pool_run(self, run: Run[D, P, R]) -> None:
        """The unfinished tasks on one fresh pool, each result recorded as it finishes."""
        todo = run.todo()
        if not todo:
            return
        pool = ProcessPoolExecutor(
            max_workers=min(self.size, len(todo)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_install,
            initargs=(run.fn, dict(run.data)),
        )
        try:
            futures: dict[Future[R], TaskKey] = {
                pool.submit(_run_task, key.asset, run.points[key.point]): key for key in todo
            }
            for future in as_completed(futures):
                key = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    raise
                except Exception as exc:
                    exc.add_note(f"in task asset={key.asset} point={key.point}")
                    raise
                run.finish(key, result)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
