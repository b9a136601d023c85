"""The trade journal `reports/trades.jsonl`: the only code that opens it (SPEC §4).

Append-only, one fill per line, group commit (one write + fsync per `commit`). At open every
line is validated, `seq` must run 1, 2, 3, ..., `fill_id`s must be unique and every close must
close the open trade of its symbol. Lines are read one bar time at a time (`group_end_seq`): a
last bar time left incomplete or damaged by a crash (a torn commit: a cut line, a line end inside
it, zeroed bytes) is moved whole to `<journal>.quarantine`, so recovery resumes before it and that
bar time runs again; damage anywhere else raises JournalError and the daemon refuses to start.
A checkpoint whose SHA-256 matches the journal's first bytes (`Resume`, `ledger/checkpoint.py`)
stands in for reading them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import orjson
from pydantic import ValidationError

from engine_alpha.core.atomic_files import WriteFailedError, fsync_dir, open_regular
from engine_alpha.core.bounded_lines import LongLine, bounded_lines
from engine_alpha.ledger.arithmetic import fill_arithmetic_problem
from engine_alpha.ledger.records import FillLine

if TYPE_CHECKING:
    from hashlib import _Hash as Hash

__all__ = [
    "QUARANTINE_SUFFIX",
    "FillDict",
    "Journal",
    "JournalBusyError",
    "JournalError",
    "JournalFacts",
    "JournalReport",
    "JournalSnapshot",
    "JournalWriteError",
    "Resume",
    "read_journal",
    "verify_journal",
]

FillDict = dict[str, Any]
OnLine = Callable[[FillDict], object]
QUARANTINE_SUFFIX = ".quarantine"
_MAX_PROBLEMS = 100
_HASH_CHUNK = 1 << 20
# A fill line is under 1 KiB; a longer line is damage, measured but never held in memory.
MAX_LINE_BYTES = 64 * 1024
_T = TypeVar("_T")


class JournalError(Exception):
    """The journal cannot be trusted: the message names the file, the line and the problem."""

    def __init__(self, path: Path, line_no: int | None, problem: str) -> None:
        where = f"{path}: line {line_no}" if line_no is not None else str(path)
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line_no = line_no
        self.problem = problem


class JournalBusyError(JournalError):
    """Another process holds the journal open for writing."""


class JournalWriteError(WriteFailedError):
    """A write, flush or fsync of the journal failed, or it cannot be opened for writing."""


def _json_type(annotation: Any) -> type:
    if get_origin(annotation) is Literal:
        return type(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return _json_type(next(a for a in get_args(annotation) if a is not type(None)))
    if get_origin(annotation) is Annotated:
        return _json_type(get_args(annotation)[0])
    assert isinstance(annotation, type)
    return annotation


_FIELDS = FillLine.model_fields
_MARKER = "group_end_seq"
_COMMON = tuple(name for name, f in _FIELDS.items() if f.is_required())
_OPEN_ONLY = ("stop_price", "target_price", "expires_bar_ts")
_COSTS = ("reference_price", "tick_size", "slippage_paid_bps")
_CLOSE_ONLY = tuple(
    name for name in _FIELDS if name not in _COMMON and name not in (*_OPEN_ONLY, _MARKER, *_COSTS)
)


def _as_parsed(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The keys as orjson's key cache returns them, so comparing tuples hits identity (faster)."""
    return tuple(orjson.loads(orjson.dumps(dict.fromkeys(keys))))


_LITERAL_KEYS = ("action", "mode", "side", "direction", "reason")
_, _MODES, _SIDES, _DIRECTIONS, _REASONS = (get_args(_FIELDS[k].annotation) for k in _LITERAL_KEYS)
_OPEN_LITERALS = frozenset(product(("open",), _MODES, _SIDES, _DIRECTIONS, ("signal",)))
_CLOSE_LITERALS = frozenset(
    product(("close",), _MODES, _SIDES, _DIRECTIONS, [r for r in _REASONS if r != "signal"])
)


