"""Research speed: `chloe research` over the full data set (12 assets, ~288k bars), end to end.

Runs the command as a subprocess (imports, reading and validating the CSVs, the signal model over
every bar, the edge tables, the simulated trades, the JSON reports, the table and a proposed
profile) with a fresh reports directory each time, then times its phases in process.
`--write-docs` records the result in the `## Research` section of docs/benchmarks.md.

    python bench/research.py --data ../shared/data/ohlcv --runs 3 --write-docs
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench_docs import DOCS, update_section

REPO = Path(__file__).resolve().parent.parent
SECTION = "## Research"
TARGET_S = 30.0


def _command(data: Path, tmp: Path, index: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "engine_alpha",
        "research",
        "--config-dir",
        str(REPO / "config"),
        "--reports-dir",
        str(tmp / f"reports-{index}"),
        "--data",
        str(data),
        "--propose-profiles",
        str(tmp / f"proposed-{index}.json"),
    ]


def _one_run(data: Path, tmp: Path, index: int) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        _command(data, tmp, index), capture_output=True, text=True, check=False, cwd=REPO
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return {
        "wall_s": wall,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "peak_rss_mb": after.ru_maxrss / 1024.0,
    }


def _phases(data: Path) -> tuple[int, dict[str, float]]:
    """Seconds spent collecting (CSV, validation, model) and analysing, over every asset."""
    from engine_alpha.config.config_loader import load_config
    from engine_alpha.research.analysis import ResearchSettings, analyse
    from engine_alpha.research.collect import collect_file

    config = load_config(REPO / "config")
    settings = ResearchSettings(execution=config.paper.execution)
    collect_s = analyse_s = 0.0
    bars = 0
    for symbol in config.profiler.assets:
        start = time.perf_counter()
        series = collect_file(data / f"{symbol}-1h.csv", symbol, config.timeframe_ms)
        middle = time.perf_counter()
        analyse(series, settings, 1e-8)
        collect_s += middle - start
        analyse_s += time.perf_counter() - middle
        bars += len(series.bars)
    return bars, {"collect_s": collect_s, "analyse_s": analyse_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "ohlcv"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    data = Path(args.data).resolve()
    with tempfile.TemporaryDirectory() as name:
        runs = [_one_run(data, Path(name), i) for i in range(args.runs)]
    bars, phases = _phases(data)
    best = min(r["wall_s"] for r in runs)
    rows = [
        f"| {i + 1} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_rss_mb']:.0f} |"
        for i, r in enumerate(runs)
    ]
    text = "\n".join(
        [
            SECTION,
            "",
            f"`python bench/research.py --data {args.data} --runs {args.runs}` runs",
            f"`python -m engine_alpha research --data {args.data} --propose-profiles FILE`",
            "(the same as `chloe research ...`) as a subprocess, each time with fresh reports.",
            "",
            f"{datetime.now(UTC):%Y-%m-%d}, Python {platform.python_version()}, "
            f"{os.cpu_count()} cores ({platform.machine()}), load average "
            f"{os.getloadavg()[0]:.1f} at the end (other jobs share the machine). "
            f"{bars:,} bars (12 assets), one process, one core: every bar read, validated and "
            "decided by `BreakoutModel.update`, then the edge tables and one simulated trade per "
            "signal, the JSON reports, the table and a proposed profile.",
            "",
            "| run | wall s | CPU s | peak RSS MB |",
            "|---|---|---|---|",
            *rows,
            "",
            f"Best wall **{best:.2f} s** (median {statistics.median(r['wall_s'] for r in runs):.2f}"
            f" s); target under {TARGET_S:.0f} s. In process: reading, validating and deciding "
            f"{phases['collect_s']:.2f} s ({bars / phases['collect_s']:,.0f} bars/s), edge tables "
            f", simulated trades and the block-bootstrap tests {phases['analyse_s']:.2f} s "
            "(numpy uses a second thread for the resampling sums, hence CPU above wall). "
            "Assets run one after the other: "
            "a process pool over two cores would save about half of this, not worth its cost.",
        ]
    )
    print(text)
    if args.write_docs:
        update_section(DOCS, SECTION, text.removeprefix(SECTION))
    return 0 if best < TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
