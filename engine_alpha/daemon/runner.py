"""The supervisor loop: feed chunks out to the strategy tasks, their decisions into the trader.

Bars of one chunk go to every asset's task at once (one await per chunk, not per bar); the trader
then steps through the chunk's bar times in order and the journal commits once per chunk. A stop
request is honoured between bar times: the step in progress finishes and is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from engine_alpha.core.units import HOUR_MS
from engine_alpha.execution.trader import Trader
from engine_alpha.market.bars import Bar, BarTime
from engine_alpha.strategy.decided import Decided
from engine_alpha.strategy.task import StrategyTask


class Feed(Protocol):
    """What the runner needs of a feed: chunks of bar times in ascending time."""

    def chunks(self) -> AsyncIterator[list[BarTime]]:
        """Yield lists of bar times, each holding the bars of one open time in run order."""
        ...


@dataclass(slots=True)
class TradingWindow:
    """Which bar times trade (SPEC §7 start and catch-up).

    Bars up to the journal's last acted bar only warm up. Backfill (history a live feed fetched at
    start) warms up with an empty journal; with a journal, its bars after the last acted one are
    traded as catch-up, at most `max_catchup_bars` of the newest. Backfill that arrives after live
    bars (a late bar) only warms up: trading it would act out of time order.
    """

    resume_after_ms: int | None
    max_catchup_bars: int = 48
    timeframe_ms: int = HOUR_MS
    catchup_from_ms: int | None = None
    live_seen: bool = False

    def begin_chunk(self, chunk: list[BarTime]) -> int | None:
        """Fix the catch-up window from the first backfill; returns the oldest bar time skipped."""
        backfill = [bt.ts_ms for bt in chunk if bt.backfill]
        if self.live_seen or not backfill or self.catchup_from_ms is not None:
            return None
        self.catchup_from_ms = backfill[-1] - (self.max_catchup_bars - 1) * self.timeframe_ms
        skipped = [
            ts
            for ts in backfill
            if ts < self.catchup_from_ms
            and (self.resume_after_ms is not None and ts > self.resume_after_ms)
        ]
        return skipped[0] if skipped else None

    def mode(self, bar_time: BarTime) -> str:
        """`trade`, `warmup` (indicators and pending orders only) or `late` (indicators only)."""
        ts = bar_time.ts_ms
        if bar_time.backfill and self.live_seen:
            return "late"
        if not bar_time.backfill:
            self.live_seen = True
        if self.resume_after_ms is not None and ts <= self.resume_after_ms:
            return "warmup"
        if bar_time.backfill:
            if self.resume_after_ms is None:
                return "warmup"
            if self.catchup_from_ms is not None and ts < self.catchup_from_ms:
                return "warmup"
        return "trade"


@dataclass(slots=True)
class RunStats:
    """Counters of one run, for the summary and the benchmark."""

    bar_times: int = 0
    bars: int = 0
    chunks: int = 0
    last_bar_ts: int | None = None
    first_bar_ts: int | None = None
    """The first bar time of the run (the notifications' first UTC day)."""
    failed_symbols: list[str] = field(default_factory=list)
    bars_by_symbol: dict[str, int] = field(default_factory=dict)
    last_commit_s: float = 0.0
    """How long the last journal commit took (seconds): the metrics' commit latency."""
    last_committed: list[dict[str, Any]] = field(default_factory=list)
    """The fill lines of the last commit."""
    total_bar_times: int | None = None
    """How many bar times the feed will yield, when it knows (a replay); for the progress bar."""


class Runner:
    """Owns the strategy tasks for one run and drives them from a feed."""

    def __init__(
        self,
        *,
        feed: Feed,
        trader: Trader,
        tasks: dict[str, StrategyTask],
        window: TradingWindow,
        on_commit: Callable[[bool], None] | None = None,
        on_progress: Callable[[RunStats], None] | None = None,
        after_chunk: Callable[[], None] | None = None,
    ) -> None:
        self.feed = feed
        self.trader = trader
        self.tasks = tasks
        self.window = window
        self.on_commit = on_commit
        self.on_progress = on_progress
        self.after_chunk = after_chunk
        self.in_chunk = False
        self.metered = False  # True while the metrics endpoint is on: count bars, time commits
        self.stats = RunStats()
        self.stop_requested = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._log = structlog.get_logger("chloe.runner")

    def start_tasks(self) -> None:
        """Start one named asyncio task per asset (`strategy:ETHUSDT`)."""
        for symbol, task in self.tasks.items():
            running = asyncio.create_task(task.run(), name=f"strategy:{symbol}")
            running.add_done_callback(self._task_done)
            self._running[symbol] = running

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._log.error("task_failed", task=task.get_name(), error=repr(task.exception()))

    async def stop_tasks(self) -> None:
        """Ask every task to finish and wait for them."""
        for task in self.tasks.values():
            task.inbox.put_nowait(None)
        if self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
        self._running.clear()

    async def run(self) -> RunStats:
        """Drive the feed to its end or until a stop is requested; commit what was stepped."""
        chunks = self.feed.chunks()
        stop_wait = asyncio.ensure_future(self.stop_requested.wait())
        try:
            while not self.stop_requested.is_set():
                next_chunk = asyncio.ensure_future(anext(chunks, None))
                await asyncio.wait({next_chunk, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
                if not next_chunk.done():
                    next_chunk.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                        await next_chunk
                    break
                chunk = next_chunk.result()
                if chunk is None:
                    break
                self.in_chunk = True
                try:
                    await self._process(chunk)
                finally:
                    self.in_chunk = False
                if self.after_chunk is not None:
                    self.after_chunk()
        finally:
            stop_wait.cancel()
            with contextlib.suppress(Exception):
                await chunks.aclose()  # type: ignore[attr-defined]
        return self.stats

    async def _process(self, chunk: list[BarTime]) -> None:
        skipped_from = self.window.begin_chunk(chunk)
        if skipped_from is not None:
            self._log.warning(
                "catchup_limited",
                max_catchup_bars=self.window.max_catchup_bars,
                warmup_only_from_ms=skipped_from,
                catchup_from_ms=self.window.catchup_from_ms,
            )
        if self.stats.first_bar_ts is None and chunk:
            self.stats.first_bar_ts = chunk[0].ts_ms
        per_symbol: dict[str, list[Bar]] = {}
        for bar_time in chunk:
            for bar in bar_time.bars:
                per_symbol.setdefault(bar.symbol, []).append(bar)
        decided = await self._decide_all(per_symbol)
        cursors = {symbol: iter(items) for symbol, items in decided.items()}
        trader = self.trader
        stats = self.stats
        traded_any = False
        for bar_time in chunk:
            step: dict[str, Decided] = {}
            for bar in bar_time.bars:
                cursor = cursors.get(bar.symbol)
                if cursor is not None:
                    step[bar.symbol] = next(cursor)
            mode = self.window.mode(bar_time)
            if mode == "late":
                self._log.warning("bar_time_late", bar_ts=bar_time.ts_ms, symbols=len(step))
                continue
            trading = mode == "trade"
            trader.step(bar_time, step, trading=trading)
            traded_any = traded_any or trading
            stats.bar_times += 1
            stats.bars += len(bar_time.bars)
            stats.last_bar_ts = bar_time.ts_ms
            if self.stop_requested.is_set():
                break
        stats.chunks += 1
        self._commit(per_symbol)
        if self.on_commit is not None:
            self.on_commit(traded_any)
        if self.on_progress is not None:
            self.on_progress(stats)

    def _commit(self, per_symbol: dict[str, list[Bar]]) -> None:
        """Commit the chunk's fills; metered, also count its bars and time the commit."""
        if not self.metered:
            self.trader.commit()
            return
        stats = self.stats
        counts = stats.bars_by_symbol
        for symbol, bars in per_symbol.items():
            counts[symbol] = counts.get(symbol, 0) + len(bars)
        started = time.perf_counter()
        stats.last_committed = self.trader.commit()
        stats.last_commit_s = time.perf_counter() - started

    async def _decide_all(self, per_symbol: dict[str, list[Bar]]) -> dict[str, list[Decided]]:
        futures = {
            symbol: self.tasks[symbol].submit(bars)
            for symbol, bars in per_symbol.items()
            if symbol in self.tasks and symbol not in self.stats.failed_symbols
        }
        results: dict[str, list[Decided]] = {}
        for symbol, future in futures.items():
            try:
                results[symbol] = await future
            except Exception as exc:  # noqa: BLE001 - the supervisor boundary: log, isolate the asset
                self.stats.failed_symbols.append(symbol)
                self._log.critical("strategy_failed", symbol=symbol, error=repr(exc))
        return results
