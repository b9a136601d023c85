"""The signal digest's figures, carried forward as records arrive in any chunks (extended, or
folded apart and merged), equal a plain pass over all the records (written out here, as the
gates and the risk engine once did)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.ops.signal_digest import AssetSignals, SignalDigest
from engine_alpha.strategy.filters import FilterRules, refusal

REGIMES = ("trend_up", "trend_down", "high_vol", "chop", None)
ODD_REGIMES = (1, True)  # not str: the filter is asked per record, never per cell
REASONS = ("taken", "regime", "bucket", "research_only", "asset_disabled", None)

records = st.fixed_dictionaries(
    {
        "symbol": st.sampled_from(("BTCUSDT", "ETHUSDT", "SOLUSDT")),
        "bar_ts": st.integers(0, 10**13),
        "regime": st.sampled_from(REGIMES + ODD_REGIMES),
        # equal to an int but another type ("3" differs from "3.0" or "True" in a cell name)
        "bucket": st.one_of(st.none(), st.integers(-1, 11), st.sampled_from(("7", True, 3.0))),
        # NaN passes any min_conf (NaN < x is False); an int is kept whole, not as a float
        "confidence": st.one_of(st.none(), st.floats(0.0, 1.0), st.just(math.nan), st.just(1)),
        "direction": st.sampled_from(("long", "short", None)),
        "reason": st.sampled_from(REASONS),
    }
)
rules = st.builds(
    FilterRules,
    mode=st.just("paper"),
    enabled_regimes=st.frozensets(st.sampled_from(REGIMES[:4])),
    preferred_buckets=st.frozensets(st.integers(0, 9)),
    avoid_buckets=st.frozensets(st.integers(0, 9)),
    allowed_cells=st.frozensets(
        st.sampled_from(("chop|3", "high_vol|9", "trend_up|0", "chop|7", "chop|True", "1|3.0"))
    ),
    min_conf=st.floats(0.0, 1.0),
    direction=st.sampled_from(("long", "short", None)),
)


RULES = FilterRules(
    mode="paper",
    enabled_regimes=frozenset({"chop"}),
    preferred_buckets=frozenset({3}),
    avoid_buckets=frozenset(),
    allowed_cells=frozenset(),
    min_conf=0.4,
    direction=None,
)


def _plain(signals: list[dict[str, Any]], r: FilterRules) -> dict[str, Any]:
    stamps = [int(s["bar_ts"]) for s in signals]
    active = [
        s["bar_ts"] for s in signals if s.get("reason") not in ("research_only", "asset_disabled")
    ]
    cells: dict[Any, int] = {}
    for s in signals:
        bucket = s.get("bucket")
        key = (s.get("regime"), bucket if isinstance(bucket, int) else None)
        cells[key] = cells.get(key, 0) + 1
    passed = sum(
        1
        for s in signals
        if refusal(r, s.get("regime"), s.get("direction"), s.get("confidence"), s.get("bucket"))
        is None
    )
    return {
        "len": len(signals),
        "span": (min(stamps), max(stamps)) if stamps else None,
        "active": (min(active), max(active)) if active else None,
        "cells": cells,
        "passed": passed,
    }


def _figures(asset: AssetSignals, r: FilterRules) -> dict[str, Any]:
    return {
        "len": len(asset),
        "span": asset.span(),
        "active": asset.active_span(),
        "cells": dict(asset.cells()),
        "passed": asset.passed(r),
    }


@given(
    st.lists(records, max_size=60),
    st.lists(st.integers(0, 60), max_size=6),
    st.lists(rules, min_size=1, max_size=3),
    st.lists(st.booleans(), min_size=7, max_size=7),
)
def test_figures_carried_forward_equal_a_pass_over_all_records(
    signals: list[dict[str, Any]], cuts: list[int], chosen: list[FilterRules], merged: list[bool]
) -> None:
    digest = SignalDigest()
    done = 0
    for i, cut in enumerate([*sorted(cuts), len(signals)]):
        chunk = signals[done:cut]
        if merged[i]:  # as the daemon folds each flush apart, then merges it at a reading
            digest.merge(SignalDigest(chunk))
        else:
            digest.extend(chunk)
        done = max(done, cut)
        r = chosen[i % len(chosen)]  # a reload can change the rules between readings
        for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
            seen = [s for s in signals[:done] if s["symbol"] == symbol]
            assert _figures(digest.asset(symbol), r) == _plain(seen, r)
    assert len(digest) == len(signals)


def test_a_record_without_a_symbol_is_kept_apart_and_a_bad_record_raises_changing_nothing() -> None:
    good = {"symbol": "BTCUSDT", "bar_ts": 7, "regime": "chop", "bucket": 3, "reason": "taken"}
    digest = SignalDigest([{"bar_ts": 5}, good])
    assert len(digest.asset("None")) == 1 and len(digest.asset("ETHUSDT")) == 0
    before = _figures(digest.asset("BTCUSDT"), RULES)
    bad = (
        {"symbol": "BTCUSDT", "bar_ts": "x"},  # as int("x") in a plain pass
        {"symbol": "BTCUSDT", "bar_ts": "9", "reason": "taken"},  # int() takes it; "9" < 7 raises
        {"symbol": "BTCUSDT", "bar_ts": 9, "regime": ["chop"], "bucket": 3},  # a cell needs a hash
    )
    for record in bad:
        with pytest.raises((ValueError, TypeError)):
            digest.extend([record])
        assert _figures(digest.asset("BTCUSDT"), RULES) == before


def test_a_record_the_filter_cannot_ask_about_raises_at_every_count_as_in_a_plain_pass() -> None:
    fine = {"symbol": "BTCUSDT", "bar_ts": 1, "regime": "chop", "bucket": 3, "direction": "long"}
    odd = fine | {"bucket": [3], "confidence": 0.9}  # kept whole; a set cannot hold a list
    digest = SignalDigest([fine | {"confidence": 0.5}])
    assert digest.asset("BTCUSDT").passed(RULES) == 1
    digest.extend([fine | {"confidence": 0.9}, odd])
    for _ in range(2):  # the second time too: what raised was not counted as asked
        with pytest.raises(TypeError):
            digest.asset("BTCUSDT").passed(RULES)
        with pytest.raises(TypeError):
            _plain([odd], RULES)


def test_a_bucket_equal_to_an_int_is_filtered_by_its_own_cell_name() -> None:
    """True == 1 and 3.0 == 3, but the cells "chop|True" and "chop|3.0" name only those."""
    r = FilterRules(
        mode="paper",
        enabled_regimes=frozenset(),
        preferred_buckets=frozenset(),
        avoid_buckets=frozenset(),
        allowed_cells=frozenset({"chop|True", "chop|3.0"}),
        min_conf=0.0,
        direction=None,
    )
    for buckets in ((1, True, 3, 3.0), (True, 1, 3.0, 3)):
        signals = [
            {"symbol": "BTCUSDT", "bar_ts": i, "regime": "chop", "bucket": b}
            | {"confidence": 0.5, "direction": "long"}
            for i, b in enumerate(buckets)
        ]
        assert SignalDigest(signals).asset("BTCUSDT").passed(r) == _plain(signals, r)["passed"]
        assert _plain(signals, r)["passed"] == 2
