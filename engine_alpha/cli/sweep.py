"""`chloe research sweep`: a model's parameter grid scored walk-forward on every asset.

`register(research_subparsers)` adds it under `chloe research`; heavy imports wait for a run.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from engine_alpha.cli import folders
from engine_alpha.cli.arg_types import at_least

__all__ = ["register"]

_HELP = (
    "score every point of a model's parameter grid walk-forward on every asset: the best "
    "point's out-of-sample figures, the search's PBO and the best point's deflated Sharpe"
)


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add `sweep` to `chloe research`; its handler is `args.handler`."""
    parser = subparsers.add_parser("sweep", help=_HELP, description=_HELP)
    parser.add_argument("--model", required=True, metavar="NAME", help="the model to sweep")
    parser.add_argument(
        "--grid",
        required=True,
        metavar="FILE",
        help='JSON object of parameter -> list of values, e.g. {"channel_bars": [12, 24, 48]} '
        "(dotted names for nested parameters)",
    )
    parser.add_argument(
        "--walk-forward",
        type=at_least(1),
        default=4,
        metavar="N",
        help="walk-forward folds each point is scored on (4)",
    )
    parser.add_argument("--scheme", choices=("anchored", "rolling"), default="anchored")
    parser.add_argument("--data", help="bar CSV directory (default: feed.data_dir of the config)")
    parser.add_argument("--assets", nargs="+", metavar="SYMBOL", help="default: every profile")
    parser.add_argument("--horizon", type=at_least(1), default=4, help="forward-return horizon (4)")
    parser.add_argument(
        "--min-samples",
        type=at_least(1),
        default=30,
        help="smallest group that can be chosen, and the fewest pooled samples a best point has",
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run on this Dask distributed cluster (extra 'cluster'); default: local processes",
    )
    parser.add_argument(
        "--workers",
        type=at_least(1),
        default=None,
        help="local processes (default: every core)",
    )
    parser.add_argument(
        "--id", dest="sweep_id", help="name of the sweep's folder (default: the UTC time)"
    )
    folders.add_dir_options(parser)
    parser.add_argument(
        "--propose-profiles",
        metavar="FILE",
        help="research the best point on every asset and write a proposed profiler file here",
    )
    parser.add_argument(
        "--write-profiles",
        action="store_true",
        help="replace the config's profiler file with that proposal (validated first)",
    )
    parser.set_defaults(handler=run_command)
    return parser


def run_command(args: argparse.Namespace) -> int:
    """The `research sweep` handler: 0 done, 1 nothing could be swept, 2 bad input."""
    from engine_alpha.cli.sweep_command import SweepCommand

    return SweepCommand(
        config_dir=folders.config_dir(args),
        reports_dir=folders.reports_dir(args),
        model=args.model,
        grid_path=Path(args.grid),
        walk_forward=args.walk_forward,
        fold_scheme=args.scheme,
        data_dir=Path(args.data) if args.data else None,
        assets=args.assets,
        horizon_bars=args.horizon,
        min_samples=args.min_samples,
        scheduler=args.scheduler,
        workers=args.workers,
        sweep_id=args.sweep_id,
        propose_path=Path(args.propose_profiles) if args.propose_profiles else None,
        write_profiles=args.write_profiles,
        now=lambda: datetime.now(UTC),
    ).run()
