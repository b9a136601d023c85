"""History download: the exchange's closed bars into `<SYMBOL>-<timeframe>.csv`, resumable.

For each symbol, `Downloader` asks ccxt's `fetch_ohlcv` for bars opening in [since, end), one page
of at most the exchange's limit per request, through the same `ExchangeClient` as the live feed
(ccxt's rate limiter, temporary failures retried with backoff and `Retry-After`, a refused
request not repeated). `end` is the earlier of `until` and the open time after the last CLOSED
bar at the exchange's time (open + timeframe <= now): the forming bar is never written.

Every bar goes through the `BarValidator` that replay and the live feed use: a refused bar is
counted, reported and not written; a gap (bar times the exchange has no bar for) is reported
with its UTC range. Bars are written in the replay's CSV format (`csv_bars.CSV_HEADER`), prices as
the shortest decimal that reads back as the same float, and each batch is appended atomically
(`core.atomic_files.append_atomic`): a process killed at any instant leaves the file as it was
before or after a batch, a valid CSV.

Resuming: an existing file is read as replay reads it (`coverage.scan_file`) and the download
starts after its last accepted bar; its bytes are never rewritten, only bars after them added. A
file that starts after `since` keeps its start (bars are only appended). So a run cut short and
run again ends with the same bytes as one run through.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from engine_alpha.config.models import DEFAULT_MAX_PRICE_JUMP, timeframe_ms
from engine_alpha.core.atomic_files import append_atomic
from engine_alpha.core.formatting import fmt_ts
from engine_alpha.market.bars import Bar
from engine_alpha.market.coverage import FileScan, Gap, Refusal, plausible_ts, scan_file
from engine_alpha.market.csv_bars import CSV_HEADER, bars_path
from engine_alpha.market.exchange_client import ExchangeClient, bar_from_row
from engine_alpha.market.exchange_errors import EMPTY_RESPONSE, FeedError
from engine_alpha.market.validation import BarValidator

__all__ = [
    "Batch",
    "DownloadRequest",
    "Downloader",
    "MarketCheckError",
    "SymbolReport",
    "bar_line",
    "check_timeframe",
    "closed_end_ms",
    "decimal_text",
    "flush_due",
    "resolve_symbols",
]

UNPARSEABLE: Final = "unparseable"
_FLUSH_FRACTION: Final = 8  # a batch is at least a page, and at least 1/8 of the file's bars


class MarketCheckError(ValueError):
    """A symbol or timeframe the exchange does not have: nothing was downloaded."""


@dataclass(frozen=True, slots=True)
class DownloadRequest:
    """What to download: symbols (as `BTCUSDT` or `BTC/USDT`), timeframe, [since, until)."""

    symbols: tuple[str, ...]
    timeframe: str
    since_ms: int
    data_dir: Path
    until_ms: int | None = None
    max_price_jump: float = DEFAULT_MAX_PRICE_JUMP


@dataclass(frozen=True, slots=True)
class Batch:
    """One atomic append: `bars` bars of `symbol` ending at `last_ts_ms`; `done` of `total` bars."""

    symbol: str
    file: str
    bars: int
    first_ts_ms: int
    last_ts_ms: int
    file_bars: int
    done: int
    total: int


@dataclass(slots=True)
class SymbolReport:
    """One symbol's download: what the file held, what was added, refused, missing, or failed."""

    symbol: str
    file: Path
    kept_bars: int = 0
    written: int = 0
    first_ts_ms: int | None = None
    last_ts_ms: int | None = None
    refused: list[Refusal] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class _Plan:
    symbol: str
    market: str
    scan: FileScan  # the file as it is (empty when there is none)
    new_file: bool  # no file, or an empty one: the header goes first
    start_ms: int
    end_ms: int
    report: SymbolReport

    @property
    def planned(self) -> int:
        return (self.end_ms - self.start_ms) // self.scan.timeframe_ms


# ---- pure pieces


def resolve_symbols(markets: Mapping[str, Any], symbols: Sequence[str]) -> dict[str, str]:
    """Chloe's symbol (the market id, `BTCUSDT`) -> ccxt's (`BTC/USDT`) for every spot symbol.

    A symbol is known by its id or by its ccxt name; `MarketCheckError` names every unknown one.
    """
    by_id = {m.get("id"): key for key, m in markets.items() if m.get("spot")}
    by_name = {key: m.get("id") for key, m in markets.items() if m.get("spot")}
    resolved: dict[str, str] = {}
    unknown: list[str] = []
    for symbol in symbols:
        if symbol in by_id:
            resolved[symbol] = by_id[symbol]
        elif symbol in by_name and isinstance(by_name[symbol], str):
            resolved[by_name[symbol]] = symbol
        else:
            unknown.append(symbol)
    if unknown:
        raise MarketCheckError(
            f"the exchange has no spot market {', '.join(unknown)} "
            "(give the market id like BTCUSDT, or ccxt's name like BTC/USDT)"
        )
    return resolved


