"""bounded_lines: the same lines as iterating the file, except that long ones are only measured."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.core.bounded_lines import LongLine, bounded_lines

line_bodies = st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=12)


@given(line_bodies, st.booleans(), st.integers(min_value=1, max_value=30))
def test_lines_match_the_files_own_split_and_long_ones_are_measured(
    bodies: list[bytes], last_newline: bool, limit: int
) -> None:
    data = b"\n".join(bodies) + (b"\n" if last_newline and bodies else b"")
    expected = list(io.BytesIO(data))  # the file's own line split, independent of the code
    got = list(bounded_lines(io.BytesIO(data), limit))
    assert len(got) == len(expected)
    for line, want in zip(got, expected, strict=True):
        if len(want) <= limit:
            assert line == want
        else:
            assert line == LongLine(len(want), want[: min(64, limit)])
