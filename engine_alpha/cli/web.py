"""`chloe web [--host 127.0.0.1] [--port 8080]`: the read-only web view, a process of its own.

It reads the reports directory and serves the live HTML report and a JSON API (engine_alpha/web,
docs/operations.md "Web view"); the daemon serves nothing. Exit 0 on SIGTERM/SIGINT, 2 when it
cannot start as asked (bad config, a bind off loopback without a token, a bad token file, the
address taken).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from engine_alpha.cli import folders

_HELP = "serve the reports read-only: the live HTML report and a JSON API"


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add `chloe web`."""
    parser = subparsers.add_parser("web", help=_HELP, description=_HELP)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (8080)")
    parser.add_argument(
        "--token-file",
        type=Path,
        help="a mode-0600 file holding the token every request must present "
        "(else CHLOE_WEB_TOKEN); required off loopback",
    )
    parser.add_argument("--data", help="bar CSVs for the charts (default: feed.data_dir)")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning"))
    folders.add_dir_options(parser)
    parser.set_defaults(handler=run_command)
    return parser


def run_command(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT."""
    import structlog

    from engine_alpha.config.config_loader import ConfigError
    from engine_alpha.core.exit_codes import EXIT_CONFIG, EXIT_OK
    from engine_alpha.ops.log_setup import configure_logging
    from engine_alpha.web.auth import WebAuthError, check_bind, load_token
    from engine_alpha.web.server import make_server
    from engine_alpha.web.views import ReportsView

    configure_logging(level=args.log_level)
    log = structlog.get_logger("chloe.web")
    try:
        token = load_token(args.token_file)
        check_bind(args.host, token)
        view = ReportsView(
            folders.config_dir(args),
            folders.reports_dir(args),
            Path(args.data) if args.data else None,
        )
        server = make_server(args.host, args.port, view, token)
    except (ConfigError, WebAuthError) as exc:
        print(f"chloe web: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as exc:
        print(f"chloe web: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("web_stop_requested", signal=signal.Signals(signum).name)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = str(args.host), int(server.server_address[1])
    log.info(
        "web_serving",
        url=f"http://{host}:{port}/",
        reports_dir=str(view.reports_dir),
        token_required=token is not None,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    log.info("web_stopped")
    return EXIT_OK