def check_timeframe(timeframe: str, exchange_timeframes: Sequence[str]) -> int:
    """The timeframe's length in ms when the exchange serves it and Chloe can run it."""
    if exchange_timeframes and timeframe not in exchange_timeframes:
        raise MarketCheckError(
            f"the exchange has no timeframe {timeframe!r}; it has {', '.join(exchange_timeframes)}"
        )
    try:
        return timeframe_ms(timeframe)
    except ValueError:
        raise MarketCheckError(
            f"timeframe {timeframe!r}: Chloe runs minutes, hours and days (1m .. 1d)"
        ) from None


def closed_end_ms(now_ms: int, step_ms: int, until_ms: int | None) -> int:
    """Exclusive end of the bars to write: only bars closed at `now_ms`, and before `until_ms`."""
    end = now_ms // step_ms * step_ms  # a bar opening here or later is still forming
    return end if until_ms is None else min(end, until_ms)


def decimal_text(x: float) -> str:
    """The shortest decimal that reads back as `x`, without exponent or trailing zeros."""
    text = repr(x)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def bar_line(bar: Bar) -> str:
    """A bar as a row of the replay's CSV (`csv_bars.CSV_HEADER`), newline included."""
    values = (bar.open, bar.high, bar.low, bar.close, bar.volume)
    return f"{bar.ts_ms}," + ",".join(map(decimal_text, values)) + "\n"


