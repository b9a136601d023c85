"""The `chloe` command line: run the daemon, check the config, and the operator's tools."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from engine_alpha.cli import folders
from engine_alpha.core.exit_codes import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_REPORTS_DIR
from engine_alpha.daemon.early_signals import EarlySignals

if TYPE_CHECKING:
    from engine_alpha.notify.apprise_process import AppriseProcess


def _speed(value: str) -> float | None:
    if value == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--speed takes 'max' or a positive number, not {value!r}"
        ) from None
    if speed <= 0:
        raise argparse.ArgumentTypeError("--speed must be positive")
    return speed


def _version() -> str:
    """The installed package's version (pyproject.toml), or `unknown` when run from a bare tree."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chloe-engine-alpha")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="chloe", description="Chloe paper-trading daemon")
    parser.add_argument("--version", action="version", version=f"chloe {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon (feed.source, or --replay)")
    folders.add_dir_options(run)
    run.add_argument(
        "--replay", action="store_true", help="replay CSV bars whatever feed.source says"
    )
    run.add_argument("--data", help="replay data directory (overrides feed.data_dir)")
    run.add_argument("--speed", type=_speed, default=None, help="'max' (default) or N x real time")
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    run.add_argument(
        "--summary",
        choices=["auto", "always", "never"],
        default="auto",
        help="print the summary table on stderr (auto: when stderr is a terminal)",
    )
    run.set_defaults(handler=_cmd_run)

    config = sub.add_parser("config", help="check the config or write its JSON Schemas")
    folders.add_dir_options(config)
    config.add_argument("action", choices=["check", "schema"])
    config.set_defaults(handler=_cmd_config)

    journal = sub.add_parser("journal", help="check the trade journal")
    folders.add_dir_options(journal)
    journal.add_argument("action", choices=["verify"])
    journal.set_defaults(handler=_cmd_journal)

    fake = sub.add_parser(
        "fake-exchange",
        help="serve a Binance-compatible API from candle CSVs on 127.0.0.1 (for tests and demos)",
        add_help=False,
    )
    fake.set_defaults(handler=_cmd_fake_exchange)

    from engine_alpha.cli.research import register as register_research

    register_research(sub)

    from engine_alpha.cli.data import register as register_data

    register_data(sub)

    from engine_alpha.cli.models import register as register_models

    register_models(sub)

    from engine_alpha.cli.compare import register as register_compare

    register_compare(sub)

    from engine_alpha.cli.trades import register as register_trades

    register_trades(sub)

    from engine_alpha.cli.web import register as register_web

    register_web(sub)

    from engine_alpha.cli.notify import register as register_notify

    register_notify(sub)

    from engine_alpha.cli.operator import register as register_ops

    register_ops(sub)
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from engine_alpha.notify.secrets import source_given

    # Notifications on: apprise starts in its own process now, so its slow imports run on
    # another core beside the daemon's, not after them (engine_alpha/notify/apprise_process.py).
    apprise = None
    if source_given(folders.config_dir(args)):
        from engine_alpha.notify.apprise_process import AppriseProcess

        apprise = AppriseProcess()
    try:
        return _run(args, apprise)
    finally:
        if apprise is not None:
            apprise.close()


def _run(args: argparse.Namespace, apprise: AppriseProcess | None) -> int:
    from engine_alpha.cli.summary import ProgressBar, print_summary
    from engine_alpha.daemon.service import RunOptions, run_daemon
    from engine_alpha.ops.events import EVENTS_FILE
    from engine_alpha.ops.log_setup import configure_logging
    from engine_alpha.ops.reports_lock import ReportsDirError, claim_reports_dir

    reports_dir = folders.reports_dir(args)
    try:  # before anything is written there, the events file included
        hold = claim_reports_dir(reports_dir)
    except ReportsDirError as exc:
        print(f"chloe: {exc}", file=sys.stderr)
        return EXIT_REPORTS_DIR
    with hold:
        events = configure_logging(level=args.log_level, events_path=reports_dir / EVENTS_FILE)
        options = RunOptions(
            config_dir=folders.config_dir(args),
            reports_dir=reports_dir,
            replay=args.replay,
            data_dir=Path(args.data) if args.data else None,
            speed=args.speed,
        )
        with ProgressBar.for_tty() as progress:
            code, daemon = run_daemon(
                options,
                on_progress=progress.update,
                events=events,
                early=args.early_signals,
                apprise=apprise,
            )
    show = args.summary == "always" or (args.summary == "auto" and sys.stderr.isatty())
    if daemon is not None and show:
        print_summary(daemon)
    return code


def _cmd_config(args: argparse.Namespace) -> int:
    from engine_alpha.config.config_loader import ConfigError, load_config
    from engine_alpha.config.schema import write_schemas

    config_dir = folders.config_dir(args)
    if args.action == "schema":
        for path in write_schemas(config_dir):
            print(f"wrote {path}")
        return EXIT_OK
    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        print(f"chloe: config rejected:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"config ok: trading {', '.join(config.trading_symbols()) or 'nothing'}")
    return EXIT_OK


def _cmd_journal(args: argparse.Namespace) -> int:
    from engine_alpha.config.config_loader import ConfigError, load_config
    from engine_alpha.ops.journal_verify import check_reports

    config_dir = folders.config_dir(args)
    reports_dir = folders.reports_dir(args)
    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        print(f"chloe: config rejected:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    check = check_reports(reports_dir, config)
    print(check.render())
    return EXIT_OK if check.ok else EXIT_FAILED


def _cmd_fake_exchange(args: argparse.Namespace) -> int:
    from engine_alpha.testing import fake_binance

    return fake_binance.main(list(args.rest))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `chloe` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Before anything slow (imports, config, recovery): a stop or reload sent to a starting
    # daemon is kept and honoured, not fatal (engine_alpha/daemon/early_signals.py).
    early = EarlySignals().install() if argv[:1] == ["run"] else None
    if argv[:1] == ["fake-exchange"]:  # its own options are fake_binance's
        return _cmd_fake_exchange(argparse.Namespace(rest=argv[1:]))
    args = build_parser().parse_args(argv)
    args.early_signals = early
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
