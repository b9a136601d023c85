"""One ccxt client and the rules every exchange call keeps: rate limit, translation, retries.

The live feed (`ccxt_feed.py`) and the history downloader (`download.py`) both reach the exchange
through `ExchangeClient`: ccxt's own limiter spaces the requests (`enableRateLimit`), whatever a
call raises is translated by `exchange_errors.translate`, and a temporary failure is retried by
tenacity (exponential backoff with jitter, a 429's `Retry-After` honoured); each retry is logged
as `feed_request_failed`. A refused request, or a temporary one still failing after the last
attempt, raises the `FeedError`; what to do then is the caller's decision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from structlog.typing import FilteringBoundLogger
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from engine_alpha.market.bars import Bar
from engine_alpha.market.exchange_errors import (
    FeedError,
    TemporaryFeedError,
    empty_response,
    translate,
    vendor_errors,
    wait_retry_after,
)

__all__ = ["DEFAULT_PAGE_LIMIT", "ExchangeClient", "UnknownExchangeError", "bar_from_row"]

DEFAULT_PAGE_LIMIT: Final = 500  # klines per request when ccxt does not know the exchange's
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Wait = Callable[[RetryCallState], float]


class UnknownExchangeError(ValueError):
    """An exchange id ccxt does not know, or an API URL that cannot be set on it."""


class ExchangeClient:
    """A ccxt async client of `exchange_id` (at `api_url` when given) with the retry rules."""

    def __init__(
        self,
        *,
        log: FilteringBoundLogger,
        exchange_id: str = "binance",
        api_url: str | None = None,
        sleep: Sleep = asyncio.sleep,
        retry_wait: Wait | None = None,
        max_attempts: int = 4,
        request_timeout_s: float = 10.0,
    ) -> None:
        if max_attempts < 1 or request_timeout_s <= 0:
            raise ValueError("need max_attempts >= 1 and request_timeout_s > 0")
        import ccxt.async_support as ccxt_async  # heavy: loaded only when the exchange is used

        if exchange_id not in ccxt_async.exchanges:
            raise UnknownExchangeError(f"ccxt knows no exchange {exchange_id!r}")
        self.exchange_id = exchange_id
        self.max_attempts = max_attempts
        self._log = log
        self._sleep = sleep
        self._retry_wait = retry_wait or wait_exponential_jitter(initial=0.5, max=30.0, jitter=0.5)
        self._vendor_errors = vendor_errors()
        self.exchange: Any = getattr(ccxt_async, exchange_id)(
            {
                "enableRateLimit": True,
                "timeout": int(request_timeout_s * 1000),
                "options": {
                    "fetchMarkets": {"types": ["spot"]},
                    "fetchCurrencies": False,
                    "fetchMargins": False,
                },
            }
        )
        if api_url is not None:
            urls = self.exchange.urls.get("api")
            if not isinstance(urls, dict) or "public" not in urls:
                raise UnknownExchangeError(f"an API URL cannot be set for {exchange_id}")
            urls["public"] = api_url.rstrip("/")

    @property
    def timeframes(self) -> list[str]:
        """The candle timeframes the exchange serves, as ccxt names them (`1m`, `1h`, ...)."""
        return list(getattr(self.exchange, "timeframes", None) or {})

    @property
    def page_limit(self) -> int:
        """The most klines one request may ask for: ccxt's `features`, else `DEFAULT_PAGE_LIMIT`."""
        features = getattr(self.exchange, "features", None) or {}
        spot = features.get("spot") if isinstance(features, dict) else None
        limit = ((spot or {}).get("fetchOHLCV") or {}).get("limit") if isinstance(spot, dict) else 0
        return limit if isinstance(limit, int) and limit > 0 else DEFAULT_PAGE_LIMIT

    async def markets(self, attempts: int | None = None) -> dict[str, Any]:
        """ccxt's markets (loaded once per client), retried."""
        return await self.call("exchangeInfo", self._fetch_markets, attempts=attempts)

    async def server_time(self, attempts: int | None = None) -> int:
        """The exchange's clock in UTC ms (the host's when the exchange has no time endpoint)."""
        if not self.exchange.has.get("fetchTime"):
            return int(self.exchange.milliseconds())
        return await self.call("time", self._fetch_time, attempts=attempts)

    async def ohlcv(
        self,
        market: str,
        timeframe: str,
        since_ms: int,
        limit: int,
        *,
        symbol: str,
        attempts: int | None = None,
    ) -> list[list[Any]]:
        """Up to `limit` candle rows `[ts, o, h, l, c, v]` opening at or after `since_ms`."""
        return await self.call(
            "klines",
            self._fetch_ohlcv,
            market,
            timeframe,
            since_ms,
            limit,
            attempts=attempts,
            symbol=symbol,
        )

    async def close(self) -> None:
        await self.exchange.close()

    async def call(
        self,
        endpoint: str,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
        attempts: int | None = None,
        symbol: str | None = None,
    ) -> T:
        """`fn(*args)` with vendor errors translated, temporary ones retried; raises `FeedError`."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TemporaryFeedError),
            stop=stop_after_attempt(self.max_attempts if attempts is None else attempts),
            wait=wait_retry_after(self._retry_wait),
            sleep=self._sleep,
            before_sleep=self._log_retry(endpoint, symbol),
            reraise=True,
        )
        return await retrying(self._translated, fn, *args)

    async def _translated(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        try:
            return await fn(*args)
        except self._vendor_errors as exc:
            headers = self.exchange.last_response_headers
            raise translate(exc, response_headers=headers) from exc

    def _log_retry(self, endpoint: str, symbol: str | None) -> Callable[[RetryCallState], None]:
        where = {"endpoint": endpoint}
        if symbol is not None:
            where["symbol"] = symbol

        def log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            self._log.warning(
                "feed_request_failed",
                **where,
                code=exc.code if isinstance(exc, FeedError) else type(exc).__name__,
                attempt=state.attempt_number,
                wait_s=state.upcoming_sleep,
            )

        return log_retry

    async def _fetch_markets(self) -> dict[str, Any]:
        markets = await self.exchange.load_markets()
        if not isinstance(markets, dict) or not markets:
            raise empty_response("exchangeInfo")
        return markets

    async def _fetch_time(self) -> int:
        server_ms = await self.exchange.fetch_time()
        if not isinstance(server_ms, int):
            raise empty_response("time")  # quirk (a): a truncated body parses to None
        return server_ms

    async def _fetch_ohlcv(
        self, market: str, timeframe: str, since_ms: int, limit: int
    ) -> list[list[Any]]:
        rows = await self.exchange.fetch_ohlcv(market, timeframe, since_ms, limit)
        if not rows:
            raise empty_response("klines")  # quirk (a): Binance always sends the forming bar
        return list(rows)


def bar_from_row(symbol: str, row: list[Any]) -> Bar | None:
    """A ccxt OHLCV row `[ts, o, h, l, c, v]` as a Bar, or None when a field is missing."""
    ts, o, h, lo, c, v = row[:6]
    if not isinstance(ts, int) or None in (o, h, lo, c, v):
        return None
    return Bar(symbol, ts, float(o), float(h), float(lo), float(c), float(v))
