"""Where the notifications' overhead is: the daemon's own CPU time beside its wall time.

The full-data replay, every variant once a round in a random order: off; notify-quiet and
notify (as in operator_overhead.py); burn, the plain replay with a CPU-bound process of
`--burn-s` seconds started beside it (what apprise's imports in their own process could cost
by competing for the cores). Each run reports the daemon process's own CPU time (its
children's not counted) from an exit hook; the table gives medians over rounds of each run
against the same round's plain run.

    python bench/operator_inside.py --data ../shared/data/ohlcv --rounds 12
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

from operator_overhead import NOTIFIED, _Receiver, variant_configs
from replay import REPO, _command, precompile

VARIANTS = ("off", "notify-quiet", "notify", "burn")
_HOOKED = (
    "import atexit, resource, sys, time\n"
    "start = time.perf_counter()\n"
    "def report():\n"
    "    r = resource.getrusage(resource.RUSAGE_SELF)\n"
    "    sys.stderr.write(f'SELF {r.ru_utime + r.ru_stime:.4f}\\n')\n"
    "atexit.register(report)\n"
    "from engine_alpha.cli.app import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
_BURN = (
    "import sys, time\n"
    "t = time.process_time()\n"
    "while time.process_time() - t < float(sys.argv[1]):\n"
    "    pass\n"
)


def _run(
    variant: str, config: Path, reports: Path, data: Path, *, url: str, burn_s: float
) -> tuple[float, float]:
    """Wall seconds of the run and the daemon's own CPU seconds."""
    env = {k: v for k, v in os.environ.items() if k != "CHLOE_NOTIFY_URLS"}
    if variant in NOTIFIED:
        env["CHLOE_NOTIFY_URLS"] = url
    os.sync()
    command = [sys.executable, "-c", _HOOKED, *_command(config, reports, data)[3:]]
    start = time.perf_counter()
    burner = (
        subprocess.Popen([sys.executable, "-c", _BURN, str(burn_s)]) if variant == "burn" else None
    )
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    wall = time.perf_counter() - start
    if burner is not None:
        burner.wait()
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    own = [line for line in proc.stderr.splitlines() if line.startswith("SELF ")][-1]
    return wall, float(own.split()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "ohlcv"
    parser.add_argument("--data", default=str(default))
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--burn-s", type=float, default=0.45)
    args = parser.parse_args()
    precompile()
    data = Path(args.data).resolve()
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    url = f"json://127.0.0.1:{receiver.server_address[1]}/hook"
    runs: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        configs = variant_configs(tmp, VARIANTS)
        for r in range(args.rounds):
            order = list(VARIANTS)
            rng.shuffle(order)
            for variant in order:
                reports = tmp / variant / f"reports-{r}"
                runs[variant].append(
                    _run(variant, configs[variant], reports, data, url=url, burn_s=args.burn_s)
                )
                shutil.rmtree(reports)
    receiver.shutdown()
    print(
        f"`python bench/operator_inside.py --data {args.data} --rounds {args.rounds} "
        f"--burn-s {args.burn_s}`"
    )
    print("\n| variant | median wall s | wall vs off | daemon CPU s | daemon CPU vs off |")
    print("|---|---|---|---|---|")
    off = runs["off"]
    for variant in VARIANTS:
        mine = runs[variant]
        wall = statistics.median(w / o[0] - 1 for (w, _), o in zip(mine, off, strict=True))
        cpu = statistics.median(c - o[1] for (_, c), o in zip(mine, off, strict=True))
        print(
            f"| {variant} | {statistics.median(w for w, _ in mine):.2f} | {wall * 100:+.1f}% | "
            f"{statistics.median(c for _, c in mine):.2f} | {cpu:+.3f} s |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
