"""The journal: group commit, recovery, torn-line quarantine, damage refused with its line."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine_alpha.ledger.journal import (
    Journal,
    JournalBusyError,
    JournalError,
    JournalWriteError,
    read_journal,
    verify_journal,
)
from tests.ledger.factory import HOUR_MS, T0, JournalFactory, write_lines


def sample_lines(trades: int = 2, *, open_at_end: bool = False) -> list[dict[str, Any]]:
    """`trades` closed ETH trades, optionally followed by an open BTC position."""
    factory = JournalFactory()
    for i in range(trades):
        factory.trade("ETHUSDT", bar_ts=T0 + i * 2 * HOUR_MS, entry_price=2000.0, exit_price=2010.0)
    if open_at_end:
        factory.open("BTCUSDT", bar_ts=T0 + 99 * HOUR_MS, price=30_000.0, qty=0.01)
    return factory.lines


def open_journal(path: Path) -> tuple[Journal, list[dict[str, Any]], str | None]:
    return Journal.open(path)


def test_a_new_journal_starts_at_seq_1(tmp_path: Path) -> None:
    journal, lines, warning = open_journal(tmp_path / "trades.jsonl")
    with journal:
        assert (lines, warning, journal.next_seq) == ([], None, 1)
    assert (tmp_path / "trades.jsonl").read_bytes() == b""


def test_committed_lines_come_back_in_order_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    lines = sample_lines(2, open_at_end=True)
    journal, _, _ = open_journal(path)
    journal.append(lines[:2])
    assert journal.pending == 2
    assert journal.next_seq == 3
    assert journal.commit() == 2
    journal.append(lines[2:])
    assert journal.commit() == 3
    assert journal.commit() == 0
    journal.close()

    journal, read_back, warning = open_journal(path)
    journal.close()
    assert read_back == lines
    assert warning is None
    assert journal.next_seq == 6
    assert path.read_bytes() == b"".join(orjson.dumps(line) + b"\n" for line in lines)


def test_on_line_receives_each_line_instead_of_the_list(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    write_lines(path, sample_lines(2))
    seen: list[dict[str, Any]] = []
    journal, returned, _ = Journal.open(path, seen.append)
    journal.close()
    assert returned == []
    assert seen == sample_lines(2)


def test_uncommitted_lines_are_dropped_on_close_like_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    journal, _, _ = open_journal(path)
    journal.append(sample_lines(1))
    assert journal.close() == 2
    assert path.read_bytes() == b""


def test_append_refuses_a_wrong_seq_and_buffers_nothing_of_the_batch(tmp_path: Path) -> None:
    lines = sample_lines(2)
    journal, _, _ = open_journal(tmp_path / "trades.jsonl")
    with journal, pytest.raises(ValueError, match="seq 4 where 3 was expected"):
        journal.append([lines[0], lines[1], lines[3]])
    assert (journal.pending, journal.next_seq) == (0, 1)


def test_append_refuses_a_duplicate_fill_id(tmp_path: Path) -> None:
    lines = sample_lines(1)
    twin = {**lines[1], "seq": 3}
    journal, _, _ = open_journal(tmp_path / "trades.jsonl")
    with journal, pytest.raises(ValueError, match="duplicate fill_id"):
        journal.append([*lines, twin])
    assert journal.pending == 0


def test_append_refuses_an_invalid_line(tmp_path: Path) -> None:
    bad = {**sample_lines(1)[0], "qty": 0.0}
    journal, _, _ = open_journal(tmp_path / "trades.jsonl")
    with journal, pytest.raises(ValueError, match="qty"):
        journal.append([bad])


def test_append_refuses_a_close_of_a_trade_that_is_not_open(tmp_path: Path) -> None:
    close = {**sample_lines(1)[1], "seq": 1}
    journal, _, _ = open_journal(tmp_path / "trades.jsonl")
    with journal, pytest.raises(ValueError, match="closes trade"):
        journal.append([close])


def test_a_torn_last_line_is_quarantined_and_the_complete_lines_kept(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    lines = sample_lines(2)
    good = write_lines(path, lines[:3])
    torn = (orjson.dumps(lines[3]) + b"\n")[:57]
    path.write_bytes(good + torn)

    journal, read_back, warning = open_journal(path)
    journal.close()

    assert read_back == lines[:3]
    assert warning is not None
    assert "line 4" in warning
    assert "quarantine" in warning
    assert path.read_bytes() == good
    assert (tmp_path / "trades.jsonl.quarantine").read_bytes() == torn + b"\n"
    assert journal.next_seq == 4


def test_an_unparsable_last_line_with_its_newline_is_quarantined_too(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    good = write_lines(path, sample_lines(1))
    path.write_bytes(good + b"\x00\x00\x00\x00\n")
    journal, read_back, warning = open_journal(path)
    journal.close()
    assert len(read_back) == 2
    assert warning is not None
    assert path.read_bytes() == good
    assert (tmp_path / "trades.jsonl.quarantine").read_bytes() == b"\x00\x00\x00\x00\n"


def test_quarantines_accumulate_and_appending_resumes_after_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    lines = sample_lines(2)
    quarantine = tmp_path / "trades.jsonl.quarantine"
    write_lines(path, lines[:1])
    with path.open("ab") as f:
        f.write(b'{"seq":2,"fi')
    journal, _, _ = open_journal(path)
    journal.append(lines[1:3])
    journal.commit()
    journal.close()
    with path.open("ab") as f:
        f.write(b'{"seq":4')
    journal, read_back, _ = open_journal(path)
    journal.close()
    assert read_back == lines[:3]
    assert quarantine.read_bytes() == b'{"seq":2,"fi\n{"seq":4\n'


def test_a_damaged_middle_line_refuses_with_file_and_line_number(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    data = write_lines(path, sample_lines(2))
    damaged = data.replace(b'"seq":2,', b'"seq":2,,', 1)
    path.write_bytes(damaged)
    with pytest.raises(JournalError) as info:
        open_journal(path)
    assert info.value.line_no == 2
    assert str(info.value).startswith(f"{path}: line 2: not JSON")
    assert path.read_bytes() == damaged
    assert not (tmp_path / "trades.jsonl.quarantine").exists()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"qty": -1.0}, "qty"),
        ({"reason": "signal"}, "reason stop, target, timeout or reverse"),
        ({"bucket": 12}, "bucket"),
        ({"seq": 5}, "seq 5 where 2 was expected"),
        ({"fill_id": "ETHUSDT-1700006400000-open"}, "duplicate fill_id"),
        ({"trade_id": "nope"}, "closes trade 'nope'"),
    ],
)
def test_a_bad_complete_line_refuses_even_when_last(
    tmp_path: Path, change: dict[str, Any], problem: str
) -> None:
    path = tmp_path / "trades.jsonl"
    lines = sample_lines(1)
    write_lines(path, [lines[0], {**lines[1], **change}])
    with pytest.raises(JournalError, match=problem) as info:
        open_journal(path)
    assert info.value.line_no == 2


def test_a_second_open_while_a_position_is_open_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    lines = sample_lines(1)
    second = {**lines[0], "seq": 2, "fill_id": "x", "trade_id": "x"}
    write_lines(path, [lines[0], second])
    with pytest.raises(JournalError, match="while ETHUSDT still holds"):
        open_journal(path)


def _reopen(lines: list[dict[str, Any]], bar_ts: int, **change: Any) -> dict[str, Any]:
    """Another open of ETH after `lines`, at `bar_ts`, in the daemon's id form unless changed."""
    trade_id = f"ETHUSDT-{bar_ts}"
    ids = {"trade_id": trade_id, "fill_id": f"{trade_id}-open"}
    return {**lines[0], "seq": len(lines) + 1, "bar_ts": bar_ts, **ids, **change}


