"""Sweep speed: a 64-point breakout grid x every asset of the full data, three ways.

Scores every (asset, point) with `research.sweep_points.score_grid` (the bars through a fresh
model of the point's parameters, then the analysis `chloe research sweep` runs: 4 walk-forward
folds, no bootstrap tests): a plain serial loop in
this process, local processes (every core), and a local Dask cluster started here as an
operator would (`dask scheduler` and `dask worker --nworkers 2 --nthreads 1` on 127.0.0.1).
Checks the three give bit-identical results, and times where one task's time goes.

    python bench/sweep.py --data ../shared/data/ohlcv [--skip-serial] [--json FILE]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine_alpha.research.analysis import ResearchSettings, analyse
from engine_alpha.research.collect import collect_bars, collect_columns
from engine_alpha.research.executor import executor_for
from engine_alpha.research.executor_tasks import TaskKey
from engine_alpha.research.sweep_points import (
    PointScore,
    grid_points,
    load_assets,
    score_grid,
    score_point,
)
from engine_alpha.signals.catalog import plugin

SYMBOLS = (
    "BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT",
    "DOGEUSDT", "AVAXUSDT", "DOTUSDT", "LINKUSDT", "MATICUSDT", "ATOMUSDT",
)  # fmt: skip
GRID: dict[str, list[Any]] = {
    "channel_bars": [12, 18, 24, 36],
    "atr_bars": [10, 14],
    "volume_bars": [12, 24],
    "rank_window": [250, 500],
    "fade_in_chop": [True, False],
}
HOUR_MS = 3_600_000
Scores = dict[TaskKey, PointScore]


def _bits(scores: Scores) -> list[Any]:
    return [
        [v.hex() if isinstance(v, float) else v for v in (getattr(s, f) for f in s.__slots__)]
        for s in scores.values()
    ]


def _start_cluster(tmp: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    info = tmp / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": tmp}
    sched = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard", "--scheduler-file", str(info)], **quiet,
    )  # fmt: skip
    while not info.exists():
        time.sleep(0.1)
    address = str(json.loads(info.read_text())["address"])
    workers = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", address, "--host", "127.0.0.1",
         "--nworkers", "2", "--nthreads", "1", "--no-dashboard"], **quiet,
    )  # fmt: skip
    import distributed

    with distributed.Client(address, timeout=60, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=120)
    return address, [workers, sched]


def _profile(assets: dict[str, Any], settings: ResearchSettings) -> dict[str, float]:
    """One point on every asset: the incremental model pass (what the daemon runs), the batch
    pass a sweep runs (identical decisions), and the analysis, timed apart."""
    point = grid_points("breakout", GRID)[0]
    chosen = plugin("breakout")
    new_model: Callable[[], Any] = functools.partial(chosen.create, point.params)
    model_s = batch_s = analyse_s = 0.0
    for asset in assets.values():
        t0 = time.perf_counter()
        collect_bars(asset.bars, asset.symbol, HOUR_MS, new_model)
        t1 = time.perf_counter()
        columns = chosen.decide_all(point.params, asset.bars)
        series = collect_columns(asset.bars, asset.symbol, HOUR_MS, columns, "breakout")
        t2 = time.perf_counter()
        analyse(series, settings, asset.tick_size)
        t3 = time.perf_counter()
        model_s, batch_s, analyse_s = model_s + t1 - t0, batch_s + t2 - t1, analyse_s + t3 - t2
    bars = sum(len(a.bars) for a in assets.values())
    return {
        "bars": bars,
        "incremental_model_pass_s": model_s,
        "batch_model_pass_s": batch_s,
        "analysis_s": analyse_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--skip-serial", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = ResearchSettings(walk_forward=4, tests=False)  # what `chloe research sweep` runs
    points = grid_points("breakout", GRID)
    t0 = time.perf_counter()
    assets = load_assets(args.data, SYMBOLS, "1h", HOUR_MS)
    out: dict[str, Any] = {
        "python": platform.python_version(),
        "cores": len(os.sched_getaffinity(0)),
        "load_s": time.perf_counter() - t0,
        "tasks": len(points) * len(assets),
        "profile_one_point": _profile(assets, settings),
        "load_avg_start": os.getloadavg(),
    }
    runs: dict[str, Scores] = {}
    if not args.skip_serial:
        t0, c0 = time.perf_counter(), time.process_time()
        runs["serial"] = {
            TaskKey(s, i): score_point(assets[s], p, settings)
            for s in assets
            for i, p in enumerate(points)
        }
        out["serial"] = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
    t0 = time.perf_counter()
    runs["local"] = score_grid(assets, points, settings, executor_for(None))
    out["local"] = {"wall_s": time.perf_counter() - t0, "workers": executor_for(None).description}
    with tempfile.TemporaryDirectory(prefix="chloe-sweep-") as tmp:
        t0 = time.perf_counter()
        address, procs = _start_cluster(Path(tmp))
        out["dask_start_s"] = time.perf_counter() - t0
        try:
            t0 = time.perf_counter()
            runs["dask"] = score_grid(assets, points, settings, executor_for(address))
            out["dask"] = {"wall_s": time.perf_counter() - t0, "workers": 2}
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
    first = _bits(runs["local"])
    out["identical"] = all(_bits(r) == first for r in runs.values())
    out["load_avg_end"] = os.getloadavg()
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
