"""Read-only snapshot of `reports/`: journal lines, signal records and recorded error events.

Safe while the daemon writes: the journal is read up to its size at open (a torn last line is
skipped), and a signal or event line that is not complete JSON yet is skipped and counted.
Missing files read as empty, so status works before the first run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from engine_alpha.ledger.journal import read_journal
from engine_alpha.rollout.events import EVENTS_FILE

__all__ = [
    "PF_FILE",
    "SIGNALS_FILE",
    "TRADES_FILE",
    "ReportsSnapshot",
    "load_reports",
    "read_jsonl",
    "report_mtimes",
]

TRADES_FILE = "trades.jsonl"
SIGNALS_FILE = "signals.jsonl"
PF_FILE = "pf_local.json"
WATCHED_FILES = (TRADES_FILE, SIGNALS_FILE, EVENTS_FILE, PF_FILE)


@dataclass(slots=True)
class ReportsSnapshot:
    """What the reports directory held when it was read."""

    reports_dir: Path
    lines: list[dict[str, Any]] = field(default_factory=list)
    signals: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    present: dict[str, bool] = field(default_factory=dict)
    skipped_lines: dict[str, int] = field(default_factory=dict)


def read_jsonl(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Objects of a JSON-lines file and how many lines were skipped (not a JSON object)."""
    records: list[dict[str, Any]] = []
    skipped = 0
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return records, 0
    for raw in data.splitlines():
        if not raw.strip():
            continue
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            skipped += 1
            continue
        if isinstance(parsed, dict):
            records.append(parsed)
        else:
            skipped += 1
    return records, skipped


def load_reports(reports_dir: Path) -> ReportsSnapshot:
    """Read the journal (validated; damage raises JournalError), signals and events."""
    snap = ReportsSnapshot(reports_dir=reports_dir)
    trades = reports_dir / TRADES_FILE
    snap.present[TRADES_FILE] = trades.exists()
    if snap.present[TRADES_FILE]:
        read_journal(trades, snap.lines.append)
    for name in (SIGNALS_FILE, EVENTS_FILE):
        path = reports_dir / name
        snap.present[name] = path.exists()
        records, skipped = read_jsonl(path)
        snap.skipped_lines[name] = skipped
        if name == SIGNALS_FILE:
            snap.signals = records
        else:
            snap.events = records
    return snap


def report_mtimes(reports_dir: Path, extra: tuple[Path, ...] = ()) -> tuple[int, ...]:
    """Size and mtime (ns) of every watched file: a change means the reports moved on."""
    out: list[int] = []
    for path in (*(reports_dir / n for n in WATCHED_FILES), *extra):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            out.extend((-1, -1))
            continue
        out.extend((st.st_size, st.st_mtime_ns))
    return tuple(out)
