"""signals.jsonl and events.jsonl readers: a huge line is skipped in bounded memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import orjson

from engine_alpha.ledger.signal_log import cut_back
from engine_alpha.ops.reports_reader import read_jsonl

HUGE = b"x" * (32 << 20) + b"\n"  # 32 MiB, over the 1 MiB a log line may have
PEAK_LIMIT = 6 << 20  # a few 1 MiB pieces, never the line


def _record(bar_ts: int) -> bytes:
    return orjson.dumps({"symbol": "ETHUSDT", "bar_ts": bar_ts, "reason": "taken"}) + b"\n"


def _peak(work: object) -> int:
    tracemalloc.start()
    try:
        work()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_read_jsonl_skips_a_huge_line_and_reads_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "signals.jsonl"
    path.write_bytes(_record(1) + HUGE + _record(2))
    result: list[tuple[list[dict[str, object]], int]] = []
    assert _peak(lambda: result.append(read_jsonl(path))) < PEAK_LIMIT
    records, skipped = result[0]
    assert [r["bar_ts"] for r in records] == [1, 2] and skipped == 1


def test_cut_back_removes_a_huge_line_after_the_resume_point_in_bounded_memory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "signals.jsonl"
    kept = _record(1) + _record(2)
    path.write_bytes(kept + HUGE + _record(3) + b'{"torn')
    removed: list[int] = []
    assert _peak(lambda: removed.append(cut_back(path, 2))) < PEAK_LIMIT
    assert path.read_bytes() == kept
    assert removed == [len(HUGE) + len(_record(3)) + len(b'{"torn')]


def test_cut_back_keeps_a_huge_line_before_the_last_kept_record(tmp_path: Path) -> None:
    path = tmp_path / "signals.jsonl"
    kept = _record(1) + HUGE + _record(2)
    path.write_bytes(kept + _record(3))
    assert _peak(lambda: cut_back(path, 2)) < PEAK_LIMIT
    assert path.read_bytes() == kept


def test_cut_back_past_a_huge_unterminated_end(tmp_path: Path) -> None:
    path = tmp_path / "signals.jsonl"
    kept = _record(1) + _record(2)
    path.write_bytes(kept + HUGE[:-1])
    assert _peak(lambda: cut_back(path, 2)) < PEAK_LIMIT
    assert path.read_bytes() == kept
