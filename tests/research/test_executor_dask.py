"""The Dask executor on a real cluster: a `dask scheduler` and two `dask worker` processes on
127.0.0.1 (the commands an operator runs). Its results equal the local run's bit for bit, each
asset's data reaches each worker once, and a worker killed mid-run costs nothing but time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

distributed = pytest.importorskip(
    "distributed", reason="Dask distributed is not installed: pip install -e '.[cluster]'"
)

from engine_alpha.research.analysis import ResearchSettings  # noqa: E402
from engine_alpha.research.executor import executor_for, run_grid  # noqa: E402
from engine_alpha.research.executor_dask import ClusterUnreachableError, DaskCluster  # noqa: E402
from engine_alpha.research.executor_local import LocalProcesses  # noqa: E402
from engine_alpha.research.executor_tasks import TaskDone, TaskKey  # noqa: E402
from engine_alpha.research.sweep_points import (  # noqa: E402
    SweepAsset,
    grid_points,
    load_assets,
    score_grid,
)
from tests.conftest import SAMPLE_DATA  # noqa: E402
from tests.daemon_runs import REPO  # noqa: E402
from tests.research.executor_fns import (  # noqa: E402
    CountedData,
    DieOnce,
    bits,
    unpickled_by_pid,
    weighted_sum,
)

pytestmark = pytest.mark.slow  # a real scheduler and worker processes

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
SETTINGS = ResearchSettings()
POINTS = grid_points("breakout", {"channel_bars": [12, 36], "fade_in_chop": [True, False]})


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and two single-threaded workers (each under its nanny), all on 127.0.0.1."""
    where = tmp_path_factory.mktemp("dask")
    info = where / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    common = {"cwd": where, "env": env, "stdout": subprocess.DEVNULL}
    log = (where / "dask.log").open("wb")
    sched = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
        stderr=log, **common,
    )  # fmt: skip
    workers = None
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and sched.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        workers = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--host", "127.0.0.1",
             "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
            stderr=log, **common,
        )  # fmt: skip
        with distributed.Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        if workers is not None:
            _stop(workers)
        _stop(sched)
        log.close()


@pytest.fixture(scope="module")
def sample_assets() -> dict[str, SweepAsset]:
    return load_assets(SAMPLE_DATA, SYMBOLS, "1h", 3_600_000)


def worker_pids(address: str) -> dict[str, int]:
    with distributed.Client(address, timeout=30, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=60)
        return dict(client.run(os.getpid))


def test_a_cluster_run_equals_the_local_run_bit_for_bit(
    scheduler: str, sample_assets: dict[str, SweepAsset]
) -> None:
    heard: list[TaskDone] = []
    cluster = executor_for(scheduler)
    assert isinstance(cluster, DaskCluster)
    got = score_grid(sample_assets, POINTS, SETTINGS, cluster, heard.append)
    local = score_grid(sample_assets, POINTS, SETTINGS, LocalProcesses(2))
    assert list(got) == [TaskKey(s, i) for s in SYMBOLS for i in range(len(POINTS))]
    assert bits(got) == bits(local)
    assert [d.done for d in heard] == list(range(1, len(local) + 1))
    assert sorted(d.key for d in heard) == sorted(local)


def test_each_worker_receives_each_assets_data_once_not_once_per_point(
    scheduler: str, tmp_path: Path
) -> None:
    log = tmp_path / "data.log"
    data = {a: CountedData(a, (1.0, 0.5), str(log)) for a in ("A", "B", "C")}
    points = [float(p) for p in range(12)]
    got = run_grid(weighted_sum, data, points, DaskCluster(scheduler))
    assert got == {
        TaskKey(a, i): 1.0 + 0.5 * p for a in ("A", "B", "C") for i, p in enumerate(points)
    }
    pids = set(worker_pids(scheduler).values())
    by_pid = unpickled_by_pid(log)
    received = {pid: assets for pid, assets in by_pid.items() if pid in pids}
    assert set(received) == pids  # 36 tasks, two workers, each given every asset exactly once
    assert all(sorted(assets) == ["A", "B", "C"] for assets in received.values())
    # this client serialised each asset once; the cluster copied it between workers (broadcast)
    lines = [line.split() for line in log.read_text().splitlines()]
    by_client = [
        asset for what, pid, asset in lines if what == "pickled" and int(pid) == os.getpid()
    ]
    assert sorted(by_client) == ["A", "B", "C"]


def test_a_worker_killed_mid_run_is_retried_and_the_results_are_identical(
    scheduler: str, sample_assets: dict[str, SweepAsset], tmp_path: Path
) -> None:
    marker = tmp_path / "killed.pid"
    before = worker_pids(scheduler)
    dies = DieOnce(SETTINGS, "ETHUSDT", dict(POINTS[1].params), str(marker))
    got = run_grid(dies, sample_assets, POINTS, DaskCluster(scheduler))
    killed = int(marker.read_text())
    assert killed in before.values()  # a real worker process of the cluster ...
    with pytest.raises(ProcessLookupError):
        os.kill(killed, 0)  # ... that is gone
    assert bits(got) == bits(score_grid(sample_assets, POINTS, SETTINGS, LocalProcesses(2)))
    assert killed not in worker_pids(scheduler).values()  # its nanny started a fresh one


def test_an_address_without_a_scheduler_is_a_clear_error() -> None:
    data = {"A": CountedData("A", (1.0,), os.devnull)}
    with pytest.raises(ClusterUnreachableError, match=r"no Dask scheduler answered at tcp://127"):
        run_grid(weighted_sum, data, [1.0], DaskCluster("tcp://127.0.0.1:9", connect_timeout_s=2))


def test_the_sweep_command_on_the_cluster_writes_what_it_writes_on_local_processes(
    scheduler: str, config_dir: Path, tmp_path: Path
) -> None:
    from engine_alpha.cli.research import main

    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"channel_bars": [12, 36], "fade_in_chop": [True, False]}))
    written = {}
    for where, extra in (("local", ["--workers", "2"]), ("cluster", ["--scheduler", scheduler])):
        code = main(
            ["sweep", "--model", "breakout", "--grid", str(grid), "--data", str(SAMPLE_DATA),
             "--config-dir", str(config_dir), "--reports-dir", str(tmp_path / where),
             "--assets", *SYMBOLS, "--walk-forward", "2", "--id", "s", *extra]
        )  # fmt: skip
        assert code == 0
        folder = tmp_path / where / "research" / "sweeps" / "s"
        summary = json.loads((folder / "summary.json").read_text())
        summary.pop("started_at")
        grid_json = json.loads((folder / "grid.json").read_text())
        grid_json.pop("scheduler")
        written[where] = (grid_json, (folder / "points.json").read_text(), summary)
    assert written["cluster"] == written["local"]
    assert written["local"][2]["best"] is not None
