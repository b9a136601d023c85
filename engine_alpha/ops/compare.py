"""Two runs side by side (`chloe compare`): their fills matched by fill id (symbol, bar time,
open or close), every difference listed with the cause the reports and bars can tell.

A fill is in one run only, or in both with different figures. Causes, the first that applies:
- **config**: the two runs' configs (recorded in each `daemon_status.json`) differ in what
  decides that asset's fills: its profile, its paper settings, the execution model, the
  position limits or the timeframe (the feed's source, URL and data folder are not compared);
- **coverage**: the fill lies after the last bar the other run processed;
- **bars** (when each run's bar files are given): the first bar of that asset, up to the fill,
  that differs between the two data sets: missing in one, refused by validation in one (with
  the refusal code), or with other prices or volume;
- **signal**: the two signal logs disagree at the fill's signal bar (without bar files, the
  reports cannot say why).
Otherwise the cause is unknown, and said so. Pure over the files it reads; nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine_alpha.core.formatting import fmt_ts
from engine_alpha.ledger.reports_dir import SIGNALS_FILE, STATUS_FILE, TRADES_FILE
from engine_alpha.market.bars import Bar
from engine_alpha.market.csv_bars import bars_path, read_bars
from engine_alpha.market.validation import BarValidator

__all__ = ["CompareError", "Comparison", "Difference", "RunFiles", "compare_runs"]

# Journal fields that differ between two runs of the same fills by construction.
_RUN_FIELDS = frozenset({"seq", "group_end_seq", "wall_ts"})
_BAR_FIELDS = ("open", "high", "low", "close", "volume")


class CompareError(ValueError):
    """A run that cannot be compared (no journal, an unreadable line); names the file."""


@dataclass(frozen=True, slots=True)
class RunFiles:
    """One run: its reports directory and, optionally, the bar files it ran on."""

    reports: Path
    data: Path | None = None


@dataclass(frozen=True, slots=True)
class Difference:
    """One fill that is not the same in both runs, and why where that can be told."""

    fill_id: str
    symbol: str
    bar_ts: int
    kind: str  # "only_in_a", "only_in_b" or "differs"
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    cause: str = "unknown: nothing in the reports or bars explains it"

    def to_json(self) -> dict[str, Any]:
        return {
            "fill_id": self.fill_id,
            "symbol": self.symbol,
            "bar_utc": fmt_ts(self.bar_ts),
            "kind": self.kind,
            "fields": {k: {"a": a, "b": b} for k, (a, b) in self.fields.items()},
            "cause": self.cause,
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    """Fills in each run, fills matched, and every difference in bar-time order."""

    fills_a: int
    fills_b: int
    matched: int
    differences: list[Difference]
    config_differences: list[str]

    @property
    def same(self) -> bool:
        return not self.differences


def _jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CompareError(f"{path}: no such file (is this a reports directory?)") from None
    except OSError as exc:
        raise CompareError(f"{path}: cannot read: {exc.strerror or exc}") from None
    out = []
    for number, line in enumerate(raw.splitlines(), start=1):
        try:
            out.append(json.loads(line))
        except ValueError:
            raise CompareError(f"{path}:{number}: not a JSON line") from None
    return out


def _status(reports: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((reports / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data


def _config_paths(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b)):
            out += _config_paths(a.get(key), b.get(key), f"{prefix}{key}.")
        return out
    return [] if a == b else [prefix.rstrip(".")]


def _deciding(config: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a recorded config that decide fills (not where the bars come from)."""
    paper = dict(config.get("paper") or {})
    feed = dict(paper.pop("feed", None) or {})
    return {
        "paper": {**paper, "feed": {"timeframe": feed.get("timeframe")}},
        "profiler": config.get("profiler"),
    }


def _for_symbol(paths: Iterable[str], symbol: str) -> list[str]:
    """The config differences that concern `symbol`: its own entries, and every global one."""
    symbols = ("paper.enabled_assets.", "paper.research_only_assets", "profiler.assets.")
    return [
        p
        for p in paths
        if not p.startswith(symbols)
        or p.startswith((f"paper.enabled_assets.{symbol}", f"profiler.assets.{symbol}"))
    ]


@dataclass(slots=True)
class _Bars:
    """A run's bars of one symbol by time: accepted ones, and refused ones with their code."""

    accepted: dict[int, Bar]
    refused: dict[int, str]


def _read_bars(data: Path, symbol: str, timeframe: str, timeframe_ms: int) -> _Bars:
    """A malformed row has no bar time: it shows as a bar missing from that data set."""
    refused: dict[int, str] = {}
    validator = BarValidator(symbol, timeframe_ms)
    accepted: dict[int, Bar] = {}
    path = bars_path(data, symbol, timeframe)
    try:
        rows = list(read_bars(path, on_refusal=lambda _: None, symbol=symbol))
    except OSError:
        return _Bars({}, {})
    for bar in rows:
        code = validator.check(bar)
        if code is None:
            accepted[bar.ts_ms] = bar
        else:
            refused[bar.ts_ms] = code
    return _Bars(accepted, refused)