def flush_due(pending: int, file_bars: int, page_limit: int) -> bool:
    """Whether `pending` bars make a batch: a page at least, and 1/8 of the file (so a long
    history is copied a bounded number of times, not once per page)."""
    return pending >= max(page_limit, file_bars // _FLUSH_FRACTION)


def _ceil_to(ms: int, step_ms: int) -> int:
    return -(-ms // step_ms) * step_ms


# ---- the download


class _Writer:
    """Appends a symbol's accepted bars to its file, one atomic batch at a time."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.pending: list[Bar] = []
        self._header = plan.new_file
        self._newline = not plan.scan.ends_with_newline  # a file cut by hand after its last row

    def flush(self, done: int, total: int) -> Batch | None:
        pending, report, path = self.pending, self.plan.report, self.plan.scan.path
        if not pending:
            return None
        text = "".join(map(bar_line, pending))
        if self._header:
            text = CSV_HEADER + "\n" + text
        elif self._newline:
            text = "\n" + text
        append_atomic(path, text.encode())
        self._header = self._newline = False
        report.written += len(pending)
        if report.first_ts_ms is None:
            report.first_ts_ms = pending[0].ts_ms
        report.last_ts_ms = pending[-1].ts_ms
        batch = Batch(
            self.plan.symbol,
            str(path),
            len(pending),
            pending[0].ts_ms,
            pending[-1].ts_ms,
            report.kept_bars + report.written,
            done,
            total,
        )
        self.pending = []
        return batch


Progress = Callable[[int, int], object]


class Downloader:
    """Runs one `DownloadRequest` against `client`; `run()` returns a report per symbol.

    Raises `MarketCheckError` (unknown symbol or timeframe) before any file is touched, and
    `FeedError` when the markets or the exchange's time cannot be had. A symbol whose requests
    fail is reported with its `error` (what was written before stays) and the next one goes on.
    """

    def __init__(
        self,
        client: ExchangeClient,
        request: DownloadRequest,
        *,
        on_batch: Callable[[Batch], object] = lambda _b: None,
        on_progress: Progress = lambda _done, _total: None,
    ) -> None:
        self.client = client
        self.request = request
        self._on_batch = on_batch
        self._on_progress = on_progress
        self._done = 0
        self._total = 0

    async def run(self) -> list[SymbolReport]:
        request = self.request
        markets = await self.client.markets()
        step_ms = check_timeframe(request.timeframe, self.client.timeframes)
        resolved = resolve_symbols(markets, request.symbols)
        now_ms = await self.client.server_time()
        end_ms = closed_end_ms(now_ms, step_ms, request.until_ms)
        plans = [self._plan(symbol, market, step_ms, end_ms) for symbol, market in resolved.items()]
        self._total = sum(p.planned for p in plans if p.report.ok)
        self._on_progress(0, self._total)
        for plan in plans:
            if plan.report.ok:
                await self._download(plan, step_ms)
        return [plan.report for plan in plans]

    def _plan(self, symbol: str, market: str, step_ms: int, end_ms: int) -> _Plan:
        request = self.request
        path = bars_path(request.data_dir, symbol, request.timeframe)
        report = SymbolReport(symbol, path)
        start_ms = _ceil_to(request.since_ms, step_ms)
        scan = FileScan(path, symbol, step_ms)
        try:
            new_file = path.stat().st_size == 0
        except FileNotFoundError:
            new_file = True
        except OSError as exc:
            new_file, report.error = False, f"cannot read {path}: {exc.strerror or exc}"
        if not new_file and report.ok:
            try:
                scan = scan_file(path, symbol, step_ms, max_price_jump=request.max_price_jump)
            except OSError as exc:
                report.error = f"cannot read {path}: {exc.strerror or exc}"
            else:
                self._resume_from(scan, report)
                if scan.last_ts_ms is not None:
                    start_ms = max(start_ms, scan.last_ts_ms + step_ms)
        return _Plan(symbol, market, scan, new_file, start_ms, max(start_ms, end_ms), report)

    def _resume_from(self, scan: FileScan, report: SymbolReport) -> None:
        if not scan.header_ok:
            report.error = f"{scan.path} is not a bar file (its first line is not {CSV_HEADER})"
            return
        report.kept_bars = scan.bars
        report.first_ts_ms, report.last_ts_ms = scan.first_ts_ms, scan.last_ts_ms
        if scan.refused:
            report.notes.append(
                f"{len(scan.refused)} row(s) already in the file are refused by replay "
                "(chloe data check lists them)"
            )

    async def _download(self, plan: _Plan, step_ms: int) -> None:
        report = plan.report
        validator = BarValidator(
            plan.symbol,
            step_ms,
            plan.scan.last_ts_ms,
            max_price_jump=self.request.max_price_jump,
        )
        validator.last_close = plan.scan.last_close
        page_limit = self.client.page_limit
        writer = _Writer(plan)
        cursor = plan.start_ms
        counted = 0  # of this symbol's planned bar times, how many are behind the cursor
        try:
            await self._note_earlier_bars(plan, step_ms)
            while cursor < plan.end_ms:
                limit = min(page_limit, (plan.end_ms - cursor) // step_ms)
                rows = await self.client.ohlcv(
                    plan.market, self.request.timeframe, cursor, limit, symbol=plan.symbol
                )
                fresh = [r for r in rows if not isinstance(r[0], int) or cursor <= r[0]]
                wanted = [r for r in fresh if not isinstance(r[0], int) or r[0] < plan.end_ms]
                writer.pending += self._accept(validator, wanted, report)
                times = [r[0] for r in wanted if isinstance(r[0], int)]
                # A short page is no end: a bar dropped from it would end the file early. The
                # end is a bar at or past `end` (the forming one at the latest), or an answer
                # with no bar after the cursor (a market that stopped: EMPTY_RESPONSE below).
                reached_end = len(wanted) < len(fresh) or not times
                cursor = plan.end_ms if reached_end else max(times) + step_ms
                behind = (cursor - plan.start_ms) // step_ms
                self._done, counted = self._done + behind - counted, behind
                if flush_due(len(writer.pending), report.kept_bars + report.written, page_limit):
                    self._flush(writer)
                self._on_progress(self._done, self._total)
        except FeedError as exc:
            if exc.code == EMPTY_RESPONSE:  # after every retry: the exchange has no more bars
                last = validator.last_ts_ms
                after = fmt_ts(last) if last is not None else "--since"
                report.notes.append(f"the exchange sent no bar after {after} (empty answers)")
            else:
                report.error = f"{exc.code}: {exc.detail}" if exc.detail else exc.code
        self._flush(writer)  # what was accepted before a failure is kept
        self._done += plan.planned - counted  # a failed symbol's rest is not coming
        self._on_progress(self._done, self._total)

    def _flush(self, writer: _Writer) -> None:
        batch = writer.flush(self._done, self._total)
        if batch is not None:
            self._on_batch(batch)

    async def _note_earlier_bars(self, plan: _Plan, step_ms: int) -> None:
        """A file that starts after --since keeps its start: say so when the exchange has more."""
        first = plan.scan.first_ts_ms
        since = _ceil_to(self.request.since_ms, step_ms)
        if first is None or first <= since:
            return
        rows = await self.client.ohlcv(
            plan.market, self.request.timeframe, since, 1, symbol=plan.symbol
        )
        if isinstance(rows[0][0], int) and rows[0][0] < first:
            plan.report.notes.append(
                f"the exchange has bars before the file's first ({fmt_ts(first)} UTC); bars are "
                "only appended, never put in front: move the file away to download from --since"
            )

    @staticmethod
    def _accept(validator: BarValidator, rows: list[list[Any]], report: SymbolReport) -> list[Bar]:
        accepted: list[Bar] = []
        for row in rows:
            bar = bar_from_row(validator.symbol, row)
            if bar is None:
                ts = row[0] if isinstance(row[0], int) else None
                report.refused.append(Refusal(UNPARSEABLE, ts_ms=ts, detail=str(row[:6])))
                continue
            after = validator.last_ts_ms
            missing = validator.missing_before(bar)
            code = validator.check(bar)
            if code is not None:
                report.refused.append(Refusal(code, ts_ms=plausible_ts(bar.ts_ms)))
                continue
            if missing and after is not None:
                report.gaps.append(Gap(after, bar.ts_ms, missing))
            accepted.append(bar)
        return accepted
