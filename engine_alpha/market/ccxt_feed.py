"""Live feed: Binance's closed bars through ccxt, polled on the exchange's own clock (SPEC §7).

One ccxt client serves every asset. At start the feed loads the markets, asks the exchange's time
and backfills `warmup_bars` + a margin + `feed.max_catchup_bars` closed bars per symbol (for a
symbol in `resume_from`, whose model was restored, every bar after that bar time), yielded as
`backfill=True`; the consumer decides which of them only warm up and which are traded as catch-up
(after its journal's last acted bar). Then, once per cycle (every `poll_interval_s`, and right after
each timeframe boundary): one `GET /api/v3/time`; for each symbol owed a bar, klines since its
last bar, paginated, in order; only CLOSED bars (open + timeframe <= exchange time) are kept, so
the forming bar Binance includes is dropped whatever the host clock says. Bars are validated
(`bar_refused`, `bar_gap`), grouped by open time across symbols in run order, and yielded as
`backfill=False` bar times in ascending time once every symbol has answered or given up.

Failures never leave `chunks()`: a temporary one is retried (tenacity: exponential backoff with
jitter, `Retry-After` honoured) and then the symbol sits this cycle out; a refused request pauses
the symbol until the next boundary. A symbol with no new closed bar for 2 timeframes of exchange
time is degraded (`feed_degraded`) and recovers by itself (`feed_recovered`).

Ordering: a symbol's own bars always strictly ascend. Across symbols, live bar times never go
back in time, with one exception: a symbol that sat out cycles delivers its missed bars late.
A late bar of the newest time is yielded as its own live bar time (same `ts_ms` again); older
late bars (`bar_late`) are yielded with `backfill=True`, ahead of the newer bar times of the chunk.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from structlog.typing import FilteringBoundLogger
from tenacity import RetryCallState

from engine_alpha.config.models import FeedSettings, timeframe_ms
from engine_alpha.market.bars import Bar, BarTime
from engine_alpha.market.exchange_client import ExchangeClient, bar_from_row
from engine_alpha.market.exchange_errors import FeedError, RefusedFeedError, TemporaryFeedError
from engine_alpha.market.rules import MarketRules, market_rules_from_ccxt
from engine_alpha.market.validation import BarValidator

__all__ = ["BACKFILL_MARGIN_BARS", "DEGRADED_AFTER_TIMEFRAMES", "CcxtFeed"]

BACKFILL_MARGIN_BARS: Final = 24
DEGRADED_AFTER_TIMEFRAMES: Final = 2
_UNPARSEABLE: Final = "unparseable"

Sleep = Callable[[float], Awaitable[None]]
Wait = Callable[[RetryCallState], float]


@dataclass(slots=True)
class _Symbol:
    """One asset's place in the feed: its market, its cursor and its health."""

    symbol: str
    order: int
    validator: BarValidator
    market: str | None = None  # the ccxt symbol, e.g. BTC/USDT, once the markets are known
    next_since_ms: int = 0  # the next open time to ask for (past every closed bar seen)
    paused_until_ms: int = 0  # after a refused request: not before this exchange time
    degraded: bool = False