def _shape(keys: tuple[str, ...], literals: frozenset[tuple[str, ...]]) -> tuple[Any, ...]:
    parsed = _as_parsed(keys)
    return parsed, (tuple(_json_type(_FIELDS[k].annotation) for k in parsed), literals)


# Key order as `append` writes it (the model's field order) -> (value types, literal tuples).
# Lines written before fills recorded their costs, or before commit groups, are canonical too.
_SHAPES: dict[tuple[str, ...], tuple[tuple[type, ...], frozenset[tuple[str, ...]]]] = dict(
    (
        _shape(_COMMON + _OPEN_ONLY + (_MARKER, *_COSTS), _OPEN_LITERALS),
        _shape(_COMMON + _CLOSE_ONLY + (_MARKER, *_COSTS), _CLOSE_LITERALS),
        _shape(_COMMON + _OPEN_ONLY + (_MARKER,), _OPEN_LITERALS),
        _shape(_COMMON + _CLOSE_ONLY + (_MARKER,), _CLOSE_LITERALS),
        _shape(_COMMON + _OPEN_ONLY, _OPEN_LITERALS),
        _shape(_COMMON + _CLOSE_ONLY, _CLOSE_LITERALS),
    )
)
_I = {name: i for i, name in enumerate(_COMMON)}
_SEQ, _QTY, _PRICE, _NOTIONAL = _I["seq"], _I["qty"], _I["price"], _I["notional_usd"]
_FEE, _FEE_BPS, _SLIP = _I["fee_usd"], _I["fee_bps"], _I["slippage_bps"]
_CONF, _BUCKET = _I["confidence"], _I["bucket"]
_ACTION, _MODE, _SIDE, _DIR, _REASON = (_I[k] for k in _LITERAL_KEYS)


def _is_canonical(line: Any) -> bool:
    """True when `line` is certainly a valid FillLine in the key order `append` writes."""
    if type(line) is not dict:
        return False
    shape = _SHAPES.get(tuple(line))
    if shape is None:
        return False
    expected_types, literals = shape
    v = tuple(line.values())
    return (
        tuple(map(type, v)) == expected_types
        and (v[_ACTION], v[_MODE], v[_SIDE], v[_DIR], v[_REASON]) in literals
        and v[_SEQ] >= 1
        and v[_QTY] > 0.0
        and v[_PRICE] > 0.0
        and v[_NOTIONAL] > 0.0
        and v[_FEE] >= 0.0
        and v[_FEE_BPS] >= 0.0
        and v[_SLIP] >= 0.0
        and 0.0 <= v[_CONF] <= 1.0
        and 0 <= v[_BUCKET] <= 9
        and _marker_ok(line)
    )


def _marker_ok(line: FillDict) -> bool:
    """A line without a marker, or one whose group ends at or after it."""
    marker = line.get(_MARKER)
    return marker is None or marker >= line["seq"]


