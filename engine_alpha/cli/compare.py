"""`chloe compare --reports A --reports B [--data DA --data DB] [--json]`: two runs' fills side
by side (for example a live paper run and a replay of the same period), every difference with
its cause where it can be told (`ops/compare.py`). Exit 0 when they are the same, 1 when they
differ, 2 when a run cannot be read."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from engine_alpha.core.exit_codes import EXIT_CONFIG, EXIT_FAILED, EXIT_OK

__all__ = ["register"]

_HELP = "compare two runs' fills (e.g. live paper against a replay) and explain each difference"


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add `compare` to the `chloe` subcommands; its handler is `args.handler`."""
    parser = subparsers.add_parser("compare", help=_HELP, description=_HELP)
    parser.add_argument(
        "--reports", action="append", required=True, metavar="DIR", help="a run (give two)"
    )
    parser.add_argument(
        "--data",
        action="append",
        metavar="DIR",
        help="the bar files each run ran on, in the --reports order (give none or two): "
        "differences are then traced to the bar that differs",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(handler=run_command)
    return parser


def run_command(args: argparse.Namespace) -> int:
    """Compare, print, and exit 0 (same), 1 (different) or 2 (bad input)."""
    from engine_alpha.config.models import timeframe_ms
    from engine_alpha.ops.compare import CompareError, RunFiles, compare_runs

    reports = [Path(p) for p in args.reports]
    data = [Path(p) for p in args.data or []]
    if len(reports) != 2 or len(data) not in (0, 2):
        print(
            "chloe compare: give --reports twice, and --data twice or not at all", file=sys.stderr
        )
        return EXIT_CONFIG
    runs = [RunFiles(r, data[i] if data else None) for i, r in enumerate(reports)]
    try:
        tf = _timeframe(reports)
        result = compare_runs(runs[0], runs[1], timeframe_ms(tf))
    except (CompareError, ValueError) as exc:
        print(f"chloe compare: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.json:
        doc = {
            "a": str(reports[0]),
            "b": str(reports[1]),
            "fills_a": result.fills_a,
            "fills_b": result.fills_b,
            "matched": result.matched,
            "same": result.same,
            "config_differences": result.config_differences,
            "differences": [d.to_json() for d in result.differences],
        }
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(
            f"A {reports[0]}: {result.fills_a} fills; B {reports[1]}: {result.fills_b} fills; "
            f"{result.matched} the same"
        )
        if result.config_differences:
            print("config differs: " + ", ".join(result.config_differences))
        for d in result.differences:
            what = {"only_in_a": "only in A", "only_in_b": "only in B", "differs": "differs"}
            fields = "; ".join(f"{k} {a!r} vs {b!r}" for k, (a, b) in d.fields.items())
            print(f"{d.fill_id} {what[d.kind]}{': ' + fields if fields else ''}")
            print(f"    cause: {d.cause}")
        print("no difference" if result.same else f"{len(result.differences)} differences")
    return EXIT_OK if result.same else EXIT_FAILED


def _timeframe(reports: list[Path]) -> str:
    """The runs' timeframe, from their first journal line (1h for an empty journal)."""
    for folder in reports:
        try:
            with (folder / "trades.jsonl").open("rb") as f:
                first = f.readline()
        except OSError:
            continue
        if first.strip():
            return str(orjson.loads(first).get("timeframe", "1h"))
    return "1h"
