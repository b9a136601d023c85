"""The checkpoint: a cache of recovery bound to the journal's bytes; any doubt, full recovery."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine_alpha.core.atomic_files import WriteFailedError
from engine_alpha.execution.book import Book
from engine_alpha.ledger.checkpoint import (
    Checkpointer,
    Recovery,
    checkpoint_path,
    read_checkpoint,
    recover,
    save_checkpoint,
)
from engine_alpha.ledger.journal import Journal, JournalError
from engine_alpha.ledger.pf_report import build_report, report_differences, report_from_book
from tests.ledger.factory import HOUR_MS, T0, JournalFactory, write_lines

SYMBOLS = ["ETHUSDT", "BTCUSDT", "SOLUSDT"]
EQUITY = {"ETHUSDT": 5000.0, "BTCUSDT": 5000.0}


def random_lines(steps: list[tuple[int, float]]) -> list[dict[str, Any]]:
    """A valid journal: each step opens or closes the symbol it names, an hour after the last."""
    factory = JournalFactory()
    base = {"ETHUSDT": 2000.0, "BTCUSDT": 30_000.0, "SOLUSDT": 50.0}
    for i, (which, move) in enumerate(steps):
        symbol = SYMBOLS[which]
        price = base[symbol] * (1.0 + move)
        if symbol in factory._open:
            factory.close(symbol, bar_ts=T0 + i * HOUR_MS, price=price)
        else:
            qty = 0.1 if symbol != "SOLUSDT" else 3.0
            direction = "long" if move >= 0 else "short"
            factory.open(symbol, bar_ts=T0 + i * HOUR_MS, price=price, qty=qty, direction=direction)
    return factory.lines


def sample_lines() -> list[dict[str, Any]]:
    moves = [0.01, -0.02, 0.03, -0.01, 0.02, 0.0, -0.03, 0.015, 0.005, -0.004]
    return random_lines([(i % 3, moves[i % len(moves)]) for i in range(40)])


def report(book: Any, as_of: int | None, equity: dict[str, float] = EQUITY) -> dict[str, Any]:
    return report_from_book(
        book,
        symbols=SYMBOLS,
        starting_equity_usd=10_000.0,
        asset_equity_usd=equity,
        as_of_bar_ts=as_of,
        generated_at="x",
    )


def checkpointed(directory: Path, lines: list[dict[str, Any]], cut: int) -> Path:
    """A journal of `lines` whose checkpoint covers the first `cut` of them."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "trades.jsonl"
    write_lines(path, lines[:cut])
    book = Book()
    journal, _, _ = Journal.open(path, book.apply)
    report(book, book.last_bar_ts)  # the daemon's book has accumulators when it saves
    save_checkpoint(journal, book)
    journal.close()
    with path.open("ab") as f:
        f.write(b"".join(orjson.dumps(line) + b"\n" for line in lines[cut:]))
    return path


def full_recovery(path: Path, tmp: Path) -> tuple[Book, int]:
    """The reference: every line read, no checkpoint (a copy of the journal alone)."""
    alone = tmp / "alone"
    alone.mkdir(exist_ok=True)
    shutil.copyfile(path, alone / "trades.jsonl")
    book = Book()
    journal, _, _ = Journal.open(alone / "trades.jsonl", book.apply)
    journal.close()
    return book, journal.next_seq


def recovered(path: Path) -> tuple[Book, Recovery]:
    book = Book()
    recovery = recover(path, book, recheck_lines=0)
    recovery.journal.close()
    return book, recovery


def assert_same_state(book: Book, reference: Book, lines: list[dict[str, Any]]) -> None:
    assert book.positions == reference.positions
    assert (book.lines, book.last_bar_ts) == (reference.lines, reference.last_bar_ts)
    assert list(book.closed.pnls()) == list(reference.closed.pnls())
    for as_of in (None, book.last_bar_ts):
        for equity in (EQUITY, {"ETHUSDT": 777.0}):
            from_book = report(book, as_of, equity)
            assert report_differences(from_book, report(reference, as_of, equity)) == []
            expected = build_report(
                lines,
                symbols=SYMBOLS,
                starting_equity_usd=10_000.0,
                asset_equity_usd=equity,
                as_of_bar_ts=as_of,
                generated_at="x",
            )
            assert report_differences(from_book, expected) == []


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 2), st.floats(-0.05, 0.05, allow_nan=False)), max_size=40
    ),
    cut_fraction=st.floats(0.0, 1.0),
)
def test_a_checkpoint_gives_the_state_of_a_full_recovery(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[int, float]], cut_fraction: float
) -> None:
    tmp = tmp_path_factory.mktemp("journal")
    lines = random_lines(steps)
    cut = int(len(lines) * cut_fraction)
    path = checkpointed(tmp, lines, cut)
    book, recovery = recovered(path)
    reference, next_seq = full_recovery(path, tmp)
    assert (recovery.resumed_lines, recovery.checkpoint_problem) == (cut, None)
    assert recovery.journal.next_seq == next_seq == len(lines) + 1
    assert_same_state(book, reference, lines)