def _validation_problem(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(line)"
        parts.append(f"{loc}: {str(err['msg']).removeprefix('Value error, ')}")
    return "not a valid fill line: " + "; ".join(parts)


def _validate_slow(raw: bytes) -> FillDict | str:
    """A line the fast path did not accept: pydantic decides, and words the problem."""
    try:
        return FillLine.model_validate_json(raw).model_dump(exclude_none=True)
    except ValidationError as exc:
        return _validation_problem(exc)


class _Sequence:
    """What must hold across lines: seq runs 1, 2, 3; ids in the daemon's form; closes match opens.

    `fill_id`s are unique by construction, not by a set of every id seen: an open's `trade_id`
    is `{symbol}-{bar_ts}` with `bar_ts` >= 0 and later than the symbol's previous open, its
    `fill_id` is `{trade_id}-open`, and a close's is `{trade_id}-close` of the symbol's open
    trade. A digit-only suffix after the last `-` makes the `trade_id` name one (symbol, bar_ts),
    so two opens never share one, and a trade closes at most once.
    """

    __slots__ = ("closed_trades", "last_open_bar_ts", "next_seq", "open_trades")

    def __init__(self) -> None:
        self.next_seq = 1
        self.open_trades: dict[str, str] = {}
        self.last_open_bar_ts: dict[str, int] = {}
        self.closed_trades = 0

    def admit(self, line: FillDict) -> str | None:
        """Take `line` as the next one, or return why it cannot follow (state then unchanged)."""
        seq, symbol = line["seq"], line["symbol"]
        if seq != self.next_seq:
            return f"seq {seq} where {self.next_seq} was expected"
        if line["action"] == "open":
            problem = self._open_problem(line, symbol)
            if problem is not None:
                return problem
            self.open_trades[symbol] = line["trade_id"]
            self.last_open_bar_ts[symbol] = line["bar_ts"]
        else:
            problem = self._close_problem(line, symbol)
            if problem is not None:
                return problem
            del self.open_trades[symbol]
            self.closed_trades += 1
        self.next_seq = seq + 1
        return None

    def _open_problem(self, line: FillDict, symbol: str) -> str | None:
        trade_id, fill_id, bar_ts = line["trade_id"], line["fill_id"], line["bar_ts"]
        held = self.open_trades.get(symbol)
        if held is not None:
            if held == trade_id:
                return f"duplicate fill_id {fill_id!r}: trade {trade_id!r} is already open"
            return f"opens trade {trade_id!r} while {symbol} still holds {held!r}"
        if bar_ts < 0 or trade_id != f"{symbol}-{bar_ts}":
            return f"trade_id {trade_id!r} of an open is not '{symbol}-<bar_ts>' (bar_ts >= 0)"
        if fill_id != f"{trade_id}-open":
            return f"fill_id {fill_id!r} of an open is not '{trade_id}-open'"
        return self._order_problem(line, symbol)

    def _order_problem(self, line: FillDict, symbol: str) -> str | None:
        """A symbol's opens have strictly increasing bar_ts: its trade_ids never repeat."""
        last = self.last_open_bar_ts.get(symbol)
        if last is None or line["bar_ts"] > last:
            return None
        trade_id = line["trade_id"]
        if line["bar_ts"] == last:
            return f"duplicate fill_id {line['fill_id']!r}: trade {trade_id!r} was opened before"
        return f"opens trade {trade_id!r} before {symbol}'s previous open at bar_ts {last}"

    def _close_problem(self, line: FillDict, symbol: str) -> str | None:
        trade_id, fill_id = line["trade_id"], line["fill_id"]
        held = self.open_trades.get(symbol)
        last = self.last_open_bar_ts.get(symbol)
        closed_before = held != trade_id and last is not None and trade_id == f"{symbol}-{last}"
        if closed_before and fill_id in (f"{trade_id}-open", f"{trade_id}-close"):
            return f"duplicate fill_id {fill_id!r}: trade {trade_id!r} was closed before"
        if held != trade_id:
            return f"closes trade {trade_id!r} but the open {symbol} trade is {held!r}"
        if fill_id == f"{trade_id}-open":
            return f"duplicate fill_id {fill_id!r}: it is the open of trade {trade_id!r}"
        if fill_id != f"{trade_id}-close":
            return f"fill_id {fill_id!r} of a close is not '{trade_id}-close'"
        return None

    def resync(self, line: FillDict) -> None:
        """Take a line that broke the rules anyway, so one problem is not reported on every line."""
        self.next_seq = line["seq"] + 1
        symbol = line["symbol"]
        if line["action"] == "open":
            self.open_trades[symbol] = line["trade_id"]
            if type(line["bar_ts"]) is int:
                self.last_open_bar_ts[symbol] = line["bar_ts"]
        elif self.open_trades.pop(symbol, None) is not None:
            self.closed_trades += 1

    def skip(self, parsed: object) -> None:
        """Step over a line that is not a valid fill, taking what it shows of seq and trades."""
        self.next_seq += 1
        if isinstance(parsed, dict):
            with contextlib.suppress(KeyError, TypeError):
                self.resync(parsed)

    def copy(self) -> _Sequence:
        """An independent copy (a few small dicts: one entry per symbol)."""
        other = _Sequence()
        other.next_seq = self.next_seq
        other.open_trades = dict(self.open_trades)
        other.last_open_bar_ts = dict(self.last_open_bar_ts)
        other.closed_trades = self.closed_trades
        return other

    def facts(self) -> JournalFacts:
        """What the lines so far say, for a cached fold state to be checked against."""
        return JournalFacts(self.next_seq - 1, dict(self.open_trades), self.closed_trades)

    def snapshot(self) -> dict[str, Any]:
        """The state as plain JSON values (a checkpoint keeps it)."""
        return {
            "next_seq": self.next_seq,
            "open_trades": dict(self.open_trades),
            "last_open_bar_ts": dict(self.last_open_bar_ts),
            "closed_trades": self.closed_trades,
        }

    @classmethod
    def from_snapshot(cls, data: Any) -> _Sequence:
        """The state `snapshot` saved; ValueError when it is malformed or contradicts itself."""
        state = cls()
        try:
            state.next_seq = _typed(data["next_seq"], int)
            state.closed_trades = _typed(data["closed_trades"], int)
            state.open_trades = _str_map(data["open_trades"], str)
            state.last_open_bar_ts = _str_map(data["last_open_bar_ts"], int)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"sequence state malformed: {exc!r}") from None
        if state.next_seq < 1 or state.closed_trades < 0:
            raise ValueError("sequence state: next_seq or closed_trades out of range")
        for symbol, trade_id in state.open_trades.items():
            if trade_id != f"{symbol}-{state.last_open_bar_ts.get(symbol)}":
                raise ValueError(f"sequence state: open trade {trade_id!r} is not {symbol}'s last")
        return state


