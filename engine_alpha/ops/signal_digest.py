"""The signal log's records by asset, with the figures the gates and the risk engine take from
them, each carried forward as records are appended.

A reader that asks once (`chloe status`, the web view) pays one pass per figure, as a list
would. The daemon's gate readings, which ask again after every UTC day, fold in only the
records appended since the last reading. Either way a figure is the one a pass over all the
records gives: each is a count or a first/last, carried from where the last question left it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine_alpha.strategy.filters import FilterRules, refusal

__all__ = ["IDLE_REASONS", "AssetSignals", "SignalDigest"]

IDLE_REASONS = frozenset({"research_only", "asset_disabled"})
"""Reasons a task records while the asset only watches: not monitoring time for its gate."""

Cell = tuple[Any, int | None]
"""A record's regime and bucket (None unless the bucket is an int)."""


class _Span:
    """The least and greatest of the values seen so far (the first of equals, as min/max)."""

    __slots__ = ("any", "high", "low", "seen")

    def __init__(self) -> None:
        self.seen = 0  # records looked at
        self.any = False  # values taken
        self.low: Any = None
        self.high: Any = None

    def add(self, value: Any) -> None:
        if not self.any:
            self.any = True
            self.low = self.high = value
        elif value < self.low:
            self.low = value
        elif value > self.high:
            self.high = value

    def get(self) -> tuple[Any, Any] | None:
        return (self.low, self.high) if self.any else None


class AssetSignals:
    """One asset's records in log order and their running figures."""

    __slots__ = ("_active", "_cells", "_cells_seen", "_passed", "_span", "records")

    def __init__(self, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self.records: list[Mapping[str, Any]] = list(records)
        self._span = _Span()
        self._active = _Span()
        self._cells: dict[Cell, int] = {}
        self._cells_seen = 0
        self._passed: dict[FilterRules, list[int]] = {}

    def __len__(self) -> int:
        return len(self.records)

    def span(self) -> tuple[int, int] | None:
        """The first and last bar time (`int(bar_ts)`) of all the records; None without any."""
        span = self._span
        for record in self.records[span.seen :]:
            span.add(int(record["bar_ts"]))
        span.seen = len(self.records)
        return span.get()

    def active_span(self) -> tuple[Any, Any] | None:
        """The first and last `bar_ts` of the records whose reason is not idle; None without
        any."""
        span = self._active
        for record in self.records[span.seen :]:
            if record.get("reason") not in IDLE_REASONS:
                span.add(record["bar_ts"])
        span.seen = len(self.records)
        return span.get()

    def cells(self) -> dict[Cell, int]:
        """How many records fell in each regime and bucket."""
        cells = self._cells
        for record in self.records[self._cells_seen :]:
            bucket = record.get("bucket")
            cell = (record.get("regime"), bucket if isinstance(bucket, int) else None)
            cells[cell] = cells.get(cell, 0) + 1
        self._cells_seen = len(self.records)
        return cells

    def passed(self, rules: FilterRules) -> int:
        """How many records `rules` let through (`refusal` is None)."""
        seen_passed = self._passed.setdefault(rules, [0, 0])
        passed = seen_passed[1]
        for s in self.records[seen_passed[0] :]:
            code = refusal(
                rules, s.get("regime"), s.get("direction"), s.get("confidence"), s.get("bucket")
            )
            passed += code is None
        seen_passed[:] = [len(self.records), passed]
        return passed


class SignalDigest:
    """Every asset's AssetSignals, by `str(record["symbol"])` (a record without one: "None")."""

    __slots__ = ("_assets",)

    def __init__(self, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self._assets: dict[str, AssetSignals] = {}
        self.extend(records)

    def extend(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Append records, in log order."""
        assets = self._assets
        for record in records:
            symbol = str(record.get("symbol"))
            asset = assets.get(symbol)
            if asset is None:
                asset = assets[symbol] = AssetSignals()
            asset.records.append(record)

    def asset(self, symbol: str) -> AssetSignals:
        """The records of `symbol` (none: an empty AssetSignals)."""
        return self._assets.get(symbol) or AssetSignals()

    def __len__(self) -> int:
        return sum(len(a) for a in self._assets.values())
