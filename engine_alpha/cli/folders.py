"""Where the config and reports live: the one resolver every subcommand uses.

An option wins, then the environment (`CHLOE_CONFIG_DIR`, `CHLOE_REPORTS_DIR`, which the systemd
unit sets), then `./config` and `./reports`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["add_dir_options", "config_dir", "reports_dir"]


def add_dir_options(parser: argparse.ArgumentParser) -> None:
    """Add `--config-dir` and `--reports-dir` to a subcommand."""
    parser.add_argument(
        "--config-dir", help="config directory (default: $CHLOE_CONFIG_DIR or ./config)"
    )
    parser.add_argument(
        "--reports-dir", help="reports directory (default: $CHLOE_REPORTS_DIR or ./reports)"
    )


def config_dir(args: argparse.Namespace) -> Path:
    """The config directory: `--config-dir`, else `$CHLOE_CONFIG_DIR`, else `./config`."""
    return Path(args.config_dir or os.environ.get("CHLOE_CONFIG_DIR") or "config")


def reports_dir(args: argparse.Namespace) -> Path:
    """The reports directory: `--reports-dir`, else `$CHLOE_REPORTS_DIR`, else `./reports`."""
    return Path(args.reports_dir or os.environ.get("CHLOE_REPORTS_DIR") or "reports")