def _typed(value: Any, kind: type[_T]) -> _T:
    if type(value) is not kind:
        raise TypeError(f"{value!r} is not {kind.__name__}")
    return value


def _str_map(value: Any, kind: type[_T]) -> dict[str, _T]:
    if type(value) is not dict:
        raise TypeError(f"{value!r} is not an object")
    return {_typed(k, str): _typed(v, kind) for k, v in value.items()}


@dataclass(frozen=True, slots=True)
class JournalFacts:
    """What a journal's lines say about trades: a cached fold state must agree with it."""

    lines: int
    open_trades: dict[str, str]
    closed_trades: int


@dataclass(slots=True)
class _Tail:
    """A torn last line: where it starts and its bytes."""

    offset: int
    line_no: int
    data: bytes
    reason: str


@dataclass(slots=True)
class _Scan:
    """The result of reading a journal: the state after its last good line, and problems."""

    path: Path
    state: _Sequence = field(default_factory=_Sequence)
    lines: int = 0
    fills: int = 0
    end: int = 0
    tail: _Tail | None = None
    problems: list[str] = field(default_factory=list)

    def problem(self, line_no: int, text: str, *, collect: bool) -> None:
        if not collect:
            raise JournalError(self.path, line_no, text)
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(f"line {line_no}: {text}")


@dataclass(frozen=True, slots=True)
class _Start:
    """Where a scan begins: byte offset and line count of a verified prefix, and its state."""

    offset: int
    lines: int
    state: _Sequence


@dataclass(slots=True)
class _Group:
    """The commit group being read: its lines wait here until its last line has been read."""

    end_seq: int
    offset: int
    line_no: int
    before: _Sequence
    lines: list[FillDict] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Problem:
    """The first damaged line: where, what, and whether it parsed as JSON at all."""

    offset: int
    line_no: int
    text: str
    parsed: bool


def _markers_after(f: IO[bytes], offset: int, size: int) -> list[int | None] | None:
    """The group markers of the lines from `offset` to `size` that parse as fill-like objects.

    None when one of them parses but is not a fill (that is damage, not a torn write).
    """
    f.seek(offset)
    markers: list[int | None] = []
    read = offset
    for raw in bounded_lines(f, MAX_LINE_BYTES):
        if read >= size:
            break
        if isinstance(raw, LongLine):
            return None
        read += len(raw)
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if type(parsed) is not dict or type(parsed.get("seq")) is not int:
            return None
        marker = parsed.get(_MARKER)
        markers.append(marker if type(marker) is int else None)
    return markers


