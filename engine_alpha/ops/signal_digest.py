"""The signal log's records by asset, folded as they arrive into the figures the gates and the
risk engine take from them; the records themselves are not kept.

What each record leaves behind: the span of its bar times, the active span (reasons not idle),
and its confidence, filed under its regime, bucket and direction (the filter's verdict on a
record depends on those and on the confidence only through `confidence < min_conf`); a cell's
count is the sum over its files. A record whose fields are not of the types the daemon writes
(a str regime, an int bucket, a str direction, a float confidence, or None for the first three)
is kept whole, counted in its cell apart and asked of the filter on its own. A figure is the
one a pass over all the records gives: each is a count or a first/last, carried from where the
last record left it, and `passed(rules)` carries its count forward per rules.

The daemon's gate readings, which ask again after every UTC day, fold in only what each flush
of the signal log adds (`merge`), so they hold a few figures per asset, not the run's records.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

from engine_alpha.strategy.filters import FilterRules, refusal

__all__ = ["IDLE_REASONS", "AssetSignals", "SignalDigest"]

IDLE_REASONS = frozenset({"research_only", "asset_disabled"})
"""Reasons a task records while the asset only watches: not monitoring time for its gate."""

Cell = tuple[Any, int | None]
"""A record's regime and bucket (None unless the bucket is an int)."""

_Filed = tuple[str | None, int | None, str | None]
"""Where a well-typed record's confidence is filed: its regime, bucket and direction."""

_NONE = type(None)
_TEXT = (str, _NONE)
_WHOLE = (int, _NONE)