def test_appending_after_a_resumed_open_continues_the_sequence_and_the_digest(
    tmp_path: Path,
) -> None:
    lines = sample_lines()
    path = checkpointed(tmp_path, lines, 20)
    book = Book()
    recovery = recover(path, book, recheck_lines=0)
    with recovery.journal as journal:
        assert recovery.resumed_lines == 20
        more = JournalFactory(next_seq=len(lines) + 1)
        more.trade("ADAUSDT", bar_ts=T0 + 100 * HOUR_MS, entry_price=0.3, exit_price=0.31)
        journal.append(more.lines)
        journal.commit()
        snap = journal.snapshot()
    data = path.read_bytes()
    assert (snap.offset, snap.lines) == (len(data), len(lines) + 2)
    assert snap.sha256 == hashlib.sha256(data).hexdigest()


def test_a_journal_appended_after_its_checkpoint_reads_only_the_new_lines(tmp_path: Path) -> None:
    lines = sample_lines()
    path = checkpointed(tmp_path, lines, 10)
    seen: list[dict[str, Any]] = []
    book = Book()

    def apply(line: dict[str, Any]) -> None:
        seen.append(line)
        book.apply(line)

    restore = book.restore
    recovery = recover(path, _Spy(book, apply, restore), recheck_lines=0)
    recovery.journal.close()
    assert recovery.resumed_lines == 10
    assert seen == lines[10:]
    assert_same_state(book, full_recovery(path, tmp_path)[0], lines)


class _Spy:
    """A Checkpointable that sees every applied line (what was read, not restored)."""

    def __init__(self, book: Book, apply: Any, restore: Any) -> None:
        self.book, self.apply, self.restore = book, apply, restore

    @property
    def lines(self) -> int:
        return self.book.lines

    def snapshot(self) -> dict[str, Any]:
        return self.book.snapshot()


def _flip_wall_ts_digit(path: Path) -> None:
    """Change one digit of the first line's wall_ts: still a valid journal, another one."""
    data = bytearray(path.read_bytes())
    at = data.index(b'"wall_ts":"2023') + len(b'"wall_ts":"202')
    data[at] = ord("4")
    path.write_bytes(bytes(data))


def _truncate_to_15_lines(path: Path) -> None:
    data = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(data[:15]))


def _garbage(path: Path) -> None:
    checkpoint_path(path).write_bytes(b"\x00garbage\n{not json")


def _other_version(path: Path) -> None:
    cp = checkpoint_path(path)
    head, _, body = cp.read_bytes().partition(b"\n")
    cp.write_bytes(orjson.dumps({**orjson.loads(head), "version": 99}) + b"\n" + body)


def _cut_checkpoint(path: Path) -> None:
    cp = checkpoint_path(path)
    cp.write_bytes(cp.read_bytes()[:-10])


def _inconsistent_state(path: Path) -> None:
    """A well-formed checkpoint whose book disagrees with its own sequence state."""
    cp = checkpoint_path(path)
    head, _, body = cp.read_bytes().partition(b"\n")
    content = orjson.loads(body)
    content["book"]["lines"] += 2
    body = orjson.dumps(content)
    header = {**orjson.loads(head), "body_sha256": hashlib.sha256(body).hexdigest()}
    cp.write_bytes(orjson.dumps(header) + b"\n" + body)


def journal_lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines()]


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (_flip_wall_ts_digit, "are not the ones it was made from"),
        (_truncate_to_15_lines, "the journal has no line end there"),
        (_garbage, "not a checkpoint"),
        (_other_version, "version 99"),
        (_cut_checkpoint, "does not match its SHA-256"),
        (_inconsistent_state, "inconsistent"),
    ],
    ids=["byte-changed", "journal-truncated", "garbage", "version", "cut", "inconsistent"],
)
def test_a_checkpoint_that_does_not_match_is_ignored_for_a_full_recovery(
    tmp_path: Path, damage: Callable[[Path], None], problem: str
) -> None:
    path = checkpointed(tmp_path / "reports", sample_lines(), 30)
    damage(path)
    book, recovery = recovered(path)
    assert recovery.resumed_lines == 0
    assert recovery.checkpoint_problem is not None
    assert problem in recovery.checkpoint_problem
    assert_same_state(book, full_recovery(path, tmp_path)[0], journal_lines(path))


