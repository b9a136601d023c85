"""Task functions and data for the executor tests; importable by spawned and Dask workers.

`CountedData` logs every pickling and unpickling of itself (process id, asset) to a file, so a
test counts how often each asset's data travelled. `score_or_die` kills its own worker process
(SIGKILL) the first time it runs the chosen task, leaving the killed pid in a marker file.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine_alpha.research.analysis import ResearchSettings
from engine_alpha.research.sweep_points import ModelPoint, PointScore, SweepAsset, score_point


def _log(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as out:
        out.write(line + "\n")


@dataclass(frozen=True, slots=True, eq=False)
class CountedData:
    """An asset's data that writes `pickled`/`unpickled PID ASSET` lines to `log`."""

    asset: str
    values: tuple[float, ...]
    log: str

    def __reduce__(self) -> tuple[Any, ...]:
        _log(self.log, f"pickled {os.getpid()} {self.asset}")
        return _unpickle, (self.asset, self.values, self.log)


def _unpickle(asset: str, values: tuple[float, ...], log: str) -> CountedData:
    _log(log, f"unpickled {os.getpid()} {asset}")
    return CountedData(asset, values, log)


def weighted_sum(data: CountedData, point: float) -> float:
    """A pure task: the data's values weighted by powers of the point."""
    return sum(v * point**k for k, v in enumerate(data.values))


def fail_on_negative(data: CountedData, point: float) -> float:
    """A task that raises on a negative point."""
    if point < 0:
        raise ArithmeticError(f"negative point {point}")
    return weighted_sum(data, point)


@dataclass(frozen=True, slots=True)
class DieOnce:
    """`score_point`, except that the first run of (`asset`, `params`) kills its process."""

    settings: ResearchSettings
    asset: str
    params: dict[str, Any]
    marker: str

    def __call__(self, data: SweepAsset, point: ModelPoint) -> PointScore:
        if data.symbol == self.asset and dict(point.params) == self.params:
            try:
                fd = os.open(self.marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                pass
            else:
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        return score_point(data, point, self.settings)


def unpickled_by_pid(log: Path) -> dict[int, list[str]]:
    """Per process id, the assets it unpickled, in order."""
    out: dict[int, list[str]] = {}
    for line in log.read_text().splitlines():
        what, pid, asset = line.split()
        if what == "unpickled":
            out.setdefault(int(pid), []).append(asset)
    return out


def bits(value: Any) -> Any:
    """`value` with every float as its exact bit pattern (NaN included), for == comparison."""
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, PointScore):
        return tuple(bits(getattr(value, name)) for name in PointScore.__slots__)
    if isinstance(value, dict):
        return [(bits(k), bits(v)) for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [bits(v) for v in value]
    return value
