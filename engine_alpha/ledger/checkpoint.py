"""`reports/trades.jsonl.checkpoint`: a verified cache of what recovery folds from the journal.

The journal stays the only source of truth; a checkpoint is a cache bound to its bytes. It
records, at a commit, the journal's length in bytes and lines, the SHA-256 of those bytes, the
journal's sequence state and the book's state. At start it is used only when the journal's
first bytes still hash to it: the state is restored and only the lines after it are read (a
torn tail there is quarantined as usual). On any mismatch (journal shorter, bytes differ,
unreadable file, unknown version, inconsistent state) it is ignored with a warning, and every
line is read. Saved atomically (temp file, fsync, rename): by the daemon after a commit that
brings `EVERY_LINES` new lines (in live mode after every commit) and at a clean shutdown.
Saving reads nothing of the journal: the journal keeps the SHA-256 of its committed bytes.

In live mode the checkpoint also carries the live state (`live`: each asset's model state and
the pending orders, as of the last bar time stepped and committed), saved after every commit,
so a restart continues the models instead of warming them up (docs/operations.md). It is
verified with the rest of the body and ignored with it.

File: one JSON header line (`format`, `version`, `body_sha256`), then the JSON body.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import orjson

from engine_alpha.core.atomic_files import WriteFailedError, open_regular, replace_atomic
from engine_alpha.ledger.journal import (
    FillDict,
    Journal,
    JournalFacts,
    JournalSnapshot,
    Resume,
    read_journal,
)
from engine_alpha.ledger.pf_report import report_differences

__all__ = [
    "CHECKPOINT_SUFFIX",
    "EVERY_LINES",
    "VERSION",
    "CheckpointError",
    "Checkpointable",
    "Checkpointer",
    "Recovery",
    "check_checkpoint",
    "checkpoint_path",
    "read_checkpoint",
    "recover",
    "save_checkpoint",
]

CHECKPOINT_SUFFIX = ".checkpoint"
FORMAT = "chloe-journal-checkpoint"
VERSION = 1
EVERY_LINES = 25_000
RECHECK_LINES = 100_000


class CheckpointError(ValueError):
    """The checkpoint file cannot be used: the message says why."""


class Checkpointable(Protocol):
    """The state recovery folds journal lines into (the daemon's Book)."""

    @property
    def lines(self) -> int: ...
    def apply(self, line: FillDict) -> None: ...
    def snapshot(self) -> dict[str, Any]: ...
    def restore(self, state: Any, facts: JournalFacts) -> None: ...


def checkpoint_path(journal_path: Path) -> Path:
    """`trades.jsonl` -> `trades.jsonl.checkpoint`, beside it."""
    return journal_path.with_name(journal_path.name + CHECKPOINT_SUFFIX)


def save_checkpoint(journal: Journal, fold: Checkpointable, live: Any = None) -> Path:
    """Write the checkpoint of `journal`'s committed lines and `fold`'s state of them.

    `live` (JSON data, optional) is saved with them in the same atomic step.

    ValueError when lines are pending or `fold` has applied a different number of lines (its
    state would not be the journal's); OSError when the file cannot be written.
    """
    snap = journal.snapshot()
    if fold.lines != snap.lines:
        raise ValueError(f"the book has applied {fold.lines} lines, the journal holds {snap.lines}")
    body = orjson.dumps(
        {
            "journal": {"offset": snap.offset, "lines": snap.lines, "sha256": snap.sha256},
            "sequence": snap.sequence,
            "book": fold.snapshot(),
            **({"live": live} if live is not None else {}),
        }
    )
    header = {"format": FORMAT, "version": VERSION, "body_sha256": hashlib.sha256(body).hexdigest()}
    path = checkpoint_path(journal.path)
    replace_atomic(path, orjson.dumps(header) + b"\n" + body)
    return path


def read_checkpoint(path: Path) -> tuple[JournalSnapshot, Any, Any]:
    """The journal snapshot, book state and live state (or None) of a checkpoint file.

    CheckpointError if unusable,

    FileNotFoundError when there is none.
    """
    try:
        data = _read_regular(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CheckpointError(f"cannot be read: {exc}") from None
    head, newline, body = data.partition(b"\n")
    try:
        header = orjson.loads(head)
        fmt, version, digest = header["format"], header["version"], header["body_sha256"]
    except (orjson.JSONDecodeError, TypeError, KeyError):
        raise CheckpointError("not a checkpoint (no valid header line)") from None
    if fmt != FORMAT or version != VERSION:
        raise CheckpointError(f"format {fmt!r} version {version!r}, expected {VERSION}")
    if not newline or hashlib.sha256(body).hexdigest() != digest:
        raise CheckpointError("its body does not match its SHA-256 (damaged or cut)")
    try:
        content = orjson.loads(body)
        snap = JournalSnapshot(
            offset=_count(content["journal"]["offset"]),
            lines=_count(content["journal"]["lines"]),
            sha256=str(content["journal"]["sha256"]),
            sequence=content["sequence"],
        )
        return snap, content["book"], content.get("live")
    except (orjson.JSONDecodeError, TypeError, KeyError, ValueError) as exc:
        raise CheckpointError(f"malformed body: {exc!r}") from None


def _read_regular(path: Path) -> bytes:
    """The bytes of `path`; NotRegularFileError for a symlink or FIFO (which would block)."""
    with os.fdopen(open_regular(path, os.O_RDONLY), "rb") as f:
        return f.read()


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


@dataclass(frozen=True, slots=True)
class Recovery:
    """The open journal, and how it was recovered."""

    journal: Journal
    torn_warning: str | None
    resumed_lines: int
    checkpoint_problem: str | None
    live_state: Any = None


def recover(
    journal_path: Path, fold: Checkpointable, *, recheck_lines: int = RECHECK_LINES
) -> Recovery:
    """Open the journal into `fold`, from its checkpoint when that matches the journal.

    A checkpoint is a cache, so it is checked against the journal it claims to summarise, not
    only against its own hash (which anyone editing it can recompute): its last line must be
    the journal's (seq and bar time), and when it covers at most `recheck_lines` lines (about a
    second of reading) its whole book state must equal a recomputation from those lines. Any
    mismatch and it is ignored, with its live state. `resumed_lines` is how many lines the
    checkpoint spared reading (0: every line was read); `checkpoint_problem` says why an
    existing checkpoint was not used.
    """
    resume: Resume | None = None
    problem: str | None = None
    live: Any = None
    recheck: tuple[JournalSnapshot, Any] | None = None
    with contextlib.suppress(FileNotFoundError):
        try:
            snap, state, live = read_checkpoint(checkpoint_path(journal_path))
            last_line_problem(journal_path, snap, state)
        except CheckpointError as exc:
            problem = str(exc)
        else:
            if 0 < snap.lines <= recheck_lines:
                recheck = snap, state
            else:
                resume = Resume(snap, partial(fold.restore, state))
    if recheck is not None:
        capture = _Capture(fold, recheck[0].lines)
        journal, _, torn = Journal.open(journal_path, capture.apply)
        problem = capture.problem(recheck[1])
        return Recovery(journal, torn, 0, problem, live if problem is None else None)
    journal, _, torn = Journal.open(journal_path, fold.apply, resume=resume)
    problem = problem or journal.resume_problem
    used = resume is not None and journal.resume_problem is None
    return Recovery(journal, torn, journal.resumed_lines, problem, live if used else None)


def check_checkpoint(journal_path: Path, fold: Checkpointable) -> str | None:
    """Why the checkpoint beside the journal does not match it (None: it does, or there is none).

    Read-only, and always the full recomputation (`chloe journal verify`); `fold` is fresh.
    """
    try:
        snap, state, _ = read_checkpoint(checkpoint_path(journal_path))
        last_line_problem(journal_path, snap, state)
    except FileNotFoundError:
        return None
    except CheckpointError as exc:
        return str(exc)
    capture = _Capture(fold, snap.lines)
    read_journal(journal_path, capture.apply)
    return capture.problem(state)


def last_line_problem(journal_path: Path, snap: JournalSnapshot, state: Any) -> None:
    """CheckpointError unless the checkpoint's last line is the journal's (seq, bar time)."""
    if snap.lines == 0:
        return
    try:
        with journal_path.open("rb") as f:
            start = max(0, snap.offset - _LAST_LINE_MAX)
            f.seek(start)
            data = f.read(snap.offset - start)
    except OSError as exc:
        raise CheckpointError(f"the journal cannot be read: {exc}") from None
    if len(data) != snap.offset - start or not data.endswith(b"\n"):
        raise CheckpointError(f"it covers {snap.offset} bytes, the journal has no line end there")
    last = data[data.rfind(b"\n", 0, len(data) - 1) + 1 :]
    try:
        line = orjson.loads(last)
        seq, bar_ts = line["seq"], line["bar_ts"]
    except (orjson.JSONDecodeError, TypeError, KeyError):
        raise CheckpointError("the journal line where it ends is not a fill") from None
    book_ts = state.get("last_bar_ts") if isinstance(state, dict) else None
    if seq != snap.lines or bar_ts != book_ts:
        raise CheckpointError(
            f"it ends at seq {snap.lines}, bar_ts {book_ts!r}; the journal line there has "
            f"seq {seq!r}, bar_ts {bar_ts!r}"
        )


_LAST_LINE_MAX = 1 << 16


class _Capture:
    """Folds the first `lines` lines into `fold` and keeps its state at that point."""

    def __init__(self, fold: Checkpointable, lines: int) -> None:
        self.fold = fold
        self.lines = lines
        self.state: Any = orjson.loads(orjson.dumps(fold.snapshot())) if lines == 0 else None

    def apply(self, line: FillDict) -> None:
        self.fold.apply(line)
        if self.fold.lines == self.lines:
            self.state = orjson.loads(orjson.dumps(self.fold.snapshot()))

    def problem(self, saved: Any) -> str | None:
        """Why `saved` is not the state recomputed from the journal, or None."""
        if self.state is None:
            return f"it covers {self.lines} lines, the journal holds fewer"
        diffs = report_differences({"book": saved}, {"book": self.state})
        if not diffs:
            return None
        return f"its book differs from a recomputation from the journal's lines: {diffs[0][:300]}"


class Checkpointer:
    """When the daemon saves: `every_lines` new lines, or `every_s` seconds with new lines.

    With `live_state` (live mode) it saves after every commit, the live state included: the
    models move with every bar time, fills or not.
    """

    def __init__(
        self,
        journal: Journal,
        fold: Checkpointable,
        *,
        saved_lines: int,
        clock: Callable[[], float],
        every_lines: int = EVERY_LINES,
        every_s: float | None = None,
        live_state: Callable[[], Any] | None = None,
    ) -> None:
        self._journal = journal
        self._fold = fold
        self._clock = clock
        self._every_lines = every_lines
        self._every_s = every_s
        self._live_state = live_state
        self._saved_lines = saved_lines
        self._saved_at = clock()

    def due(self) -> bool:
        """True when enough lines or time have gone by since the last save (always, when live)."""
        if self._live_state is not None:
            return True
        new = self._fold.lines - self._saved_lines
        if new >= self._every_lines:
            return True
        return (
            self._every_s is not None
            and new > 0
            and self._clock() - self._saved_at >= self._every_s
        )

    def save_if_due(self) -> None:
        """Save when `due`."""
        if self.due():
            self.save()

    def save(self) -> None:
        """Save now; `WriteFailedError` when the file cannot be written (fail-stop)."""
        live = self._live_state() if self._live_state is not None else None
        try:
            save_checkpoint(self._journal, self._fold, live)
        except OSError as exc:
            raise WriteFailedError(checkpoint_path(self._journal.path), exc) from exc
        self._saved_lines = self._fold.lines
        self._saved_at = self._clock()
