"""Operator features' overhead: the full-data replay with notifications, the web view, and all
three operator features (with metrics) on, against all off; every variant once a round, in a
random order.

- notify: apprise URL (`CHLOE_NOTIFY_URLS`) to a loopback `json://` receiver in this process,
  the paper config's default delivery settings (256-message queue, one send a second): what an
  operator who replays with notifications on gets.
- notify-quiet: the same with the events that work at every commit turned off (position
  closed, daily summary, gate met and lost): what apprise's process and the delivery cost alone.
- web: `chloe web` on the same reports directory and bar files, with a client that opens the
  page before the run starts, then polls `/api/version` every 2 s and fetches the page when it
  changed, as an open browser does.
- all: both, and the Prometheus endpoint on.
- off-again: a second plain run in each round, measured against the first like the others:
  what the method reads when nothing is added (this machine's noise).

The journals of every variant must equal the plain run's apart from `wall_ts`.
`--variants off,off-again,notify,all` runs only those: a round of four runs is over sooner than
one of six, so the runs it compares are closer in time and this machine's slow spells, which
last minutes, cancel better.
`--minutes M` starts no round after M minutes, for a run as long as the machine can spare: the
report names the rounds that ran (`--rounds` then caps them); each round's walls go to stderr.
`--write-docs` records the result in the `## Operator features overhead` section of
docs/benchmarks.md.

    python bench/operator_overhead.py --data ../shared/data/ohlcv --rounds 3 --write-docs
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from bench_docs import DOCS, machine, update_section
from metrics_overhead import _free_port, _journal
from replay import REPO, _config, _one_run, precompile

SECTION = "## Operator features overhead"
VARIANTS = ("off", "off-again", "notify", "notify-quiet", "web", "all")
PER_COMMIT_EVENTS = ("position_closed", "daily_summary", "gate_met", "gate_lost")
NOTIFIED = ("notify", "notify-quiet", "all")
BOOTSTRAP = 10_000
_MEANING = {
    "off-again": "off-again: a second plain run, whose figure is the method's noise;",
    "notify": "notify: apprise to a loopback json:// receiver, default delivery settings;",
    "notify-quiet": "notify-quiet: the same with position closed, daily summary, gate met and "
    "gate lost off;",
    "web": "web: `chloe web` on the same reports, the page opened before the run, then a "
    "client polling every 2 s and fetching the page on change;",
    "all": "all: notify, web and the metrics endpoint;",
}
"""What each variant but `off` is, as the report says it."""


class _Receiver(BaseHTTPRequestHandler):
    count = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _Receiver.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _configure(config: Path, metrics: bool, quiet: bool = False) -> None:
    paper = config / "multi_asset_paper_config.json"
    data = json.loads(paper.read_text())
    data["metrics"] = {"enabled": metrics, "port": _free_port()}
    if quiet:
        data.setdefault("notifications", {})["events"] = dict.fromkeys(PER_COMMIT_EVENTS, False)
    paper.write_text(json.dumps(data, indent=2))


def variant_configs(tmp: Path, variants: Sequence[str]) -> dict[str, Path]:
    """A config directory under `tmp` for each variant: metrics on for `all`, the per-commit
    events off for `notify-quiet`."""
    configs = {}
    for variant in variants:
        (tmp / variant).mkdir()
        configs[variant] = _config(tmp / variant)
        _configure(configs[variant], metrics=variant == "all", quiet=variant == "notify-quiet")
    return configs


@contextmanager
def _web(config: Path, reports: Path, data: Path) -> Iterator[dict[str, int]]:
    """`chloe web` on `reports` and a polling client; yields the client's counts."""
    cmd = [sys.executable, "-m", "engine_alpha", "web", "--port", "0", "--data", str(data)]
    cmd += ["--config-dir", str(config), "--reports-dir", str(reports)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    url = ""
    for raw in proc.stdout:
        if b'"web_serving"' in raw:
            url = json.loads(raw)["url"]
            break
    counts = {"polls": 0, "pages": 0}
    stop = threading.Event()

    def version_now() -> str:
        with urllib.request.urlopen(url + "api/version", timeout=60) as r:
            return str(json.loads(r.read())["version"])

    # The page is opened before the run starts, as an operator's browser is: its first build
    # (reading the bar files, every model's run over them) is done by then.
    with urllib.request.urlopen(url, timeout=120) as r:
        r.read()
    counts["pages"] += 1
    opened = version_now()

    def poll() -> None:
        version = opened
        while not stop.wait(2.0):
            now = version_now()
            counts["polls"] += 1
            if now != version:
                with urllib.request.urlopen(url, timeout=60) as r:
                    r.read()
                counts["pages"] += 1
                version = now

    client = threading.Thread(target=poll, daemon=True)
    client.start()
    try:
        yield counts
    finally:
        stop.set()
        client.join(timeout=60)
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()


def _paired(values: list[float], off: list[float]) -> tuple[float, float, float]:
    """The median over rounds of a variant's run against the same round's plain run (slow
    swings in the machine's load cancel within a round), with a 95% percentile bootstrap
    interval over rounds: how far the median could be from the overhead itself."""
    ratios = np.array([v / o for v, o in zip(values, off, strict=True)]) - 1
    picks = np.random.default_rng(0).integers(0, len(ratios), (BOOTSTRAP, len(ratios)))
    medians = np.median(ratios[picks], axis=1)
    lo, hi = np.percentile(medians, [2.5, 97.5])
    return float(np.median(ratios)), float(lo), float(hi)


def _shown(values: list[float], off: list[float]) -> str:
    mid, lo, hi = _paired(values, off)
    return f"{mid * 100:+.1f}% ({lo * 100:+.1f}..{hi * 100:+.1f})"


def _report(
    args: argparse.Namespace,
    walls: dict[str, list[float]],
    cpus: dict[str, list[float]],
    web_counts: list[dict[str, int]],
    same: bool,
) -> str:
    m = machine()
    rows = []
    for v, runs in walls.items():
        rows.append(
            f"| {v} | {', '.join(f'{w:.2f}' for w in runs)} | "
            f"{statistics.median(runs):.2f} | {_shown(runs, walls['off'])} | "
            f"{min(runs):.2f} | {(min(runs) / min(walls['off']) - 1) * 100:+.1f}% | "
            f"{statistics.median(cpus[v]):.2f} | {_shown(cpus[v], cpus['off'])} |"
        )
    polls = [c["polls"] for c in web_counts]
    pages = [c["pages"] for c in web_counts]
    return "\n".join(
        [
            f"`python bench/operator_overhead.py --data {args.data} --rounds {len(walls['off'])}"
            + (f" --variants {args.variants}" if args.variants != ",".join(VARIANTS) else "")
            + "` "
            f"({m['date']}, {m['nproc']} cores, {m['cpu']}, Python {m['python']}, load "
            f"{m['load']} at the end): the full-data replay (every tradeable asset enabled); "
            "each round runs every variant once, in a random order (seeded), each run after "
            "`sync`. "
            + " ".join(_MEANING[v] for v in walls if v in _MEANING)
            + " vs off: the median over rounds of the run "
            "against the same round's plain run, in brackets its 95% bootstrap interval over "
            "rounds; fastest: each variant's fastest run against the fastest plain run (the "
            "machine's noise only ever slows a run). CPU: the daemon's and its apprise "
            "child's (not the web view's, another process).",
            "",
            "| variant | runs, wall s | median wall s | vs off | fastest wall s | vs off "
            "| median CPU s | vs off |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Messages the receiver got, all runs: {_Receiver.count}"
            + (
                f"; the web client polled {min(polls)}-{max(polls)} times a run and fetched "
                f"the page {min(pages)}-{max(pages)} times"
                if web_counts
                else ""
            )
            + f". Journals of every run identical apart from `wall_ts`: {'yes' if same else 'NO'}.",
        ]
    )


def _run_variant(
    variant: str, config: Path, reports: Path, data: Path, notify_url: str
) -> tuple[dict[str, float], dict[str, int] | None]:
    """One run of `variant` into `reports` (after `sync`: the last run's writes go out first);
    the web client's counts when the web view was on."""
    os.environ.pop("CHLOE_NOTIFY_URLS", None)
    if variant in NOTIFIED:
        os.environ["CHLOE_NOTIFY_URLS"] = notify_url
    os.sync()
    index = int(reports.name.rpartition("-")[2])
    try:
        if variant in ("web", "all"):
            reports.mkdir()
            with _web(config, reports, data) as counts:
                run = _one_run(config, data, reports.parent, index)
            return run, dict(counts)
        return _one_run(config, data, reports.parent, index), None
    finally:
        os.environ.pop("CHLOE_NOTIFY_URLS", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "ohlcv"
    parser.add_argument("--data", default=str(default))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="start no round after this many minutes (the rounds run are reported); each "
        "round's walls go to stderr as it ends",
    )
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="comma-separated, `off` first: fewer variants make shorter rounds, whose runs "
        "are closer in time (default: all)",
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    precompile()
    variants = args.variants.split(",")
    if variants[0] != "off" or not set(variants) <= set(VARIANTS):
        parser.error(f"--variants: `off` first, then any of {', '.join(VARIANTS[1:])}")
    data = Path(args.data).resolve()
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    notify_url = f"json://127.0.0.1:{receiver.server_address[1]}/hook"
    walls: dict[str, list[float]] = {v: [] for v in variants}
    cpus: dict[str, list[float]] = {v: [] for v in variants}
    web_counts: list[dict[str, int]] = []
    same = True
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        configs = variant_configs(tmp, variants)
        reference: list[dict[str, object]] | None = None
        index = 0
        rng = random.Random(0)
        deadline = None if args.minutes is None else time.monotonic() + 60 * args.minutes
        for done in range(args.rounds):
            if deadline is not None and time.monotonic() >= deadline:
                break  # the report names the rounds that ran
            order = list(variants)
            rng.shuffle(order)  # no variant always follows another (a run can slow the next)
            for variant in order:
                reports = tmp / variant / f"reports-{index}"
                run, counts = _run_variant(variant, configs[variant], reports, data, notify_url)
                if counts is not None:
                    web_counts.append(counts)
                walls[variant].append(run["wall_s"])
                cpus[variant].append(run["cpu_s"])
                journal = _journal(reports)
                reference = reference or journal
                same = same and journal == reference
                shutil.rmtree(reports)
                index += 1
            walls_now = " ".join(f"{v} {walls[v][-1]:.2f}" for v in variants)
            print(f"round {done + 1}: {walls_now}", file=sys.stderr, flush=True)
    receiver.shutdown()
    text = _report(args, walls, cpus, web_counts, same)
    print(text)
    if args.write_docs:
        update_section(DOCS, SECTION, text)
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
