"""The time split: fractions of each span and UTC dates, on the bar grid, with no straddling."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.research.split import DEFAULT_SPLIT, Split, half_masks, parse_split

H = 3_600_000
T0 = 1_617_570_000_000  # 2021-04-04 21:00 UTC, the first bar of the full data set


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_the_default_keeps_the_first_two_thirds_in_sample() -> None:
    assert DEFAULT_SPLIT.fraction == pytest.approx(2 / 3)
    assert DEFAULT_SPLIT.cutoff(T0, T0 + 299 * H, H) == T0 + 200 * H  # 300 bars: 200 in


@pytest.mark.parametrize(("text", "fraction"), [("0.7", 0.7), ("0.5", 0.5), ("0.999", 0.999)])
def test_a_number_is_a_fraction_of_the_span(text: str, fraction: float) -> None:
    assert parse_split(text) == Split(fraction=fraction)


@pytest.mark.parametrize(
    ("text", "cutoff"),
    [
        ("2023-01-01", "2023-01-01T00:00"),
        ("2023-01-01T12:00", "2023-01-01T12:00"),
        ("2023-01-01T12:00+02:00", "2023-01-01T10:00"),
    ],
)
def test_a_date_is_a_utc_cutoff(text: str, cutoff: str) -> None:
    assert parse_split(text) == Split(cutoff_ms=_ms(cutoff))


@pytest.mark.parametrize("text", ["0", "1", "1.5", "-0.2", "yesterday", "2023-13-01"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="split"):
        parse_split(text)


def test_a_date_cutoff_is_floored_to_the_bar_grid() -> None:
    split = parse_split("2023-01-01T12:30")
    assert split.cutoff(T0, T0 + 10 * H, H) == _ms("2023-01-01T12:00")


def test_a_fraction_counts_bar_slots_so_a_gap_does_not_move_the_cutoff() -> None:
    assert Split(fraction=0.5).cutoff(T0, T0 + 9 * H, H) == T0 + 5 * H


def test_a_sample_straddling_the_cutoff_is_in_neither_half() -> None:
    start = np.array([0, 4, 5, 6], dtype=np.int64)
    end = np.array([3, 5, 8, 9], dtype=np.int64)
    masks = half_masks(start, end, 5)
    assert masks["in_sample"].tolist() == [True, False, False, False]
    assert masks["out_of_sample"].tolist() == [False, False, True, True]
    assert masks["all"].all()


@given(
    st.integers(1, 5_000),
    st.floats(0.001, 0.999),
    st.lists(st.tuples(st.integers(0, 6_000), st.integers(0, 12)), max_size=50),
)
def test_the_halves_never_overlap_and_sit_either_side_of_the_cutoff(
    slots: int, fraction: float, windows: list[tuple[int, int]]
) -> None:
    cutoff = Split(fraction=fraction).cutoff(T0, T0 + (slots - 1) * H, H)
    assert T0 <= cutoff <= T0 + slots * H and (cutoff - T0) % H == 0
    start = np.array([T0 + s * H for s, _ in windows], dtype=np.int64)
    end = np.array([T0 + (s + n) * H for s, n in windows], dtype=np.int64)
    masks = half_masks(start, end, cutoff)
    ins, oos = masks["in_sample"], masks["out_of_sample"]
    assert not (ins & oos).any()
    assert (end[ins] < cutoff).all() and (start[oos] >= cutoff).all()
