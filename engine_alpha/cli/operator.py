"""The operator's subcommands: status, panel, enable, disable, risk, report, ack (docs/rollout.md).

`register(sub)` adds them to `chloe`'s subparsers; the handlers (`operator_commands.py`) are
imported only when one runs, so `chloe run` starts as fast as before.
Exit codes (`core/exit_codes.py`): 0 done, 1 refused (gate, tier 3), 2 config rejected,
3 journal damaged.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from engine_alpha.cli import folders

__all__ = ["main", "register"]

Handler = Callable[[argparse.Namespace], int]

_HELP = {
    "status": "the multi-asset panel and rollout progress",
    "panel": "the panel, live: refreshes as fills arrive",
    "enable": "enable an asset in the paper config (gated)",
    "disable": "disable an asset in the paper config",
    "risk": "the risk engine's figures",
    "report": "write the self-contained HTML report",
    "ack": "acknowledge the recorded error events: earlier ones stop blocking the gates",
}


def _lazy(name: str) -> Handler:
    def run(args: argparse.Namespace) -> int:
        from engine_alpha.cli.operator_commands import run_command

        return run_command(name, args)

    return run


def _add_dirs(parser: argparse.ArgumentParser) -> None:
    folders.add_dir_options(parser)
    parser.add_argument(
        "--data", help="bar CSVs for the sizing volatility multiplier (default: feed.data_dir)"
    )


def register(sub: Any) -> None:
    """Add status, panel, enable, disable, risk, report and ack to `chloe`'s subparsers."""
    for name, help_text in _HELP.items():
        parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
        _add_dirs(parser)
        parser.set_defaults(handler=_lazy(name))
        if name in ("status", "risk"):
            parser.add_argument("--json", action="store_true", help="print JSON")
        elif name in ("enable", "disable"):
            parser.add_argument("symbol", help="e.g. BTCUSDT")
        if name == "enable":
            parser.add_argument("--mode", choices=["paper", "observation"])
            parser.add_argument("--force", action="store_true", help="override an unmet gate")
        elif name == "ack":
            parser.add_argument("symbol", nargs="?", help="only this asset's (default: all)")
            parser.add_argument("--note", help="why (kept with the record)")
        elif name == "report":
            parser.add_argument("--html", required=True, metavar="PATH", help="output file")
        elif name == "panel":
            parser.add_argument("--interval", type=float, default=1.0, help="poll seconds")
            parser.add_argument("--polls", type=int, default=None, help=argparse.SUPPRESS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one of these subcommands alone (`python -m engine_alpha.cli.operator status`)."""
    parser = argparse.ArgumentParser(prog="chloe")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
