"""Run the real daemon as a subprocess, and read what it wrote."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parent.parent


@dataclass
class RunResult:
    """What one daemon run left behind."""

    returncode: int
    stdout: str
    stderr: str
    reports: Path

    def journal(self) -> list[dict[str, Any]]:
        path = self.reports / "trades.jsonl"
        return [orjson.loads(line) for line in path.read_bytes().splitlines()]

    def signals(self) -> list[dict[str, Any]]:
        path = self.reports / "signals.jsonl"
        return [orjson.loads(line) for line in path.read_bytes().splitlines()]

    def pf_local(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads((self.reports / "pf_local.json").read_bytes())
        return data

    def log_events(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]


def chloe_command(config_dir: Path, reports: Path, *extra: str, replay: bool = True) -> list[str]:
    """The `chloe run [--replay]` command line for a config and a reports directory."""
    return [
        sys.executable,
        "-m",
        "engine_alpha",
        "run",
        *(["--replay"] if replay else []),
        "--config-dir",
        str(config_dir),
        "--reports-dir",
        str(reports),
        "--summary=never",
        *extra,
    ]


def child_env(extra_path: Path | None = None) -> dict[str, str]:
    """The environment of a daemon subprocess: this checkout first on the path (then
    `extra_path`, a directory of packages only this daemon sees), no notify socket."""
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (REPO, extra_path) if p is not None)
    return env
