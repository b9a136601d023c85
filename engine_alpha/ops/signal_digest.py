"""The signal log's records by asset, with the figures the gates and the risk engine take from
them, each carried forward as records are appended.

A reader that asks once (`chloe status`, the web view) pays one pass for the spans and the
cells, and one per filter it asks about. The daemon's gate readings, which ask again after every
UTC day, fold in only the records appended since the last reading. Either way a figure is the
one a pass over all the records gives: each is a count or a first/last, carried from where the
last question left it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

from engine_alpha.strategy.filters import FilterRules, cell_refusal, refusal

__all__ = ["IDLE_REASONS", "AssetSignals", "SignalDigest"]

IDLE_REASONS = frozenset({"research_only", "asset_disabled"})
"""Reasons a task records while the asset only watches: not monitoring time for its gate."""

Cell = tuple[Any, int | None]
"""A record's regime and bucket (None unless the bucket is an int)."""


class AssetSignals:
    """One asset's records in log order and their running figures."""

    __slots__ = ("_active", "_cells", "_passed", "_seen", "_span", "records")

    def __init__(self, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self.records: list[Mapping[str, Any]] = list(records)
        self._seen = 0  # records folded into the span, the active span and the cells
        self._span: tuple[int, int] | None = None  # (least, greatest), None before any value
        self._active: tuple[Any, Any] | None = None
        self._cells: dict[Cell, int] = {}
        self._passed: dict[FilterRules, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self.records)

    def span(self) -> tuple[int, int] | None:
        """The first and last bar time (`int(bar_ts)`) of all the records; None without any."""
        self._fold()
        return self._span

    def active_span(self) -> tuple[Any, Any] | None:
        """The first and last `bar_ts` of the records whose reason is not idle; None without
        any."""
        self._fold()
        return self._active

    def cells(self) -> dict[Cell, int]:
        """How many records fell in each regime and bucket."""
        self._fold()
        return self._cells

    def _fold(self) -> None:
        """Carry the span, the active span and the cells over the records appended since the
        last fold: one pass for the three, keeping the first of equal values (as min and max
        do). A record whose `bar_ts` `int()` refuses raises here, as in a plain pass, and
        leaves the figures as they were."""
        records = self.records
        if self._seen == len(records):
            return
        low, high = self._span or (0, 0)  # the zeros are never compared: any_stamp is False
        active_low, active_high = self._active or (None, None)
        any_stamp, any_active = self._span is not None, self._active is not None
        cells: dict[Cell, int] = {}
        for record in islice(records, self._seen, None):
            stamp = int(record["bar_ts"])
            if not any_stamp:
                any_stamp, low, high = True, stamp, stamp
            elif stamp < low:
                low = stamp
            elif stamp > high:
                high = stamp
            if record.get("reason") not in IDLE_REASONS:
                value = record["bar_ts"]
                if not any_active:
                    any_active, active_low, active_high = True, value, value
                elif value < active_low:
                    active_low = value
                elif value > active_high:
                    active_high = value
            bucket = record.get("bucket")
            cell = (record.get("regime"), bucket if isinstance(bucket, int) else None)
            cells[cell] = cells.get(cell, 0) + 1
        if any_stamp:
            self._span = (low, high)
        if any_active:
            self._active = (active_low, active_high)
        for cell, n in cells.items():
            self._cells[cell] = self._cells.get(cell, 0) + n
        self._seen = len(records)

    def passed(self, rules: FilterRules) -> int:
        """How many records `rules` let through (`refusal` is None)."""
        seen, passed = self._passed.get(rules, (0, 0))
        # A record whose cell (a str regime, an int or no bucket) the rules refuse is refused
        # whatever its confidence and direction: asked once per cell.
        cell_refused: dict[tuple[str, int | None], bool] = {}
        for s in islice(self.records, seen, None):
            regime, bucket = s.get("regime"), s.get("bucket")
            if type(regime) is str and (bucket is None or type(bucket) is int):
                key = (regime, bucket)
                refused = cell_refused.get(key)
                if refused is None:
                    refused = cell_refused[key] = cell_refusal(rules, regime, bucket) is not None
                if refused:
                    continue
            code = refusal(rules, regime, s.get("direction"), s.get("confidence"), bucket)
            passed += code is None
        self._passed[rules] = (len(self.records), passed)
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
