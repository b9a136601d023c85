"""Following the reports as they grow: after any sequence of appends, cut anywhere (inside a
line, inside a commit group), the tail holds exactly what a full read of the same bytes holds;
a file that shrank or was replaced is read again; damage in the new part raises and leaves
what was read."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.ledger.journal import JournalError
from engine_alpha.ledger.reports_dir import SIGNALS_FILE, TRADES_FILE
from engine_alpha.ops.events import EVENTS_FILE
from engine_alpha.ops.reports_reader import load_reports
from engine_alpha.ops.reports_tail import ReportsTail
from tests.conftest import FILES, Files


def _same(tail: ReportsTail, reports: Path) -> None:
    full = load_reports(reports)
    snap = tail.snapshot
    assert snap.lines == full.lines
    assert snap.signals == full.signals
    assert snap.events == full.events


@given(cuts=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_any_appends_read_piece_by_piece_equal_one_full_read(
    replayed_reports: Files, tmp_path_factory: pytest.TempPathFactory, cuts: list[float]
) -> None:
    reports = tmp_path_factory.mktemp("reports")
    tail = ReportsTail(reports)
    tail.advance()  # nothing there yet
    written = dict.fromkeys(FILES, 0)
    for cut in [*sorted(cuts), 1.0]:
        for name, data in replayed_reports.items():
            upto = int(len(data) * cut)
            if upto > written[name]:
                with (reports / name).open("ab") as f:
                    f.write(data[written[name] : upto])
                written[name] = upto
        tail.advance()
        whole = {n: (reports / n).read_bytes() if (reports / n).exists() else b"" for n in FILES}
        complete = {n: whole[n][: whole[n].rfind(b"\n") + 1] for n in FILES}
        # a full read of the complete lines (a partial last line waits in the tail)
        shadow = tmp_path_factory.mktemp("shadow")
        for n in FILES:
            (shadow / n).write_bytes(complete[n])
        full = load_reports(shadow)
        assert tail.snapshot.signals == full.signals
        assert tail.snapshot.events == full.events
        assert tail.snapshot.lines == full.lines  # a torn commit group is left out by both
    _same(tail, reports)


def test_a_file_that_shrank_or_was_replaced_is_read_again(
    replayed_reports: Files, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    for name, data in replayed_reports.items():
        (reports / name).write_bytes(data)
    tail = ReportsTail(reports)
    tail.advance()
    _same(tail, reports)
    signals = replayed_reports[SIGNALS_FILE]
    cut = signals[: signals.index(b"\n", len(signals) // 2) + 1]
    (reports / SIGNALS_FILE).write_bytes(cut)  # cut back in place (as a restart does)
    tail.advance()
    _same(tail, reports)
    replacement = reports / "events.new"
    replacement.write_bytes(
        replayed_reports[EVENTS_FILE][: replayed_reports[EVENTS_FILE].index(b"\n") + 1]
    )
    replacement.replace(reports / EVENTS_FILE)  # a new file under the same name
    tail.advance()
    _same(tail, reports)
    (reports / TRADES_FILE).unlink()
    tail.advance()
    assert tail.snapshot.lines == [] and tail.snapshot.present[TRADES_FILE] is False


def test_damage_in_the_new_part_raises_and_what_was_read_stays(
    replayed_reports: Files, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    journal = replayed_reports[TRADES_FILE]
    half = journal.index(b"\n", len(journal) // 2) + 1
    (reports / TRADES_FILE).write_bytes(journal[:half])
    tail = ReportsTail(reports)
    tail.advance()
    before = list(tail.snapshot.lines)
    assert before
    with (reports / TRADES_FILE).open("ab") as f:
        f.write(b'{"not": "a fill"}\n' + journal[half:])
    for _ in range(2):  # and again: nothing is handed out twice
        with pytest.raises(JournalError):
            tail.advance()
        assert tail.snapshot.lines == before
