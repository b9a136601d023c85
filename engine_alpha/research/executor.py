"""Research work in parallel: one pure function over every (asset, point), where it runs.

`executor_for(None)` runs on local processes (every core); `executor_for("tcp://HOST:PORT")` on
that Dask distributed cluster, which needs the optional extra `cluster`. `run_grid` runs a
function on either and returns the results in task order, so that a cluster run, a local run
and a plain serial loop give the same dict. The function must be picklable (a module-level
function, or a `functools.partial` of one) and pure: its result depends on its arguments only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from engine_alpha.core.exit_codes import EXIT_CONFIG
from engine_alpha.research.executor_local import LocalProcesses
from engine_alpha.research.executor_tasks import Executor, OnDone, TaskDone, TaskKey

__all__ = [
    "CLUSTER_EXTRA",
    "ClusterExtraMissingError",
    "executor_for",
    "parse_scheduler_address",
    "run_grid",
]

D = TypeVar("D")
P = TypeVar("P")
R = TypeVar("R")

CLUSTER_EXTRA = "cluster"
_ADDRESS = re.compile(r"tcp://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})")


class ClusterExtraMissingError(ImportError):
    """A scheduler was asked for, but Dask distributed (the `cluster` extra) is not installed.

    A command line that takes `--scheduler` exits with `exit_code` (bad input) and the message."""

    exit_code = EXIT_CONFIG


def parse_scheduler_address(text: str) -> str:
    """`tcp://HOST:PORT` as given, or ValueError saying what a scheduler address looks like."""
    match = _ADDRESS.fullmatch(text.strip())
    if match is None or not 0 < int(match["port"]) < 65536:
        raise ValueError(
            f"scheduler address {text!r} is not tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786)"
        )
    return text.strip()


def executor_for(scheduler: str | None = None, *, workers: int | None = None) -> Executor:
    """Local processes (`workers`, default every core), or the cluster at `scheduler`."""
    if scheduler is None:
        return LocalProcesses(workers)
    address = parse_scheduler_address(scheduler)
    try:
        from engine_alpha.research.executor_dask import DaskCluster
    except ImportError as exc:
        raise ClusterExtraMissingError(
            f"a scheduler ({address}) needs Dask distributed, Chloe's optional extra "
            f"{CLUSTER_EXTRA!r}: pip install 'chloe-engine-alpha[{CLUSTER_EXTRA}]' "
            f"(from a checkout: pip install -e '.[{CLUSTER_EXTRA}]'); import failed: {exc}"
        ) from exc
    return DaskCluster(address)


def _ignore(_: TaskDone) -> None:
    return None


def run_grid(
    fn: Callable[[D, P], R],
    data: Mapping[str, D],
    points: Sequence[P],
    executor: Executor | None = None,
    on_done: OnDone = _ignore,
) -> dict[TaskKey, R]:
    """`fn(data[asset], points[i])` for every asset and point, keyed `TaskKey(asset, i)`, in
    that order (asset by asset, points in order); `on_done` hears of each finished task."""
    if not data or not points:
        return {}
    return (executor or LocalProcesses()).run(fn, data, points, on_done)