def test_no_checkpoint_file_is_no_problem(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    write_lines(path, sample_lines())
    book, recovery = recovered(path)
    assert (recovery.resumed_lines, recovery.checkpoint_problem) == (0, None)
    assert book.lines == len(sample_lines())


def test_a_torn_tail_after_the_checkpoint_is_quarantined(tmp_path: Path) -> None:
    lines = sample_lines()
    path = checkpointed(tmp_path, lines[:-1], 25)
    good = path.read_bytes()
    torn = (orjson.dumps(lines[-1]) + b"\n")[:40]
    path.write_bytes(good + torn)
    book, recovery = recovered(path)
    assert recovery.resumed_lines == 25
    assert recovery.torn_warning is not None and "quarantine" in recovery.torn_warning
    assert path.read_bytes() == good
    assert (tmp_path / "trades.jsonl.quarantine").read_bytes() == torn + b"\n"
    assert_same_state(book, full_recovery(path, tmp_path)[0], lines[:-1])
    assert recovery.journal.next_seq == len(lines)


def test_damage_after_the_checkpoint_still_refuses_with_its_line(tmp_path: Path) -> None:
    lines = sample_lines()
    path = checkpointed(tmp_path, lines, 20)
    data = path.read_bytes().splitlines(keepends=True)
    data[25] = data[25].replace(b'"qty":', b'"qty":"x",', 1)
    path.write_bytes(b"".join(data))
    with pytest.raises(JournalError, match="line 26"):
        recovered(path)


def test_saving_with_lines_pending_or_a_book_ahead_is_refused(tmp_path: Path) -> None:
    lines = sample_lines()
    path = tmp_path / "trades.jsonl"
    book = Book()
    with Journal.open(path, book.apply)[0] as journal:
        journal.append(lines[:2])
        with pytest.raises(ValueError, match="not committed"):
            save_checkpoint(journal, book)
        journal.commit()
        with pytest.raises(ValueError, match="the book has applied 0 lines"):
            save_checkpoint(journal, book)
    assert not checkpoint_path(path).exists()


def test_the_file_holds_the_journal_digest_and_is_replaced_atomically(tmp_path: Path) -> None:
    path = checkpointed(tmp_path, sample_lines(), 12)
    snap, _, _ = read_checkpoint(checkpoint_path(path))
    data = path.read_bytes()
    assert snap.lines == 12
    assert snap.sha256 == hashlib.sha256(data[: snap.offset]).hexdigest()
    assert data[snap.offset - 1 : snap.offset] == b"\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trades.jsonl", "trades.jsonl.checkpoint"]


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_checkpointer_saves_after_enough_lines_or_time(tmp_path: Path) -> None:
    lines = sample_lines()
    path = tmp_path / "trades.jsonl"
    book, clock = Book(), _Clock()
    with Journal.open(path, book.apply)[0] as journal:
        every = Checkpointer(journal, book, saved_lines=0, clock=clock, every_lines=10, every_s=60)
        for line in lines[:9]:
            book.apply(line)
            journal.append([line])
            journal.commit()
            every.save_if_due()
        assert not checkpoint_path(path).exists()
        clock.now = 60.0
        every.save_if_due()
        assert read_checkpoint(checkpoint_path(path))[0].lines == 9
        for line in lines[9:19]:
            book.apply(line)
            journal.append([line])
        journal.commit()
        assert every.due()
        every.save_if_due()
        assert read_checkpoint(checkpoint_path(path))[0].lines == 19
        assert not every.due()


def test_a_checkpoint_that_cannot_be_written_raises_write_failed_naming_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "trades.jsonl"
    book = Book()
    checkpoint_path(path).mkdir()  # os.replace cannot put a file there
    with Journal.open(path, book.apply)[0] as journal:
        every = Checkpointer(journal, book, saved_lines=0, clock=_Clock())
        with pytest.raises(WriteFailedError) as failed:
            every.save()
    assert failed.value.path == checkpoint_path(path)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