def _bar_cause(a: _Bars, b: _Bars, until_ms: int) -> str | None:
    """The first bar up to `until_ms` that is not the same in both data sets, said plainly."""
    times = sorted(t for t in set(a.accepted) | set(b.accepted) | set(a.refused) | set(b.refused))
    for ts in times:
        if ts > until_ms:
            break
        when = fmt_ts(ts)
        if ts in a.refused or ts in b.refused:
            if a.refused.get(ts) != b.refused.get(ts):
                side = "A" if ts in a.refused else "B"
                code = a.refused.get(ts) or b.refused.get(ts)
                return f"bar {when} UTC refused in {side} ({code}), accepted in the other"
            continue
        bar_a, bar_b = a.accepted.get(ts), b.accepted.get(ts)
        if bar_a is None or bar_b is None:
            return f"bar {when} UTC missing in {'A' if bar_a is None else 'B'}"
        changed = [
            f"{name} {getattr(bar_a, name)!r} (A) vs {getattr(bar_b, name)!r} (B)"
            for name in _BAR_FIELDS
            if getattr(bar_a, name) != getattr(bar_b, name)
        ]
        if changed:
            return f"bar {when} UTC differs: {', '.join(changed)}"
    return None


def compare_runs(a: RunFiles, b: RunFiles, timeframe_ms: int) -> Comparison:
    """Match the two journals' fills and explain every difference (module doc)."""
    journal_a = _jsonl(a.reports / TRADES_FILE)
    journal_b = _jsonl(b.reports / TRADES_FILE)
    status_a, status_b = _status(a.reports), _status(b.reports)
    config_paths = (
        _config_paths(_deciding(status_a["config"]), _deciding(status_b["config"]))
        if "config" in status_a and "config" in status_b
        else []
    )
    signals_a = _signals(a.reports)
    signals_b = _signals(b.reports)
    by_id_a = {line["fill_id"]: line for line in journal_a}
    by_id_b = {line["fill_id"]: line for line in journal_b}
    explain = _Explainer(
        (a, b),
        config_paths,
        (signals_a, signals_b),
        (status_a.get("last_bar_ts"), status_b.get("last_bar_ts")),
        timeframe_ms,
    )
    differences: list[Difference] = []
    matched = 0
    for fill_id in sorted(set(by_id_a) | set(by_id_b), key=lambda f: _order(f, by_id_a, by_id_b)):
        line_a, line_b = by_id_a.get(fill_id), by_id_b.get(fill_id)
        line = line_a or line_b
        assert line is not None
        symbol, bar_ts = line["symbol"], line["bar_ts"]
        if line_a is not None and line_b is not None:
            fields = {
                k: (line_a.get(k), line_b.get(k))
                for k in sorted(set(line_a) | set(line_b))
                if k not in _RUN_FIELDS and line_a.get(k) != line_b.get(k)
            }
            if not fields:
                matched += 1
                continue
            kind = "differs"
        else:
            fields = {}
            kind = "only_in_a" if line_b is None else "only_in_b"
        cause = explain.cause(line, kind)
        differences.append(Difference(fill_id, symbol, bar_ts, kind, fields, cause))
    return Comparison(len(journal_a), len(journal_b), matched, differences, config_paths)


def _order(fill_id: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[int, str]:
    line = a.get(fill_id) or b.get(fill_id)
    assert line is not None
    return int(line["bar_ts"]), fill_id


def _signals(reports: Path) -> dict[tuple[str, int], dict[str, Any]]:
    try:
        lines = _jsonl(reports / SIGNALS_FILE)
    except CompareError:
        return {}
    return {(s["symbol"], s["bar_ts"]): s for s in lines}


@dataclass(slots=True)
class _Explainer:
    """What both runs left behind, to tell the cause of one differing fill."""

    runs: tuple[RunFiles, RunFiles]
    config_paths: list[str]
    signals: tuple[dict[tuple[str, int], dict[str, Any]], dict[tuple[str, int], dict[str, Any]]]
    last: tuple[int | None, int | None]
    timeframe_ms: int
    bars: dict[str, tuple[_Bars, _Bars]] = field(default_factory=dict)

    def cause(self, line: Mapping[str, Any], kind: str) -> str:
        symbol, bar_ts = line["symbol"], line["bar_ts"]
        paths = _for_symbol(self.config_paths, symbol)
        if paths:
            return f"config differs: {', '.join(paths[:5])}" + (" ..." if len(paths) > 5 else "")
        other = {"only_in_a": self.last[1], "only_in_b": self.last[0]}.get(kind)
        if other is not None and bar_ts > other:
            return f"after the other run's last bar ({fmt_ts(other)} UTC)"
        found = self._bars(line)
        if found is not None:
            return found
        signal_ts = line.get("signal_bar_ts")
        if signal_ts is not None:
            sig_a = self.signals[0].get((symbol, signal_ts))
            sig_b = self.signals[1].get((symbol, signal_ts))
            if sig_a != sig_b:
                return (
                    f"the signal at bar {fmt_ts(signal_ts)} UTC differs "
                    f"({_signal_text(sig_a)} vs {_signal_text(sig_b)}); give both runs' bars "
                    "(--data) to find the bar behind it"
                )
        if self.runs[0].data is None or self.runs[1].data is None:
            return "unknown from the reports alone: give both runs' bars (--data) to compare them"
        return "unknown: nothing in the reports or bars explains it"

    def _bars(self, line: Mapping[str, Any]) -> str | None:
        a, b = self.runs
        if a.data is None or b.data is None:
            return None
        symbol = line["symbol"]
        if symbol not in self.bars:
            timeframe = str(line.get("timeframe", "1h"))
            self.bars[symbol] = (
                _read_bars(a.data, symbol, timeframe, self.timeframe_ms),
                _read_bars(b.data, symbol, timeframe, self.timeframe_ms),
            )
        return _bar_cause(*self.bars[symbol], until_ms=line["bar_ts"])


def _signal_text(signal: Mapping[str, Any] | None) -> str:
    if signal is None:
        return "no signal"
    return (
        f"{signal.get('direction')} {signal.get('regime')} "
        f"conf {signal.get('confidence')} {signal.get('outcome')}"
    )
