"""Read-only inputs of status and risk: the reports (journal, signals, events, daemon status),
the research counts under `reports/research/`, and the bar files.

Safe while the daemon writes: the journal is read up to its size at open (a torn last line is
skipped), a signal or event line that is not complete JSON yet is skipped and counted, and
the JSON reports are replaced atomically. Missing files read as empty.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from engine_alpha.config.signal_models import DEFAULT_MODEL
from engine_alpha.core.bounded_lines import MAX_LOG_LINE_BYTES, LongLine, bounded_lines
from engine_alpha.ledger.journal import read_journal
from engine_alpha.ledger.reports_dir import (
    PF_FILE,
    RESEARCH_DIR,
    SIGNALS_FILE,
    STATUS_FILE,
    TRADES_FILE,
)
from engine_alpha.market.bars import Bar
from engine_alpha.market.csv_bars import bars_path, read_bars
from engine_alpha.ops.events import EVENTS_FILE
from engine_alpha.signals.catalog import json_identity

__all__ = [
    "PF_FILE",
    "RESEARCH_DIR",
    "SIGNALS_FILE",
    "STATUS_FILE",
    "TRADES_FILE",
    "ReportsSnapshot",
    "ResearchCounts",
    "ResearchDistribution",
    "is_signal_record",
    "load_bars",
    "load_reports",
    "load_research_counts",
    "load_research_distributions",
    "read_jsonl",
    "report_mtimes",
    "research_model",
]

WATCHED_FILES = (TRADES_FILE, SIGNALS_FILE, EVENTS_FILE, PF_FILE, STATUS_FILE)


@dataclass(slots=True)
class ReportsSnapshot:
    """What the reports directory held when it was read."""

    reports_dir: Path
    lines: list[dict[str, Any]] = field(default_factory=list)
    signals: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    present: dict[str, bool] = field(default_factory=dict)
    skipped_lines: dict[str, int] = field(default_factory=dict)
    daemon_status: dict[str, Any] | None = None
    pf_local: dict[str, Any] | None = None


def is_signal_record(record: Mapping[str, Any]) -> bool:
    """A signal log record: an int `bar_ts` (the daemon writes one on every line). A line
    without one cannot be placed in time, so the readers skip it (counted), as a line that is
    not JSON."""
    return type(record.get("bar_ts")) is int


def read_jsonl(
    path: Path, keep: Callable[[Mapping[str, Any]], bool] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Objects of a JSON-lines file (those `keep` accepts, when given) and how many lines were
    skipped (not a JSON object, or refused by `keep`)."""
    records: list[dict[str, Any]] = []
    skipped = 0
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return records, 0
    with f:
        for raw in bounded_lines(f, MAX_LOG_LINE_BYTES):
            if isinstance(raw, LongLine):  # measured, never held: not a record
                skipped += 1
                continue
            if not raw.strip():
                continue
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                skipped += 1
                continue
            if isinstance(parsed, dict) and (keep is None or keep(parsed)):
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
        records, skipped = read_jsonl(path, is_signal_record if name == SIGNALS_FILE else None)
        snap.skipped_lines[name] = skipped
        if name == SIGNALS_FILE:
            snap.signals = records
        else:
            snap.events = records
    snap.daemon_status = _read_json(reports_dir / STATUS_FILE)
    snap.pf_local = _read_json(reports_dir / PF_FILE)
    return snap


def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file the daemon replaces atomically; None when absent or not an object."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


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


def research_model(raw: Any) -> dict[str, Any] | None:
    """The signal-model identity an edge.json records (`{"name", "params"}`), or None.

    Research written before models were pluggable recorded the breakout's parameters alone
    (a dict without `name`): that reads as the breakout with those parameters.
    """
    if not isinstance(raw, dict):
        return None
    if sorted(raw) == ["name", "params"]:
        name, params = raw["name"], raw["params"]
        ok = isinstance(name, str) and isinstance(params, dict)
        return {"name": name, "params": params} if ok else None
    return {"name": DEFAULT_MODEL, "params": raw}


@dataclass(frozen=True, slots=True)
class ResearchCounts:
    """From `chloe research` (`research/<SYMBOL>/edge.json`, all bars): signals per cell, bars,
    and the signal model they came from (its identity; None when the file does not say)."""

    bars: int
    cell_samples: dict[str, int]
    model: dict[str, Any] | None = None


def load_research_counts(reports_dir: Path, symbols: Iterable[str]) -> dict[str, ResearchCounts]:
    """Each symbol's research counts; a missing or unreadable file is skipped."""
    out: dict[str, ResearchCounts] = {}
    for symbol in symbols:
        path = reports_dir / RESEARCH_DIR / symbol / "edge.json"
        try:
            data = orjson.loads(path.read_bytes())
            half = data["halves"]["all"]
            cells = {
                str(cell): int(body["forward"]["samples"]) for cell, body in half["cells"].items()
            }
            block = data.get("signal_distribution")
            # before research recorded its model, it always ran the default breakout
            model = json_identity(None) if block is None else research_model(block.get("model"))
            out[symbol] = ResearchCounts(int(half["bars"]), cells, model)
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            continue
    return out


@dataclass(frozen=True, slots=True)
class ResearchDistribution:
    """From `chloe research` (`research/<SYMBOL>/edge.json`, `signal_distribution`): the signal
    model the signals came from (its identity, `research_model`) and the signals per
    `regime|bucket` cell."""

    source: str
    model: dict[str, Any] | None
    cells: dict[str, int]


def _distribution(path: Path) -> ResearchDistribution | None:
    try:
        block = orjson.loads(path.read_bytes())["signal_distribution"]
        cells = {str(cell): int(n) for cell, n in block["cells"].items()}
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None
    if any(n < 0 for n in cells.values()):
        return None
    return ResearchDistribution(str(path), research_model(block.get("model")), cells)


def load_research_distributions(
    reports_dir: Path, symbols: Iterable[str]
) -> dict[str, ResearchDistribution]:
    """Each symbol's researched signal distribution; a missing or unreadable one is left out."""
    out: dict[str, ResearchDistribution] = {}
    for symbol in symbols:
        found = _distribution(reports_dir / RESEARCH_DIR / symbol / "edge.json")
        if found is not None:
            out[symbol] = found
    return out


def load_bars(data_dir: Path, symbols: Iterable[str], timeframe: str) -> dict[str, list[Bar]]:
    """Bars of each symbol's CSV in time order (bad rows skipped); a missing file gives none."""
    out: dict[str, list[Bar]] = {}
    for symbol in symbols:
        bars: list[Bar] = []
        try:
            for bar in read_bars(
                bars_path(data_dir, symbol, timeframe), on_refusal=lambda _r: None
            ):
                ok = math.isfinite(bar.close) and bar.close > 0.0
                if ok and (not bars or bar.ts_ms > bars[-1].ts_ms):
                    bars.append(bar)
        except OSError:
            bars = []
        out[symbol] = bars
    return out
