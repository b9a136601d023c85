"""The trade journal `reports/trades.jsonl`: the only code that opens it (SPEC §4).

Append-only, one fill per line, group commit (one write + fsync per `commit`). At open every
line is validated, `seq` must run 1, 2, 3, ..., `fill_id`s must be unique and every close must
close the open trade of its symbol. A torn last line is moved to `<journal>.quarantine`; damage
anywhere else raises JournalError and the daemon refuses to start.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import orjson
from pydantic import ValidationError

from engine_alpha.ledger.records import FillLine

__all__ = [
    "QUARANTINE_SUFFIX",
    "FillDict",
    "Journal",
    "JournalBusyError",
    "JournalError",
    "JournalReport",
    "JournalWriteError",
    "read_journal",
    "verify_journal",
]

FillDict = dict[str, Any]
OnLine = Callable[[FillDict], object]
QUARANTINE_SUFFIX = ".quarantine"
_MAX_PROBLEMS = 100


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


class JournalWriteError(Exception):
    """A write, flush or fsync of the journal failed: fail-stop, the caller exits."""

    def __init__(self, path: Path, cause: OSError) -> None:
        super().__init__(f"{path}: journal write failed: {cause}")
        self.path = path
        self.cause = cause


def _json_type(annotation: Any) -> type:
    if get_origin(annotation) is Literal:
        return type(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return _json_type(next(a for a in get_args(annotation) if a is not type(None)))
    assert isinstance(annotation, type)
    return annotation


_FIELDS = FillLine.model_fields
_COMMON = tuple(name for name, f in _FIELDS.items() if f.is_required())
_OPEN_ONLY = ("stop_price", "target_price", "expires_bar_ts")
_CLOSE_ONLY = tuple(name for name in _FIELDS if name not in _COMMON and name not in _OPEN_ONLY)


def _as_parsed(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The keys as orjson's key cache returns them, so comparing tuples hits identity (faster)."""
    return tuple(orjson.loads(orjson.dumps(dict.fromkeys(keys))))


_OPEN_KEYS = _as_parsed(_COMMON + _OPEN_ONLY)
_CLOSE_KEYS = _as_parsed(_COMMON + _CLOSE_ONLY)
_OPEN_TYPES = tuple(_json_type(_FIELDS[k].annotation) for k in _OPEN_KEYS)
_CLOSE_TYPES = tuple(_json_type(_FIELDS[k].annotation) for k in _CLOSE_KEYS)
_LITERAL_KEYS = ("action", "mode", "side", "direction", "reason")
_, _MODES, _SIDES, _DIRECTIONS, _REASONS = (get_args(_FIELDS[k].annotation) for k in _LITERAL_KEYS)
_OPEN_LITERALS = frozenset(product(("open",), _MODES, _SIDES, _DIRECTIONS, ("signal",)))
_CLOSE_LITERALS = frozenset(
    product(("close",), _MODES, _SIDES, _DIRECTIONS, [r for r in _REASONS if r != "signal"])
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
    keys = tuple(line)
    if keys == _OPEN_KEYS:
        expected_types, literals = _OPEN_TYPES, _OPEN_LITERALS
    elif keys == _CLOSE_KEYS:
        expected_types, literals = _CLOSE_TYPES, _CLOSE_LITERALS
    else:
        return False
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
    )


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
    """What must hold across lines: seq runs 1, 2, 3; fill_ids unique; closes match opens."""

    __slots__ = ("closed_trades", "fill_ids", "next_seq", "open_trades")

    def __init__(self) -> None:
        self.next_seq = 1
        self.fill_ids: set[str] = set()
        self.open_trades: dict[str, str] = {}
        self.closed_trades = 0

    def admit(self, line: FillDict) -> str | None:
        """Take `line` as the next one, or return why it cannot follow (state then unchanged)."""
        seq, fill_id, symbol, trade_id = (
            line["seq"],
            line["fill_id"],
            line["symbol"],
            line["trade_id"],
        )
        if seq != self.next_seq:
            return f"seq {seq} where {self.next_seq} was expected"
        if fill_id in self.fill_ids:
            return f"duplicate fill_id {fill_id!r}"
        held = self.open_trades.get(symbol)
        if line["action"] == "open":
            if held is not None:
                return f"opens trade {trade_id!r} while {symbol} still holds {held!r}"
            self.open_trades[symbol] = trade_id
        else:
            if held != trade_id:
                return f"closes trade {trade_id!r} but the open {symbol} trade is {held!r}"
            del self.open_trades[symbol]
            self.closed_trades += 1
        self.fill_ids.add(fill_id)
        self.next_seq = seq + 1
        return None

    def resync(self, line: FillDict) -> None:
        """Take a line that broke the rules anyway, so one problem is not reported on every line."""
        self.next_seq = line["seq"] + 1
        self.fill_ids.add(line["fill_id"])
        if line["action"] == "open":
            self.open_trades[line["symbol"]] = line["trade_id"]
        elif self.open_trades.pop(line["symbol"], None) is not None:
            self.closed_trades += 1

    def skip(self, parsed: object) -> None:
        """Step over a line that is not a valid fill, taking what it shows of seq and trades."""
        self.next_seq += 1
        if isinstance(parsed, dict):
            with contextlib.suppress(KeyError, TypeError):
                self.resync(parsed)

    def forget(self, line: FillDict) -> None:
        """Undo `admit` of the most recent line (for a rejected append batch)."""
        self.next_seq = line["seq"]
        self.fill_ids.discard(line["fill_id"])
        if line["action"] == "open":
            del self.open_trades[line["symbol"]]
        else:
            self.open_trades[line["symbol"]] = line["trade_id"]
            self.closed_trades -= 1


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
    tail: _Tail | None = None
    problems: list[str] = field(default_factory=list)

    def problem(self, line_no: int, text: str, *, collect: bool) -> None:
        if not collect:
            raise JournalError(self.path, line_no, text)
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(f"line {line_no}: {text}")