class CcxtFeed:
    """Closed bars of `symbols` (in run order) from Binance, or any API at `settings.api_url`."""

    def __init__(
        self,
        settings: FeedSettings,
        symbols: Sequence[str],
        *,
        warmup_bars: int,
        log: FilteringBoundLogger,
        resume_from: Mapping[str, int] | None = None,
        resume_closes: Mapping[str, float] | None = None,
        clock_sleep: Sleep = asyncio.sleep,
        retry_wait: Wait | None = None,
        jitter_s: float = 1.0,
        settle_s: float = 2.0,
        max_attempts: int = 4,
        request_timeout_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"symbols must be unique, got {list(symbols)}")
        if warmup_bars < 0 or max_attempts < 1 or jitter_s < 0 or request_timeout_s <= 0:
            raise ValueError("need warmup_bars >= 0, max_attempts >= 1, jitter_s >= 0, timeout > 0")
        self.settings = settings
        self.timeframe_ms = timeframe_ms(settings.timeframe)
        self.refused: dict[str, int] = {}  # bars refused per symbol (`bar_refused`), for metrics
        self.warmup_bars = warmup_bars
        self._resume_from = dict(resume_from or {})
        self._resume_closes = dict(resume_closes or {})
        self._symbols = [
            _Symbol(
                s, i, BarValidator(s, self.timeframe_ms, max_price_jump=settings.max_price_jump)
            )
            for i, s in enumerate(symbols)
        ]
        self._log = log
        self._sleep = clock_sleep
        self._jitter_s = jitter_s
        self._settle_s = settle_s
        self._max_attempts = max_attempts
        self._monotonic = monotonic
        self._rng = random.Random()
        self._client = ExchangeClient(
            log=log,
            api_url=settings.api_url,
            sleep=clock_sleep,
            retry_wait=retry_wait,
            max_attempts=max_attempts,
            request_timeout_s=request_timeout_s,
        )
        self._server_ms: tuple[int, float] | None = None  # last exchange time, host monotonic then
        self._first_server_ms: int | None = None
        self._live_from_ms = 0  # bar times before this were history at start
        self._watermark_ms = -1  # the newest bar time yielded so far
        self._markets_mapped = False

    # ---- public surface

    async def load_markets(self) -> dict[str, MarketRules]:
        """Rules of every spot market, keyed like `BTCUSDT` (fetched once, retried).

        Raises `FeedError` when the exchange cannot answer after the retries, and
        `MarketRulesError` when its filters cannot be read; `chunks()` needs neither.
        """
        return market_rules_from_ccxt(await self._markets())

    async def chunks(self) -> AsyncGenerator[list[BarTime], None]:
        """Bar times in ascending time, history first (`backfill=True`); a fault never leaves."""
        await self._start()
        chunk = await self._backfill()
        if chunk:
            yield chunk
        while True:
            await self._sleep(self._next_wait_s())
            chunk = await self._cycle()
            if chunk:
                yield chunk

    def degraded_symbols(self) -> set[str]:
        return {st.symbol for st in self._symbols if st.degraded}

    async def close(self) -> None:
        await self._client.close()

    # ---- phases

    async def _start(self) -> None:
        """Markets and the exchange's time, waiting (and retrying) as long as it takes."""
        started = self._monotonic()
        while True:
            try:
                await self._markets()
                self._observe(await self._client.server_time())
                return
            except FeedError as exc:
                self._log.warning("feed_start_waiting", code=exc.code, detail=exc.detail)
            if (
                self._monotonic() - started
            ) * 1000 >= DEGRADED_AFTER_TIMEFRAMES * self.timeframe_ms:
                for st in self._symbols:
                    self._set_degraded(st, True, reason="no_exchange")
            await self._sleep(self.settings.poll_interval_s)

    async def _backfill(self) -> list[BarTime]:
        now = self._now_ms()
        last_closed = self._last_closed_open(now)
        bars_wanted = self.warmup_bars + BACKFILL_MARGIN_BARS + self.settings.max_catchup_bars
        for st in self._symbols:
            resume = self._resume_from.get(st.symbol)
            if resume is None:
                st.next_since_ms = last_closed - (bars_wanted - 1) * self.timeframe_ms
            else:  # a restored model: exactly the bars after its last one, however many
                st.next_since_ms = resume + self.timeframe_ms
                st.validator.last_ts_ms = resume
                st.validator.last_close = self._resume_closes.get(st.symbol)  # jump bound
        self._live_from_ms = last_closed + self.timeframe_ms
        self._watermark_ms = last_closed
        active = self._active(now)
        polled = await asyncio.gather(*(self._poll(st, now) for st in active))
        for st, bars in zip(active, polled, strict=True):
            first, last = (bars[0].ts_ms, bars[-1].ts_ms) if bars else (None, None)
            self._log.info(
                "feed_backfilled", symbol=st.symbol, bars=len(bars), first_ts=first, last_ts=last
            )
        return self._group([bar for bars in polled for bar in bars])

    async def _cycle(self) -> list[BarTime]:
        try:
            now = await self._client.server_time()
        except FeedError as exc:
            self._log.warning("feed_cycle_skipped", code=exc.code, detail=exc.detail)
            self._update_health(self._now_ms())
            return []
        self._observe(now)
        due = [st for st in self._active(now) if st.next_since_ms <= self._last_closed_open(now)]
        polled = await asyncio.gather(*(self._poll(st, now, jitter=True) for st in due))
        self._update_health(now)
        return self._group([bar for bars in polled for bar in bars])

    # ---- one symbol

    async def _poll(self, st: _Symbol, now: int, *, jitter: bool = False) -> list[Bar]:
        """Every closed bar of `st` since its cursor, validated; a failure ends its turn."""
        if jitter and self._jitter_s > 0:
            await self._sleep(self._rng.uniform(0.0, self._jitter_s))
        attempts = 1 if st.degraded else self._max_attempts
        last_closed = self._last_closed_open(now)
        accepted: list[Bar] = []
        page = self._client.page_limit  # Binance spot klines: at most 1000 rows per request
        try:
            while st.next_since_ms <= last_closed:
                limit = min(page, (last_closed - st.next_since_ms) // self.timeframe_ms + 2)
                rows = await self._fetch_klines(st, limit, attempts)
                closed = [row for row in rows if row[0] + self.timeframe_ms <= now]
                if not closed:
                    break  # nothing closed since the cursor yet (e.g. an exchange halt)
                accepted += self._accept(st, closed)
                st.next_since_ms = max(st.next_since_ms, closed[-1][0] + self.timeframe_ms)
                if len(rows) < limit:
                    break
        except TemporaryFeedError as exc:
            self._log.warning(
                "feed_symbol_skipped", symbol=st.symbol, code=exc.code, detail=exc.detail
            )
        except RefusedFeedError as exc:
            st.paused_until_ms = last_closed + 2 * self.timeframe_ms  # the next boundary
            self._log.error(
                "feed_request_refused",
                symbol=st.symbol,
                code=exc.code,
                detail=exc.detail,
                paused_until_ms=st.paused_until_ms,
            )
        return accepted

    def _accept(self, st: _Symbol, rows: list[list[Any]]) -> list[Bar]:
        """Quirk (c): ccxt checks nothing in a candle, so every row goes through the validator."""
        accepted: list[Bar] = []
        for row in rows:
            bar = bar_from_row(st.symbol, row)
            if bar is None:
                self._refused(st, _UNPARSEABLE, row)
                continue
            after_ts = st.validator.last_ts_ms
            missing = st.validator.missing_before(bar)
            code = st.validator.check(bar)
            if code is not None:
                self._refused(st, code, row)
                continue
            if missing:
                self._log.warning(
                    "bar_gap",
                    symbol=st.symbol,
                    missing_bars=missing,
                    after_ts=after_ts,
                    before_ts=bar.ts_ms,
                )
            accepted.append(bar)
        return accepted

    def _refused(self, st: _Symbol, code: str, row: list[Any]) -> None:
        ts, o, h, lo, c, v = row[:6]
        self.refused[st.symbol] = self.refused.get(st.symbol, 0) + 1
        self._log.warning(
            "bar_refused",
            symbol=st.symbol,
            code=code,
            bar_ts_ms=ts if isinstance(ts, int) and abs(ts) < 2**63 else str(ts),
            open=o,
            high=h,
            low=lo,
            close=c,
            volume=v,
        )

    # ---- grouping and health

    def _group(self, bars: list[Bar]) -> list[BarTime]:
        """Bars grouped by open time, in run order; history and late bars marked backfill."""
        by_ts: dict[int, list[Bar]] = {}
        for bar in bars:
            by_ts.setdefault(bar.ts_ms, []).append(bar)
        order = {st.symbol: st.order for st in self._symbols}
        chunk: list[BarTime] = []
        for ts in sorted(by_ts):
            group = sorted(by_ts[ts], key=lambda b: order[b.symbol])
            late = self._live_from_ms <= ts < self._watermark_ms
            for bar in group if late else ():
                self._log.warning(
                    "bar_late", symbol=bar.symbol, bar_ts_ms=ts, newest_ts_ms=self._watermark_ms
                )
            chunk.append(BarTime(ts, group, backfill=ts < self._live_from_ms or late))
        if chunk:
            self._watermark_ms = max(self._watermark_ms, chunk[-1].ts_ms)
        return chunk

    def _update_health(self, now: int) -> None:
        for st in self._symbols:
            if st.market is None:
                continue  # unknown to the exchange: degraded for good
            last = st.validator.last_ts_ms
            fresh_since = last + self.timeframe_ms if last is not None else self._first_server_ms
            if fresh_since is None:
                continue
            stale_ms = now - fresh_since
            stale = stale_ms >= DEGRADED_AFTER_TIMEFRAMES * self.timeframe_ms
            self._set_degraded(st, stale, reason="no_new_bar", last_bar_ts_ms=last)

    def _set_degraded(self, st: _Symbol, degraded: bool, **fields: object) -> None:
        if degraded == st.degraded:
            return
        st.degraded = degraded
        if degraded:
            self._log.warning("feed_degraded", symbol=st.symbol, **fields)
        else:
            self._log.info(
                "feed_recovered", symbol=st.symbol, last_bar_ts_ms=st.validator.last_ts_ms
            )

    # ---- exchange calls

    async def _markets(self) -> dict[str, Any]:
        """ccxt's markets (loaded once) and each symbol's ccxt name; unknown symbols are logged."""
        markets = await self._client.markets()
        if not self._markets_mapped:
            by_id = {m.get("id"): key for key, m in markets.items() if m.get("spot")}
            for st in self._symbols:
                st.market = by_id.get(st.symbol)
                if st.market is None:
                    self._log.error("feed_unknown_symbol", symbol=st.symbol)
                    self._set_degraded(st, True, reason="unknown_symbol")
            self._markets_mapped = True
        return markets

    async def _fetch_klines(self, st: _Symbol, limit: int, attempts: int) -> list[list[Any]]:
        if st.market is None:
            raise RuntimeError(f"{st.symbol} has no market")  # _active() keeps these out
        return await self._client.ohlcv(
            st.market,
            self.settings.timeframe,
            st.next_since_ms,
            limit,
            symbol=st.symbol,
            attempts=attempts,
        )

    # ---- clock

    def _observe(self, server_ms: int) -> None:
        self._server_ms = (server_ms, self._monotonic())
        if self._first_server_ms is None:
            self._first_server_ms = server_ms

    def _now_ms(self) -> int:
        """The exchange's time: the last answer plus the host's monotonic time since."""
        if self._server_ms is None:
            raise RuntimeError("no exchange time yet")
        server_ms, then = self._server_ms
        return server_ms + int((self._monotonic() - then) * 1000)

    def _last_closed_open(self, now: int) -> int:
        """Open time of the newest closed bar at exchange time `now` (open + timeframe <= now)."""
        return (now // self.timeframe_ms - 1) * self.timeframe_ms

    def _next_wait_s(self) -> float:
        now = self._now_ms()
        to_boundary_ms = self.timeframe_ms - now % self.timeframe_ms
        return max(0.0, min(self.settings.poll_interval_s, to_boundary_ms / 1000 + self._settle_s))

    def _active(self, now: int) -> list[_Symbol]:
        return [st for st in self._symbols if st.market is not None and st.paused_until_ms <= now]