def _torn_commit(
    f: IO[bytes], problem: _Problem, group: _Group | None, end: int, size: int
) -> bool:
    """Is `problem` what a write cut short leaves: confined to the last commit group?

    The damaged line must not parse (a cut or zeroed write, not an edit), and every fill line
    after it must belong to the same group as the open one (or, with none open, to one group).
    Without markers (a journal from before groups), only a damaged last line is torn.
    """
    if problem.parsed:
        return False
    markers = _markers_after(f, end, size)
    f.seek(end)
    if markers is None:
        return False
    if group is not None:
        return all(m == group.end_seq for m in markers)
    if not markers:
        return True
    return markers[0] is not None and all(m == markers[0] for m in markers)


def _admit(
    state: _Sequence, line: FillDict, group: _Group | None, offset: int, line_no: int
) -> tuple[str | None, _Group | None]:
    """Take `line` into `state` and its commit group: (problem or None, the open group)."""
    marker = line.get(_MARKER)
    if group is not None and marker != group.end_seq:
        return f"{_MARKER} {marker} inside the commit group ending at seq {group.end_seq}", group
    opening = group is None and marker is not None
    before = state.copy() if opening else state
    problem = state.admit(line)
    if problem is None and opening:
        assert marker is not None
        group = _Group(marker, offset, line_no, before)
    return problem, group


class _Reader:
    """One pass over a journal file: lines checked, admitted and handed out by commit group."""

    def __init__(self, f: IO[bytes], scan: _Scan, on_line: OnLine | None, collect: bool) -> None:
        self.f = f
        self.scan = scan
        self.on_line = on_line
        self.collect = collect
        self.size = os.fstat(f.fileno()).st_size
        self.group: _Group | None = None
        self.damaged = False

    def parse(self, raw: bytes, offset: int, line_no: int) -> tuple[Any, FillDict | _Problem]:
        """The parsed JSON (or None) and the admitted line, or the problem with it."""
        if raw[-1] != 0x0A or offset + len(raw) > self.size:
            return None, _Problem(offset, line_no, "no newline at the end", parsed=False)
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return None, _Problem(offset, line_no, f"not JSON ({exc})", parsed=False)
        line = parsed if _is_canonical(parsed) else _validate_slow(raw)
        if isinstance(line, str):
            return parsed, _Problem(offset, line_no, line, parsed=True)
        if (wrong := fill_arithmetic_problem(line)) is not None:
            return parsed, _Problem(offset, line_no, wrong, parsed=True)
        text, self.group = _admit(self.scan.state, line, self.group, offset, line_no)
        if text is not None:
            return parsed, _Problem(offset, line_no, text, parsed=True)
        return parsed, line

    def take(self, line: FillDict) -> int:
        """Hold `line` in its group; hand the group out when complete. Returns lines handed out."""
        group = self.group
        if group is None:  # a line from before commit groups: complete on its own
            held = [line]
        else:
            group.lines.append(line)
            if line["seq"] != group.end_seq:
                return 0
            held, self.group = group.lines, None
        if self.on_line is not None:
            for item in held:
                self.on_line(item)
        return len(held)

    def damage(self, problem: _Problem, parsed: Any, end: int) -> bool:
        """Record `problem`; True when it is a torn last commit (then `scan.tail` is set)."""
        group = self.group
        if self.damaged:  # past other damage, only a cut last line is still a torn write
            torn = not problem.parsed and end >= self.size
        else:
            torn = _torn_commit(self.f, problem, group, end, self.size)
        if torn:
            self.cut(group.offset if group else problem.offset, problem.line_no, problem.text)
            return True
        self.damaged = True
        self.scan.problem(problem.line_no, problem.text, collect=self.collect)
        self.scan.state.skip(parsed)
        self.group = None
        return False

    def cut(self, offset: int, line_no: int, reason: str) -> None:
        """Roll the open group (or what starts at `offset`) back: it becomes the torn tail."""
        group, self.group = self.group, None
        if group is not None:
            self.scan.state = group.before
            line_no = group.line_no
        self.f.seek(offset)
        self.scan.tail = _Tail(offset, line_no, self.f.read(self.size - offset), reason)


