"""`chloe research`: `register(subparsers)` adds it to `chloe`; heavy imports wait for a run."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine_alpha.cli import folders, sweep
from engine_alpha.cli.arg_types import at_least, level

__all__ = ["build_parser", "main", "register"]

_HELP = "measure edge per regime|bucket cell from bars, in and out of sample"


def _split(text: str) -> Any:
    from engine_alpha.research.split import parse_split

    try:
        return parse_split(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _ModelAction(argparse.Action):
    """`--model NAME`: start a new model choice (raw; checked when the command runs)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        models: list[dict[str, Any]] = list(getattr(namespace, self.dest) or [])
        models.append({"name": str(values), "params": {}})
        setattr(namespace, self.dest, models)


class _ParamAction(argparse.Action):
    """`--param KEY=VALUE`: a parameter of the `--model` before it (dotted KEY for nested ones,
    VALUE as JSON when it parses, else as text)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        models = getattr(namespace, "models", None)
        if not models:
            parser.error("--param needs a --model before it")
        key, sep, text = str(values).partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            parser.error(f"--param {values!r}: expected KEY=VALUE (KEY may be dotted: regime.x)")
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        target = models[-1]["params"]
        *parents, leaf = key.split(".")
        for part in parents:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                parser.error(f"--param {values!r}: {part} is already set to a value")
            target = nested
        target[leaf] = value


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add `research` to the `chloe` subcommands; its handler is `args.handler`."""
    parser = subparsers.add_parser("research", help=_HELP, description=_HELP)
    parser.add_argument("--data", help="bar CSV directory (default: feed.data_dir of the config)")
    parser.add_argument(
        "--horizon", type=at_least(1), default=4, help="forward-return horizon in bars (4)"
    )
    parser.add_argument(
        "--split",
        type=_split,
        default=None,
        help="out of sample from this UTC date (2023-01-01) or fraction of each span (2/3)",
    )
    parser.add_argument("--assets", nargs="+", metavar="SYMBOL", help="default: every profile")
    parser.add_argument(
        "--model",
        dest="models",
        action=_ModelAction,
        metavar="NAME",
        help="research this signal model (chloe models) on every asset instead of each "
        "profile's own; give it twice or more to put models side by side",
    )
    parser.add_argument(
        "--param",
        action=_ParamAction,
        metavar="KEY=VALUE",
        help="a parameter of the --model before it (KEY dotted for nested ones, VALUE as JSON)",
    )
    parser.add_argument(
        "--min-samples",
        type=at_least(1),
        default=30,
        help="smallest group that can be chosen as best regime, bucket or cell (30)",
    )
    parser.add_argument(
        "--walk-forward",
        type=at_least(0),
        default=0,
        metavar="N",
        help="also choose and measure in N walk-forward folds; a tier then needs the edge to "
        "hold across them (0: the single split only)",
    )
    parser.add_argument(
        "--scheme",
        choices=("anchored", "rolling"),
        default="anchored",
        help="walk-forward train windows: from the start (anchored) or one segment (rolling)",
    )
    parser.add_argument(
        "--replicates",
        type=at_least(1),
        default=1000,
        help="block-bootstrap replicates for intervals and the snooping tests (1000)",
    )
    parser.add_argument("--seed", type=at_least(0), default=0, help="bootstrap seed (0)")
    parser.add_argument(
        "--alpha",
        type=level,
        default=0.05,
        help="level of the q-values and the snooping tests: a cell is an edge at q <= alpha",
    )
    folders.add_dir_options(parser)
    parser.add_argument(
        "--propose-profiles", metavar="FILE", help="write a proposed profiler file here"
    )
    parser.add_argument(
        "--write-profiles",
        action="store_true",
        help="replace the config's profiler file with the proposal (after validating both files)",
    )
    parser.add_argument("--cells", action="store_true", help="also print each asset's cells")
    parser.set_defaults(handler=run_command)
    sweep.register(parser.add_subparsers(dest="research_command", metavar="sweep"))
    return parser


def build_parser() -> argparse.ArgumentParser:
    """A parser with only `research`, for `python -m engine_alpha research`."""
    parser = argparse.ArgumentParser(prog="chloe")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `research` from the arguments after the program name."""
    args = build_parser().parse_args(["research", *(sys.argv[1:] if argv is None else argv)])
    handler: Callable[[argparse.Namespace], int] = args.handler  # research, or its sweep
    return handler(args)


def run_command(args: argparse.Namespace) -> int:
    """The `research` handler: exit 0 on success, 2 on a config or profile problem."""
    from engine_alpha.cli.research_command import ResearchCommand

    command = ResearchCommand(
        config_dir=folders.config_dir(args),
        reports_dir=folders.reports_dir(args),
        data_dir=Path(args.data) if args.data else None,
        horizon_bars=args.horizon,
        split=args.split,
        assets=args.assets,
        models=args.models or [],
        min_samples=args.min_samples,
        walk_forward=args.walk_forward,
        fold_scheme=args.scheme,
        replicates=args.replicates,
        seed=args.seed,
        alpha=args.alpha,
        propose_path=Path(args.propose_profiles) if args.propose_profiles else None,
        write_profiles=args.write_profiles,
        show_cells=args.cells,
        now=lambda: datetime.now(UTC),
    )
    return command.run()
