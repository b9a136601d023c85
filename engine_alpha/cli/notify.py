"""`chloe notify test`: send one message to every configured apprise target and say, per
target, whether it arrived: the operator's check of a new Telegram (or other) setup before a
restart. Exit 0 when every target took it, 1 when one did not, 2 when the URLs (one apprise
cannot use among them) or the config cannot be used. Targets are named by scheme and place
(`tgram#1`), never by URL."""

from __future__ import annotations

import argparse
import socket
import sys

from engine_alpha.cli import folders

__all__ = ["register"]

_HELP = "send a test message to the configured notification targets"


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add `notify test` to the `chloe` subcommands."""
    parser = subparsers.add_parser("notify", help=_HELP, description=_HELP)
    parser.add_argument("action", choices=("test",), help="test: send one message")
    folders.add_dir_options(parser)
    parser.set_defaults(handler=run_command)
    return parser


def run_command(args: argparse.Namespace) -> int:
    """Send the test message through the daemon's own delivery, without pacing or retries."""
    import structlog

    from engine_alpha.config.config_loader import ConfigError, load_config
    from engine_alpha.core.exit_codes import EXIT_CONFIG, EXIT_FAILED, EXIT_OK
    from engine_alpha.notify.delivery import LOAD_TIMEOUT_S, Delivery
    from engine_alpha.notify.messages import Message
    from engine_alpha.notify.secrets import load_targets
    from engine_alpha.ops.log_setup import configure_logging

    configure_logging(level="warning")
    config_dir = folders.config_dir(args)
    try:
        config = load_config(config_dir)
        targets, origin = load_targets(config_dir)
        if not targets:
            print(
                "chloe notify: no notification URLs: set CHLOE_NOTIFY_URLS or write "
                f"{config_dir / 'notify.json'} (mode 0600); see docs/operations.md",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        settings = config.paper.notifications
        failed = unusable = 0
        for target in targets:
            delivery = Delivery(
                [target],
                origin=origin,
                queue_size=1,
                timeout_s=settings.timeout_s,
                retries=0,
                min_interval_s=0.0,
                log=structlog.get_logger("chloe.notify"),
            )
            delivery.start()
            delivery.offer(
                Message(
                    "test",
                    "Chloe test message",
                    f"chloe notify test from {socket.gethostname()}: this target works "
                    f"({target.name}, from {origin})",
                )
            )
            counts = delivery.close(LOAD_TIMEOUT_S + settings.timeout_s * 2 + 1)
            if delivery.unusable:
                unusable += 1
                print(f"{target.name}: NOT an apprise URL this installation can use")
                continue
            ok = counts.sent == 1
            failed += not ok
            print(f"{target.name}: {'sent' if ok else 'NOT sent (see the warning above)'}")
    except ConfigError as exc:
        print(f"chloe notify: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return EXIT_CONFIG if unusable else EXIT_FAILED if failed else EXIT_OK