def _long_line(offset: int, line_no: int, raw: LongLine) -> _Problem:
    """A line too long to be a fill: damage (a write cut short is never longer than a line)."""
    text = f"a line of {raw.length} bytes, longer than any fill line ({MAX_LINE_BYTES} at most)"
    return _Problem(offset, line_no, text, parsed=True)


def _scan(
    path: Path, on_line: OnLine | None, *, collect: bool, start: _Start | None = None
) -> _Scan:
    """Read and check every line (after `start`) up to the size the file had when reading began.

    Lines are handed to `on_line` one commit group at a time, once the group's last line has
    been read. A group cut short (the last one, by a crash) becomes `scan.tail`: it is rolled
    back whole and the state is the one before it.
    """
    scan = _Scan(path) if start is None else _Scan(path, start.state.copy())
    with path.open("rb") as f:
        reader = _Reader(f, scan, on_line, collect)
        offset = line_no = fills = 0
        if start is not None:
            offset, line_no = f.seek(start.offset), start.lines
            fills = line_no
        for raw in bounded_lines(f, MAX_LINE_BYTES):
            if offset >= reader.size:
                break
            line_no += 1
            if isinstance(raw, LongLine):
                end = min(offset + raw.length, reader.size)
                reader.damage(_long_line(offset, line_no, raw), None, end)
                offset = end
                continue
            end = min(offset + len(raw), reader.size)
            parsed, line = reader.parse(raw, offset, line_no)
            if isinstance(line, _Problem):
                if reader.damage(line, parsed, end):
                    break
            else:
                fills += reader.take(line)
            offset = end
        if reader.group is not None:
            group = reader.group
            reader.cut(
                group.offset,
                group.line_no,
                f"commit group incomplete: it ends at seq {group.end_seq}, "
                f"the journal at seq {scan.state.next_seq - 1}",
            )
    if scan.tail is not None:
        line_no = scan.tail.line_no - 1
    scan.lines, scan.fills = line_no, fills
    scan.end = scan.tail.offset if scan.tail is not None else offset
    return scan


def read_journal(path: Path, on_line: OnLine) -> int:
    """Hand each line to `on_line`, read-only, and return the count; damage raises JournalError.

    A torn last line (a crash, or a write in progress) is skipped.

    """
    return _scan(path, on_line, collect=False).fills


@dataclass(slots=True)
class JournalReport:
    """What `chloe journal verify` shows: counts, open trades by symbol and every problem found."""

    path: Path
    lines: int
    fills: int
    closed_trades: int
    open_positions: dict[str, str]
    problems: list[str]

    @property
    def ok(self) -> bool:
        """True when the daemon would start on this journal without quarantining anything."""
        return not self.problems


def verify_journal(path: Path) -> JournalReport:
    """Check a journal read-only and list its problems (the first 100) instead of raising."""
    scan = _scan(path, None, collect=True)
    problems = list(scan.problems)
    if scan.tail is not None:
        what = "torn last line" if scan.tail.data.count(b"\n") <= 1 else "torn last commit"
        problems.append(
            f"line {scan.tail.line_no}: {what} ({scan.tail.reason}, "
            f"{len(scan.tail.data)} bytes): opening would move it to {path.name}{QUARANTINE_SUFFIX}"
        )
    return JournalReport(
        path=path,
        lines=scan.lines,
        fills=scan.fills,
        closed_trades=scan.state.closed_trades,
        open_positions=dict(scan.state.open_trades),
        problems=problems,
    )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _quarantine(path: Path, fd: int, tail: _Tail) -> str:
    """Append the torn bytes to the quarantine file (fsynced), then cut them off the journal."""
    qpath = path.with_name(path.name + QUARANTINE_SUFFIX)
    data = tail.data if tail.data.endswith(b"\n") else tail.data + b"\n"
    qfd = open_regular(qpath, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        _write_all(qfd, data)
        os.fsync(qfd)
    finally:
        os.close(qfd)
    fsync_dir(qpath.parent)
    os.ftruncate(fd, tail.offset)
    os.fsync(fd)
    last = tail.line_no + max(1, tail.data.count(b"\n")) - 1
    what = f"line {tail.line_no}" if last == tail.line_no else f"lines {tail.line_no}-{last}"
    return (
        f"{what} of {path} were a torn commit ({tail.reason}); their {len(tail.data)} bytes "
        f"were moved to {qpath}"
    )


_WRITE_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT})