def _scan(path: Path, on_line: OnLine | None, *, collect: bool) -> _Scan:
    """Read and check every line up to the size the file had when reading began."""
    scan = _Scan(path)
    admit = scan.state.admit
    loads = orjson.loads
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        offset = line_no = fills = 0
        for raw in f:
            if offset >= size:
                break
            line_no += 1
            end = offset + len(raw)
            if raw[-1] != 0x0A or end > size:
                scan.tail = _Tail(offset, line_no, raw[: size - offset], "no newline at the end")
                break
            try:
                parsed = loads(raw)
            except orjson.JSONDecodeError as exc:
                if end == size:
                    scan.tail = _Tail(offset, line_no, raw, f"not JSON ({exc})")
                    break
                scan.problem(line_no, f"not JSON ({exc})", collect=collect)
                scan.state.skip(None)
                offset = end
                continue
            line = parsed if _is_canonical(parsed) else _validate_slow(raw)
            if isinstance(line, str):
                scan.problem(line_no, line, collect=collect)
                scan.state.skip(parsed)
            elif (problem := admit(line)) is not None:
                scan.problem(line_no, problem, collect=collect)
                scan.state.resync(line)
            else:
                fills += 1
                if on_line is not None:
                    on_line(line)
            offset = end
    scan.lines, scan.fills = line_no, fills
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
        problems.append(
            f"line {scan.tail.line_no}: torn last line ({scan.tail.reason}, "
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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _quarantine(path: Path, fd: int, tail: _Tail) -> str:
    """Append the torn bytes to the quarantine file (fsynced), then cut them off the journal."""
    qpath = path.with_name(path.name + QUARANTINE_SUFFIX)
    data = tail.data if tail.data.endswith(b"\n") else tail.data + b"\n"
    qfd = os.open(qpath, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        _write_all(qfd, data)
        os.fsync(qfd)
    finally:
        os.close(qfd)
    _fsync_dir(qpath.parent)
    os.ftruncate(fd, tail.offset)
    os.fsync(fd)
    return (
        f"line {tail.line_no} of {path} was torn ({tail.reason}); its {len(tail.data)} bytes "
        f"were moved to {qpath}"
    )


def _open_locked(path: Path) -> int:
    """Open the journal for appending (creating it durably) under an exclusive lock."""
    created = not path.exists()
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise JournalError(path, None, f"cannot be opened: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if created:
            _fsync_dir(path.parent)
    except BlockingIOError:
        os.close(fd)
        raise JournalBusyError(path, None, "another process has the journal open") from None
    except OSError as exc:
        os.close(fd)
        raise JournalError(path, None, f"cannot be locked: {exc}") from exc
    return fd


class Journal:
    """The open journal: `append` buffers validated lines, `commit` writes them with one fsync."""

    __slots__ = ("_buffer", "_failed", "_fd", "_state", "path")

    def __init__(self, path: Path, fd: int, state: _Sequence) -> None:
        self.path = path
        self._fd: int | None = fd
        self._state = state
        self._buffer: list[bytes] = []
        self._failed: JournalWriteError | None = None

    @classmethod
    def open(
        cls, path: Path, on_line: OnLine | None = None
    ) -> tuple[Journal, list[FillDict], str | None]:
        """Lock, check and open for appending: (journal, lines, warning if a torn line was moved).

        With `on_line` each line goes there instead of into the list (big journals: no copy).

        """
        fd = _open_locked(path)
        try:
            lines: list[FillDict] = []
            scan = _scan(path, on_line if on_line is not None else lines.append, collect=False)
            warning = _quarantine(path, fd, scan.tail) if scan.tail is not None else None
        except OSError as exc:
            os.close(fd)
            raise JournalError(path, None, f"cannot be read or repaired: {exc}") from exc
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, scan.state), lines, warning

    @property
    def next_seq(self) -> int:
        """The `seq` the next appended line must carry (buffered lines count)."""
        return self._state.next_seq

    @property
    def pending(self) -> int:
        """Lines appended and not yet committed."""
        return len(self._buffer)

    def append(self, lines: Iterable[Mapping[str, Any]]) -> None:
        """Validate and buffer fill lines; a bad line raises ValueError and buffers none of them."""
        self._usable()
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
            for line in reversed(admitted):
                self._state.forget(line)
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
