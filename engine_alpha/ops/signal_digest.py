"""The signal log's records by asset, folded as they arrive into the figures the gates and the
risk engine take from them; the records themselves are not kept.

What each record leaves behind: the span of its bar times, the active span (reasons not idle),
its regime/bucket cell's count, and for the filters its confidence, filed under its regime,
bucket and direction (the filter's verdict on a record depends on those and on the confidence
only through `confidence < min_conf`). A record whose fields are not of the types the daemon
writes (a str regime, an int bucket, a str direction, a float confidence, or None for the first
three) is kept whole and asked of the filter on its own. A figure is the one a pass over all
the records gives: each is a count or a first/last, carried from where the last record left
it, and `passed(rules)` carries its count forward per rules.

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

    __slots__ = ("_active", "_cells", "_confidences", "_count", "_odd", "_passed", "_span")

    def __init__(self, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self._count = 0
        self._span: tuple[int, int] | None = None  # (least, greatest), None before any value
        self._active: tuple[Any, Any] | None = None
        self._cells: dict[Cell, int] = {}
        self._confidences: dict[_Filed, array[float]] = {}
        self._odd: list[Mapping[str, Any]] = []  # records not of the daemon's types, whole
        # per rules: how many confidences of each file, and odd records, were counted; the count
        self._passed: dict[FilterRules, tuple[dict[_Filed, int], int, int]] = {}
        for record in records:
            self.add(record)

    def __len__(self) -> int:
        return self._count

    def add(self, record: Mapping[str, Any]) -> None:
        """Fold one record in. A `bar_ts` that `int()` refuses, or one that does not compare with
        the others, raises as a plain pass would, and leaves the figures as they were."""
        value = record["bar_ts"]
        stamp = int(value)
        active = self._active
        if record.get("reason") not in IDLE_REASONS:
            if active is None:
                active = (value, value)
            elif value > active[1]:  # the first of equal values stays, as with min and max
                active = (active[0], value)
            elif value < active[0]:
                active = (value, active[1])
        regime, bucket = record.get("regime"), record.get("bucket")
        cells = self._cells
        cell = (regime, bucket if isinstance(bucket, int) else None)
        cells[cell] = cells.get(cell, 0) + 1  # an unhashable regime raises before this
        span = self._span
        if span is None:
            self._span = (stamp, stamp)
        elif stamp > span[1]:
            self._span = (span[0], stamp)
        elif stamp < span[0]:
            self._span = (stamp, span[1])
        self._active = active
        self._count += 1
        direction, confidence = record.get("direction"), record.get("confidence")
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
            self._odd.append(record)

    def merge(self, other: AssetSignals) -> None:
        """Fold in `other`'s records, as if added here after this one's."""
        if other._span is not None:
            low, high = other._span
            span = self._span
            self._span = (low, high) if span is None else (min(span[0], low), max(span[1], high))
        if other._active is not None:
            low, high = other._active
            active = self._active
            if active is None:
                self._active = (low, high)
            else:  # strict, so the first of equal values stays
                self._active = (
                    low if low < active[0] else active[0],
                    high if high > active[1] else active[1],
                )
        for cell, n in other._cells.items():
            self._cells[cell] = self._cells.get(cell, 0) + n
        for filed, confidences in other._confidences.items():
            mine = self._confidences.get(filed)
            if mine is None:
                self._confidences[filed] = array("d", confidences)
            else:
                mine.extend(confidences)
        self._odd += other._odd
        self._count += other._count

    def span(self) -> tuple[int, int] | None:
        """The first and last bar time (`int(bar_ts)`) of all the records; None without any."""
        return self._span

    def active_span(self) -> tuple[Any, Any] | None:
        """The first and last `bar_ts` of the records whose reason is not idle; None without
        any."""
        return self._active

    def cells(self) -> dict[Cell, int]:
        """How many records fell in each regime and bucket."""
        return self._cells

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