def _open_locked(path: Path) -> int:
    """Open the journal for appending (creating it durably) under an exclusive lock."""
    created = not path.exists()
    try:
        fd = open_regular(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
    except OSError as exc:  # read-only, no permission, disk full: a write failure, not damage
        raise JournalWriteError(path, exc) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if created:
            fsync_dir(path.parent)
    except BlockingIOError:
        os.close(fd)
        raise JournalBusyError(path, None, "another process has the journal open") from None
    except OSError as exc:
        os.close(fd)
        raise JournalWriteError(path, exc) from exc
    return fd


def _hash_range(fd: int, hasher: Hash, start: int, end: int) -> None:
    """Feed bytes [start, end) of the file to `hasher` (reads into one reused buffer)."""
    buffer = memoryview(bytearray(min(_HASH_CHUNK, max(end - start, 0))))
    offset = start
    while offset < end:
        read = os.preadv(fd, [buffer[: end - offset]], offset)
        if read == 0:
            raise OSError(f"unexpected end of file at byte {offset} of {end}")
        hasher.update(buffer[:read])
        offset += read


@dataclass(frozen=True, slots=True)
class JournalSnapshot:
    """The committed journal at a line boundary: what a checkpoint binds its cached state to."""

    offset: int
    lines: int
    sha256: str
    sequence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Resume:
    """A cached state of the journal's first `snapshot.offset` bytes (`ledger/checkpoint.py`).

    `restore` puts the folded state (the book) back, checked against the cached sequence's
    facts; it raises ValueError, changing nothing, when the two disagree or the state is bad.
    """

    snapshot: JournalSnapshot
    restore: Callable[[JournalFacts], None]


def _resume(fd: int, resume: Resume) -> tuple[_Start, Hash] | str:
    """Verify the cached prefix against the file and restore it, or say why it cannot be used."""
    snap = resume.snapshot
    size = os.fstat(fd).st_size
    if size < snap.offset:
        return f"the journal has {size} bytes, fewer than the {snap.offset} it covers"
    try:
        state = _Sequence.from_snapshot(snap.sequence)
    except (ValueError, TypeError, KeyError) as exc:
        return f"its sequence state is unusable: {exc}"
    if state.next_seq - 1 != snap.lines:
        return f"it covers {snap.lines} lines but its next seq is {state.next_seq}"
    hasher = hashlib.sha256()
    _hash_range(fd, hasher, 0, snap.offset)
    if hasher.hexdigest() != snap.sha256:
        return f"the journal's first {snap.offset} bytes are not the ones it was made from"
    try:
        resume.restore(state.facts())
    except (ValueError, TypeError, KeyError) as exc:  # restore changes nothing when it raises
        return f"its state is inconsistent: {exc}"
    return _Start(snap.offset, snap.lines, state), hasher


class Journal:
    """The open journal: `append` buffers validated lines, `commit` writes them with one fsync.

    It keeps the SHA-256 of the committed bytes as they grow, so `snapshot` (what a checkpoint
    records) costs no read of the file.
    """

    __slots__ = (
        "_buffer",
        "_failed",
        "_fd",
        "_sha256",
        "_size",
        "_state",
        "path",
        "resume_problem",
        "resumed_lines",
    )

    def __init__(self, path: Path, fd: int, state: _Sequence, sha256: Hash, size: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self._state = state
        self._sha256 = sha256
        self._size = size
        self._buffer: list[bytes] = []
        self._failed: JournalWriteError | None = None
        self.resumed_lines = 0
        self.resume_problem: str | None = None

    @classmethod
    def open(
        cls, path: Path, on_line: OnLine | None = None, *, resume: Resume | None = None
    ) -> tuple[Journal, list[FillDict], str | None]:
        """Lock, check and open for appending: (journal, lines, warning if a torn line was moved).

        With `on_line` each line goes there instead of into the list (big journals: no copy).
        With `resume` (a checkpoint) whose bytes match the journal's start, its state is
        restored and only the lines after it are read: `resumed_lines` says how many it
        covered; otherwise `resume_problem` says why it was not used and every line is read.

        """
        fd = _open_locked(path)
        try:
            lines: list[FillDict] = []
            sink = on_line if on_line is not None else lines.append
            resumed = _resume(fd, resume) if resume is not None else None
            start, sha256 = resumed if isinstance(resumed, tuple) else (None, hashlib.sha256())
            scan = _scan(path, sink, collect=False, start=start)
            _hash_range(fd, sha256, start.offset if start is not None else 0, scan.end)
            warning = _quarantine(path, fd, scan.tail) if scan.tail is not None else None
        except OSError as exc:
            os.close(fd)
            if exc.errno in _WRITE_ERRNOS:  # the repair (quarantine) could not be written
                raise JournalWriteError(path, exc) from exc
            raise JournalError(path, None, f"cannot be read or repaired: {exc}") from exc
        except BaseException:
            os.close(fd)
            raise
        journal = cls(path, fd, scan.state, sha256, scan.end)
        journal.resumed_lines = start.lines if start is not None else 0
        journal.resume_problem = resumed if isinstance(resumed, str) else None
        return journal, lines, warning

    @property
    def next_seq(self) -> int:
        """The `seq` the next appended line must carry (buffered lines count)."""
        return self._state.next_seq

    @property
    def pending(self) -> int:
        """Lines appended and not yet committed."""
        return len(self._buffer)

    def snapshot(self) -> JournalSnapshot:
        """Size, line count, SHA-256 and sequence state of the committed lines (none pending)."""
        if self._buffer:
            raise ValueError(f"{self.path}: {len(self._buffer)} appended lines are not committed")
        return JournalSnapshot(
            offset=self._size,
            lines=self._state.next_seq - 1,
            sha256=self._sha256.hexdigest(),
            sequence=self._state.snapshot(),
        )

    def append(self, lines: Iterable[Mapping[str, Any]]) -> None:
        """Validate and buffer fill lines; a bad line raises ValueError and buffers none of them."""
        self._usable()
        before = self._state.copy()
        admitted: list[FillDict] = []
        try:
            for given in lines:
                line = FillLine.model_validate(given).model_dump(exclude_none=True)
                problem = self._state.admit(line)
                if problem is not None:
                    raise ValueError(
                        f"{self.path}: cannot append line seq {line['seq']}: {problem}"
                    )
                admitted.append(line)
        except ValueError:
            self._state = before
            raise
        self._buffer.extend(orjson.dumps(line) + b"\n" for line in admitted)

    def commit(self) -> int:
        """Write the buffered lines (one write, flush, fsync) and return how many were written."""
        fd = self._usable()
        if not self._buffer:
            return 0
        data = b"".join(self._buffer)
        count = len(self._buffer)
        size = os.fstat(fd).st_size
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except OSError as exc:
            # Roll back the part of this unacknowledged write that landed (a full disk writes
            # some of it), so the file holds exactly the acknowledged lines. Best effort.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
                os.fsync(fd)
            self._failed = JournalWriteError(self.path, exc)
            raise self._failed from exc
        self._sha256.update(data)
        self._size += len(data)
        self._buffer.clear()
        return count

    def close(self) -> int:
        """Close the file; uncommitted lines are dropped, as a crash would, and counted."""
        dropped = len(self._buffer)
        self._buffer.clear()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        return dropped

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _usable(self) -> int:
        if self._failed is not None:
            raise self._failed
        if self._fd is None:
            raise ValueError(f"{self.path}: the journal is closed")
        return self._fd
