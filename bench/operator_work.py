"""The work notifications add to the full-data replay, counted in instructions (valgrind's
callgrind), which the host's load cannot move: wall time on a shared virtual machine spreads by
10-30% a run, instruction counts repeat to a few in ten thousand.

Runs the plain replay and the replay with notifications (apprise to a loopback `json://`
receiver, default events) side by side, each under `valgrind --tool=callgrind
--separate-threads=yes --trace-children=yes`, and reports the instructions of the daemon's main
thread (the event loop: bars, fills, commits), of its other threads (the sender, the gate
readings), and of apprise's child process (on another core). Under valgrind a run lasts
minutes, so the settings paced by the clock (`min_interval_s` between sends, and
`gate_check_interval_s`) are multiplied by `--slowdown` to keep the number of sends and
readings that of a run at full speed (the receiver's count is reported). Needs valgrind
(Debian package `valgrind`); about five minutes on two cores.

    python bench/operator_work.py --data ../shared/data/ohlcv --write-docs
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from bench_docs import DOCS, machine, update_section
from metrics_overhead import _journal
from operator_overhead import _Receiver
from replay import REPO, _command, _config, precompile

SECTION = "## Operator features: instructions"
_SUMMARY = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)


def _instructions(out: Path) -> int:
    """The instructions one callgrind output file counted."""
    found = _SUMMARY.search(out.read_text(errors="replace"))
    if found is None:
        raise SystemExit(f"no instruction count in {out}")
    return int(found.group(1))


def _counts(folder: Path, daemon_pid: int) -> dict[str, int]:
    """The daemon's main thread, its other threads, and every other process (apprise's child)."""
    counts = {"main": 0, "threads": 0, "children": 0}
    for out in folder.glob("cg.*"):
        pid, _, thread = out.name.removeprefix("cg.").partition("-")
        if not thread:  # callgrind's empty per-process file beside the per-thread ones
            continue
        if int(pid) != daemon_pid:
            counts["children"] += _instructions(out)
        else:
            counts["main" if int(thread) == 1 else "threads"] += _instructions(out)
    return counts


def _slowed(config: Path, slowdown: float) -> None:
    paper = config / "multi_asset_paper_config.json"
    data = json.loads(paper.read_text())
    notifications = data.setdefault("notifications", {})
    notifications["min_interval_s"] = 1.0 * slowdown  # the defaults, at valgrind's pace
    notifications["gate_check_interval_s"] = 60.0 * slowdown
    paper.write_text(json.dumps(data, indent=2))


def _start(
    variant: str, tmp: Path, data: Path, notify_url: str, slowdown: float
) -> tuple[subprocess.Popen[bytes], Path, Path]:
    (tmp / variant).mkdir()
    config = _config(tmp / variant)
    _slowed(config, slowdown)
    reports, out = tmp / variant / "reports", tmp / variant / "callgrind"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CHLOE_NOTIFY_URLS"}
    if variant == "notify":
        env["CHLOE_NOTIFY_URLS"] = notify_url
    cmd = ["valgrind", "--tool=callgrind", "--separate-threads=yes", "--trace-children=yes"]
    cmd += [f"--callgrind-out-file={out}/cg.%p", *_command(config, reports, data)]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return proc, reports, out


def _report(args: argparse.Namespace, counts: dict[str, dict[str, int]], sends: int) -> str:
    m = machine()
    off, on = counts["off"], counts["notify"]

    def row(name: str, key: str) -> str:
        added = on[key] - off[key]
        share = f"{added / off['main'] * 100:+.2f}%"
        figures = f"{off[key] / 1e9:.3f} | {on[key] / 1e9:.3f} | {added / 1e6:+.0f}"
        return f"| {name} | {figures} | {share} |"

    daemon_off = off["main"] + off["threads"]
    daemon_on = on["main"] + on["threads"]
    return "\n".join(
        [
            f"`python bench/operator_work.py --data {args.data} --slowdown {args.slowdown:g}` "
            f"({m['date']}, {m['nproc']} cores, {m['cpu']}, Python {m['python']}): the "
            "full-data replay (every tradeable asset enabled), plain and with notifications "
            "to a loopback json:// receiver, under callgrind; the clock-paced settings "
            f"multiplied by {args.slowdown:g} (sends the receiver got: {sends}). "
            "Instructions in billions; added: notify minus off, in millions, and as a share "
            "of the plain run's main thread (what a bar waits for).",
            "",
            "| part | off | notify | added (M) | of off's main thread |",
            "|---|---|---|---|---|",
            row("daemon, main thread", "main"),
            row("daemon, other threads", "threads"),
            row("apprise's child (another core)", "children"),
            "",
            f"The daemon's own work grows by {(daemon_on / daemon_off - 1) * 100:+.2f}% "
            f"({daemon_off / 1e9:.3f} to {daemon_on / 1e9:.3f} billion instructions).",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "ohlcv"
    parser.add_argument("--data", default=str(default))
    parser.add_argument(
        "--slowdown",
        type=float,
        default=60.0,
        help="how many times slower a run is under callgrind (clock-paced settings x this)",
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    precompile()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian package `valgrind`)")
    data = Path(args.data).resolve()
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    notify_url = f"json://127.0.0.1:{receiver.server_address[1]}/hook"
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        runs = {v: _start(v, tmp, data, notify_url, args.slowdown) for v in ("off", "notify")}
        counts = {}
        for variant, (proc, _, out) in runs.items():
            if proc.wait() != 0:
                raise SystemExit(f"{variant}: the replay failed ({proc.returncode})")
            counts[variant] = _counts(out, proc.pid)
        same = _journal(runs["off"][1]) == _journal(runs["notify"][1])
    receiver.shutdown()
    text = _report(args, counts, _Receiver.count)
    text += (
        f"\n\nJournals of the two runs identical apart from `wall_ts`: {'yes' if same else 'NO'}."
    )
    print(text)
    if args.write_docs:
        update_section(DOCS, SECTION, text)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