class AssetSignals:
    """One asset's records, folded: how many, both spans, the cells, the confidences."""

    __slots__ = (
        "_active_high",
        "_active_low",
        "_confidences",
        "_high",
        "_low",
        "_odd",
        "_odd_cells",
        "_passed",
    )

    def __init__(self, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self._low: int | None = None  # the span: least and greatest int(bar_ts), None before any
        self._high = 0
        self._active_low: Any = None  # the active span: None before any active record
        self._active_high: Any = None
        self._confidences: dict[_Filed, array[float]] = {}
        self._odd: list[Mapping[str, Any]] = []  # records not of the daemon's types, whole
        self._odd_cells: dict[Cell, int] = {}
        # per rules: how many confidences of each file, and odd records, were counted; the count
        self._passed: dict[FilterRules, tuple[dict[_Filed, int], int, int]] = {}
        for record in records:
            self.add(record)

    def __len__(self) -> int:
        """How many records: each well-typed one left a confidence, each odd one is kept."""
        return sum(map(len, self._confidences.values())) + len(self._odd)

    def add(self, record: Mapping[str, Any]) -> None:
        """Fold one record in. A `bar_ts` that `int()` refuses, or one that does not compare with
        the others, raises as a plain pass would, and leaves the figures as they were."""
        value = record["bar_ts"]
        stamp = value if type(value) is int else int(value)
        regime, bucket = record.get("regime"), record.get("bucket")
        direction, confidence = record.get("direction"), record.get("confidence")
        active = record.get("reason") not in IDLE_REASONS
        if active:  # compared before anything is written: a value that does not compare raises
            low, high = self._active_low, self._active_high
            if low is None:
                low = high = value
            elif value > high:  # the first of equal values stays, as with min and max
                high = value
            elif value < low:
                low = value
        if (
            type(confidence) is float
            and type(regime) in _TEXT
            and type(bucket) in _WHOLE
            and type(direction) in _TEXT
        ):
            filed = (regime, bucket, direction)
            confidences = self._confidences.get(filed)
            if confidences is None:
                confidences = self._confidences[filed] = array("d")
            confidences.append(confidence)
        else:
            cell = (regime, bucket if isinstance(bucket, int) else None)
            cells = self._odd_cells
            cells[cell] = cells.get(cell, 0) + 1  # an unhashable regime raises before this
            self._odd.append(record)
        if active:
            self._active_low, self._active_high = low, high
        if self._low is None:
            self._low = self._high = stamp
        elif stamp > self._high:
            self._high = stamp
        elif stamp < self._low:
            self._low = stamp

    def merge(self, other: AssetSignals) -> None:
        """Fold in `other`'s records, as if added here after this one's."""
        if other._low is not None:
            if self._low is None:
                self._low, self._high = other._low, other._high
            else:
                self._low, self._high = min(self._low, other._low), max(self._high, other._high)
        if other._active_low is not None:
            low, high = other._active_low, other._active_high
            if self._active_low is None:
                self._active_low, self._active_high = low, high
            else:  # min and max keep the first of equal values
                self._active_low = min(self._active_low, low)
                self._active_high = max(self._active_high, high)
        for filed, confidences in other._confidences.items():
            mine = self._confidences.get(filed)
            if mine is None:
                self._confidences[filed] = array("d", confidences)
            else:
                mine.extend(confidences)
        for cell, n in other._odd_cells.items():
            self._odd_cells[cell] = self._odd_cells.get(cell, 0) + n
        self._odd += other._odd

    def span(self) -> tuple[int, int] | None:
        """The first and last bar time (`int(bar_ts)`) of all the records; None without any."""
        return None if self._low is None else (self._low, self._high)

    def active_span(self) -> tuple[Any, Any] | None:
        """The first and last `bar_ts` of the records whose reason is not idle; None without
        any."""
        low = self._active_low
        return None if low is None else (low, self._active_high)

    def cells(self) -> dict[Cell, int]:
        """How many records fell in each regime and bucket."""
        cells: dict[Cell, int] = {}
        for (regime, bucket, _), confidences in self._confidences.items():
            cell = (regime, bucket)
            cells[cell] = cells.get(cell, 0) + len(confidences)
        for cell, n in self._odd_cells.items():
            cells[cell] = cells.get(cell, 0) + n
        return cells

    def passed(self, rules: FilterRules) -> int:
        """How many records `rules` let through (`refusal` is None)."""
        counted, odd_seen, passed = self._passed.get(rules) or ({}, 0, 0)
        min_conf = rules.min_conf
        for filed, confidences in self._confidences.items():
            seen = counted.get(filed, 0)
            if seen == len(confidences):
                continue
            counted[filed] = len(confidences)
            regime, bucket, direction = filed
            if refusal(rules, regime, direction, min_conf, bucket) is not None:
                continue  # refused at any confidence that meets min_conf: cell or direction
            passed += sum(1 for c in islice(confidences, seen, None) if not c < min_conf)
        for s in islice(self._odd, odd_seen, None):
            code = refusal(
                rules, s.get("regime"), s.get("direction"), s.get("confidence"), s.get("bucket")
            )
            passed += code is None
        self._passed[rules] = (counted, len(self._odd), passed)
        return passed


class SignalDigest:
    """Every asset's AssetSignals, by `str(record["symbol"])` (a record without one: "None")."""

    __slots__ = ("_assets",)

    def __init__(self, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self._assets: dict[str, AssetSignals] = {}
        self.extend(records)

    def extend(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Fold records in, in log order."""
        assets = self._assets
        for record in records:
            symbol = str(record.get("symbol"))
            asset = assets.get(symbol)
            if asset is None:
                asset = assets[symbol] = AssetSignals()
            asset.add(record)

    def merge(self, other: SignalDigest) -> None:
        """Fold in `other`'s records, as if extended here after this one's."""
        for symbol, theirs in other._assets.items():
            mine = self._assets.get(symbol)
            if mine is None:
                mine = self._assets[symbol] = AssetSignals()
            mine.merge(theirs)

    def asset(self, symbol: str) -> AssetSignals:
        """The records of `symbol` (none: an empty AssetSignals)."""
        return self._assets.get(symbol) or AssetSignals()

    def __len__(self) -> int:
        return sum(len(a) for a in self._assets.values())
