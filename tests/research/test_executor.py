"""The local executor: research tasks on spawned processes give what a plain serial loop gives,
each asset's data travels once per worker, a killed worker's tasks run again, and Chloe runs
without the cluster extra."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine_alpha.core.exit_codes import EXIT_CONFIG
from engine_alpha.research.analysis import ResearchSettings
from engine_alpha.research.executor import (
    ClusterExtraMissingError,
    executor_for,
    parse_scheduler_address,
    run_grid,
)
from engine_alpha.research.executor_local import LocalProcesses
from engine_alpha.research.executor_tasks import TaskDone, TaskKey
from engine_alpha.research.sweep_points import (
    ModelPoint,
    SweepAsset,
    grid_points,
    load_assets,
    score_grid,
    score_point,
)
from tests.conftest import SAMPLE_DATA
from tests.daemon_runs import REPO
from tests.research.executor_fns import (
    CountedData,
    DieOnce,
    bits,
    fail_on_negative,
    unpickled_by_pid,
    weighted_sum,
)

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
SETTINGS = ResearchSettings()
POINTS = grid_points("breakout", {"channel_bars": [12, 36], "fade_in_chop": [True, False]})


@pytest.fixture(scope="module")
def sample_assets() -> dict[str, SweepAsset]:
    return load_assets(SAMPLE_DATA, SYMBOLS, "1h", 3_600_000)


def serial_loop(assets: dict[str, SweepAsset], points: list[ModelPoint]) -> dict[TaskKey, object]:
    """The reference: every asset, every point, one after the other in this process."""
    out: dict[TaskKey, object] = {}
    for symbol in SYMBOLS:
        for index, point in enumerate(points):
            out[TaskKey(symbol, index)] = score_point(assets[symbol], point, SETTINGS)
    return out


def test_a_local_process_run_equals_a_plain_serial_loop_bit_for_bit(
    sample_assets: dict[str, SweepAsset],
) -> None:
    heard: list[TaskDone] = []
    got = score_grid(sample_assets, POINTS, SETTINGS, LocalProcesses(2), heard.append)
    expected = serial_loop(sample_assets, POINTS)
    assert list(got) == list(expected)  # keyed and ordered asset by asset, points in order
    assert bits(got) == bits(expected)
    assert sorted(d.key for d in heard) == sorted(expected)
    assert [d.done for d in heard] == list(range(1, len(expected) + 1))
    assert {d.total for d in heard} == {len(expected)}
    assert all(bits(d.result) == bits(got[d.key]) for d in heard)


def test_each_worker_process_receives_each_assets_data_once(tmp_path: Path) -> None:
    log = tmp_path / "data.log"
    data = {a: CountedData(a, (1.0, 0.5, 0.25), str(log)) for a in ("A", "B", "C")}
    points = [float(p) for p in range(10)]
    got = run_grid(weighted_sum, data, points, LocalProcesses(2))
    assert got == {
        TaskKey(a, i): 1.0 + 0.5 * p + 0.25 * p * p
        for a in ("A", "B", "C")
        for i, p in enumerate(points)
    }
    by_pid = unpickled_by_pid(log)
    assert os.getpid() not in by_pid
    assert len(by_pid) == 2  # two workers for 30 tasks, each given every asset once
    assert all(sorted(assets) == ["A", "B", "C"] for assets in by_pid.values())


def test_a_worker_killed_mid_run_has_its_task_run_again_and_the_results_are_identical(
    sample_assets: dict[str, SweepAsset], tmp_path: Path
) -> None:
    marker = tmp_path / "killed.pid"
    dies = DieOnce(SETTINGS, "ETHUSDT", dict(POINTS[1].params), str(marker))
    got = run_grid(dies, sample_assets, POINTS, LocalProcesses(2))
    killed = int(marker.read_text())
    assert killed != os.getpid()
    with pytest.raises(ProcessLookupError):
        os.kill(killed, 0)
    assert bits(got) == bits(serial_loop(sample_assets, POINTS))


def test_a_task_that_raises_stops_the_run_with_the_task_named() -> None:
    data = {"A": CountedData("A", (1.0,), os.devnull)}
    with pytest.raises(ArithmeticError, match="negative point") as caught:
        run_grid(fail_on_negative, data, [1.0, -1.0, 2.0], LocalProcesses(2))
    assert "in task asset=A point=1" in caught.value.__notes__


def test_a_bad_point_is_refused_before_anything_runs(sample_assets: dict[str, SweepAsset]) -> None:
    points = [*POINTS, ModelPoint("breakout", {"channel_bars": 0})]
    with pytest.raises(ValueError, match=r"point 4 \(breakout"):
        score_grid(sample_assets, points, SETTINGS, LocalProcesses(1))
    with pytest.raises(ValueError, match="point 0"):
        score_grid(sample_assets, [ModelPoint("no-such-model", {})], SETTINGS)


def test_grid_points_cover_every_combination_last_key_fastest() -> None:
    got = grid_points("breakout", {"channel_bars": [12, 24], "regime.trend_adx": [20.0, 25.0]})
    assert [p.params for p in got] == [
        {"channel_bars": 12, "regime": {"trend_adx": 20.0}},
        {"channel_bars": 12, "regime": {"trend_adx": 25.0}},
        {"channel_bars": 24, "regime": {"trend_adx": 20.0}},
        {"channel_bars": 24, "regime": {"trend_adx": 25.0}},
    ]


def test_no_scheduler_means_every_local_core() -> None:
    chosen = executor_for(None)
    assert isinstance(chosen, LocalProcesses)
    assert chosen.size == len(os.sched_getaffinity(0))
    assert executor_for(None, workers=3).description == "3 local processes"


@pytest.mark.parametrize(
    "bad", ["127.0.0.1:8786", "tcp://127.0.0.1", "tcp://h:0", "tcp://h:99999", "http://h:1"]
)
def test_a_scheduler_address_must_be_tcp_host_port(bad: str) -> None:
    with pytest.raises(ValueError, match="tcp://HOST:PORT"):
        parse_scheduler_address(bad)


# Hides dask and distributed from the interpreter, as on an install without the extra.
_NO_CLUSTER = """
import importlib.abc, sys
class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("dask", "distributed"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _Hide())
"""


def test_without_the_cluster_extra_chloe_runs_locally_and_a_scheduler_names_the_extra() -> None:
    script = _NO_CLUSTER + textwrap.dedent(
        """
        import importlib, pkgutil, sys
        import engine_alpha
        from engine_alpha.research.executor import ClusterExtraMissingError, executor_for, run_grid
        from engine_alpha.research.executor_local import LocalProcesses
        skipped = []
        for mod in pkgutil.walk_packages(engine_alpha.__path__, "engine_alpha."):
            if mod.name in ("engine_alpha.research.executor_dask", "engine_alpha.__main__"):
                skipped.append(mod.name)
                continue
            importlib.import_module(mod.name)
        assert "distributed" not in sys.modules and "dask" not in sys.modules
        from tests.research.executor_fns import CountedData, weighted_sum
        import os
        data = {"A": CountedData("A", (2.0, 1.0), os.devnull)}
        print(list(run_grid(weighted_sum, data, [0.0, 3.0], LocalProcesses(2)).values()))
        try:
            executor_for("tcp://127.0.0.1:8786")
        except ClusterExtraMissingError as exc:
            print(exc.exit_code, exc)
        """
    )
    # the spawned workers import the main module again: guard the script as a module would be
    script = "if __name__ == '__main__':\n" + textwrap.indent(script, "    ")
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "[2.0, 5.0]"
    code, message = lines[1].split(" ", 1)
    assert int(code) == EXIT_CONFIG
    assert "pip install -e '.[cluster]'" in message
    assert "tcp://127.0.0.1:8786" in message


def test_the_missing_extra_error_is_bad_input() -> None:
    assert ClusterExtraMissingError.exit_code == EXIT_CONFIG
