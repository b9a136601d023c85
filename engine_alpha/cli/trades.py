"""`chloe trades`: the journal's round trips, each with its signal, and the figures a trader
studies them by, per asset and for the portfolio (`ledger/round_trips.py`, docs/trades.md)."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from engine_alpha.cli import folders
from engine_alpha.core.formatting import parse_utc_time

__all__ = ["CSV_COLUMNS", "register"]

_HELP = "the round trips of the journal with their signal, and win rate, PF, Sharpe, MAE/MFE"

# name -> the dtype a reader should give it (docs/trades.md)
CSV_COLUMNS = {
    "symbol": "str",
    "trade_id": "str",
    "direction": "str",
    "mode": "str",
    "entry_time": "datetime (UTC, ISO 8601)",
    "exit_time": "datetime (UTC, ISO 8601)",
    "entry_price": "float",
    "exit_price": "float",
    "qty": "float",
    "exit_reason": "str",
    "holding_hours": "float",
    "pnl_usd": "float",
    "pnl_bps": "float",
    "fees_usd": "float",
    "regime": "str",
    "bucket": "int",
    "confidence": "float",
    "signal_time": "datetime (UTC, ISO 8601)",
    "mae_bps": "float (empty: no bars)",
    "mfe_bps": "float (empty: no bars)",
}


def _since(text: str) -> int:
    try:
        return parse_utc_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add `trades` to the `chloe` subcommands; its handler is `args.handler`."""
    parser = subparsers.add_parser("trades", help=_HELP, description=_HELP)
    parser.add_argument("--symbol", help="only this asset's round trips")
    parser.add_argument(
        "--since", type=_since, help="only round trips entered at or after this UTC date"
    )
    parser.add_argument("--open", action="store_true", help="the open positions instead")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON document on stdout")
    out.add_argument("--csv", metavar="FILE", help="write the round trips to FILE as CSV")
    parser.add_argument(
        "--data", help="bar CSVs for the excursions (MAE/MFE) (default: feed.data_dir)"
    )
    folders.add_dir_options(parser)
    parser.set_defaults(handler=run_command)
    return parser


def run_command(args: argparse.Namespace) -> int:
    """Print (or write) the round trips and their figures: 0 done, 2 bad config, 3 bad journal."""
    import orjson
    from rich.console import Console

    from engine_alpha.config.config_loader import ConfigError, load_config
    from engine_alpha.core.exit_codes import EXIT_CONFIG, EXIT_JOURNAL_DAMAGED, EXIT_OK
    from engine_alpha.dashboard.trades_view import trades_table
    from engine_alpha.ledger.journal import JournalError
    from engine_alpha.ledger.round_trips import trades_summary
    from engine_alpha.ops.trades import load_round_trips, trip_row

    try:
        config = load_config(folders.config_dir(args))
    except ConfigError as exc:
        print(f"chloe trades: config rejected:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    symbol = args.symbol.upper() if args.symbol else None
    try:
        trips = load_round_trips(
            config, folders.reports_dir(args), Path(args.data) if args.data else None
        )
    except JournalError as exc:
        print(f"chloe trades: journal damaged, cannot read it:\n{exc}", file=sys.stderr)
        return EXIT_JOURNAL_DAMAGED
    trips = [
        t
        for t in trips
        if (symbol is None or t.symbol == symbol)
        and (args.since is None or t.entry_bar_ts >= args.since)
        and (t.closed != args.open)
    ]
    rows = [trip_row(t) for t in trips]
    if args.csv:
        with Path(args.csv).open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(CSV_COLUMNS))
            writer.writeheader()
            writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
        print(f"wrote {len(rows)} round trips to {args.csv}")
        return EXIT_OK
    summary = trades_summary(trips)
    if args.json:
        doc = {"round_trips": rows, **summary}
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    Console(width=None if sys.stdout.isatty() else 200).print(trades_table(rows, summary))
    return EXIT_OK