@pytest.mark.parametrize(
    ("bar_ts", "change", "problem"),
    [
        (T0 + 9 * HOUR_MS, {"trade_id": "ETHUSDT-x"}, "trade_id 'ETHUSDT-x' of an open is not"),
        (T0 + 9 * HOUR_MS, {"fill_id": "f"}, "fill_id 'f' of an open is not"),
        (T0 + 2 * HOUR_MS, {}, "duplicate fill_id 'ETHUSDT-1700013600000-open'"),
        (T0 - HOUR_MS, {}, "before ETHUSDT's previous open at bar_ts 1700013600000"),
    ],
    ids=["trade-id-form", "fill-id-form", "reopened-trade", "open-out-of-order"],
)
def test_an_open_must_carry_the_daemons_ids_in_bar_order(
    tmp_path: Path, bar_ts: int, change: dict[str, Any], problem: str
) -> None:
    path = tmp_path / "trades.jsonl"
    lines = sample_lines(2)
    write_lines(path, [*lines, _reopen(lines, bar_ts, **change)])
    with pytest.raises(JournalError, match=problem) as info:
        open_journal(path)
    assert info.value.line_no == 5


def test_a_close_repeated_later_is_a_duplicate_fill_id(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    lines = sample_lines(2)
    write_lines(path, [*lines, {**lines[3], "seq": 5}])
    with pytest.raises(JournalError, match="duplicate fill_id 'ETHUSDT-1700013600000-close'"):
        open_journal(path)


def test_verify_goes_on_after_a_sequence_problem(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    lines = sample_lines(3)
    write_lines(
        path,
        [
            *lines[:4],
            _reopen(lines[:4], T0, seq=5),
            *[{**line, "seq": line["seq"] + 1} for line in lines[4:]],
        ],
    )
    report = verify_journal(path)
    assert [p.split(":")[0] for p in report.problems] == ["line 5", "line 6"]


def test_a_valid_line_in_another_shape_is_accepted_and_normalised(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    lines = sample_lines(1)
    reshaped = dict(reversed(list(lines[0].items())))
    reshaped.update(fee_bps=10, entry_price=None)  # an int for a float, an explicit null
    write_lines(path, [reshaped, lines[1]])
    journal, read_back, _ = open_journal(path)
    journal.close()
    assert read_back == lines
    assert type(read_back[0]["fee_bps"]) is float


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    journal, _, _ = open_journal(path)
    with journal, pytest.raises(JournalBusyError, match="another process"):
        open_journal(path)


def test_a_journal_that_cannot_be_opened_for_writing_is_a_write_failure(tmp_path: Path) -> None:
    with pytest.raises(JournalWriteError, match="is a directory, not a regular file"):
        open_journal(tmp_path)


def test_a_failed_write_is_fail_stop(tmp_path: Path) -> None:
    journal, _, _ = open_journal(tmp_path / "trades.jsonl")
    full = os.open("/dev/full", os.O_WRONLY)
    try:
        os.dup2(full, journal._fd)  # type: ignore[arg-type]  # the disk fills up under the journal
    finally:
        os.close(full)
    lines = sample_lines(1)
    journal.append(lines[:1])
    with pytest.raises(JournalWriteError) as info:
        journal.commit()
    assert info.value.path == tmp_path / "trades.jsonl"
    assert info.value.cause.errno == errno.ENOSPC
    with pytest.raises(JournalWriteError):
        journal.append(lines[1:])
    journal.close()


def test_a_closed_journal_refuses_appends(tmp_path: Path) -> None:
    journal, _, _ = open_journal(tmp_path / "trades.jsonl")
    journal.close()
    with pytest.raises(ValueError, match="closed"):
        journal.append(sample_lines(1))


def test_verify_reports_counts_and_open_positions(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    write_lines(path, sample_lines(2, open_at_end=True))
    report = verify_journal(path)
    assert report.ok
    assert (report.lines, report.fills, report.closed_trades) == (5, 5, 2)
    assert report.open_positions == {"BTCUSDT": f"BTCUSDT-{T0 + 99 * HOUR_MS}"}


def test_verify_lists_every_problem_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    lines = sample_lines(3)
    data = write_lines(path, [lines[0], {**lines[1], "qty": -1.0}, *lines[2:4], lines[5]])
    data += b'{"seq":'
    path.write_bytes(data)
    report = verify_journal(path)
    assert not report.ok
    assert [p.split(":")[0] for p in report.problems] == ["line 2", "line 5", "line 6"]
    assert "torn last line" in report.problems[-1]
    assert path.read_bytes() == data


def test_read_journal_skips_a_torn_tail_without_touching_the_file(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    data = write_lines(path, sample_lines(1)) + b'{"seq":3'
    path.write_bytes(data)
    seen: list[dict[str, Any]] = []
    assert read_journal(path, seen.append) == 2
    assert len(seen) == 2
    assert path.read_bytes() == data


@pytest.mark.parametrize("where", [1, 3, 4])
def test_an_over_long_line_is_damage_naming_it_whether_or_not_it_is_last(
    tmp_path: Path, where: int
) -> None:
    path = tmp_path / "trades.jsonl"
    data = write_lines(path, sample_lines(2)).splitlines(keepends=True)
    long = b" " * 100_000 + b"\n"
    path.write_bytes(b"".join([*data[:where], long, *data[where:]]))
    before = path.read_bytes()
    with pytest.raises(JournalError, match=f"line {where + 1}: a line of 100001 bytes"):
        open_journal(path)
    assert path.read_bytes() == before
    report = verify_journal(path)
    assert any(p.startswith(f"line {where + 1}: a line of 100001 bytes") for p in report.problems)
