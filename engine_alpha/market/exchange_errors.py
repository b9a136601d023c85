"""The one place that says what an exchange failure means for the feed: retry it, or refuse.

Every ccxt call of the live feed goes through `translate`, which turns whatever ccxt raised into
one of two exceptions, each with a stable `code` for the logs:

- `TemporaryFeedError` ("try again"): ccxt's whole `OperationFailed` family, that is NetworkError
  (RequestTimeout, ExchangeNotAvailable incl. OnMaintenance, DDoSProtection and RateLimitExceeded
  for HTTP 418/429, InvalidNonce) and BadResponse, plus Binance's own "try again" codes; a socket
  error; a body that ccxt could not make sense of; an empty answer where one was due. Tenacity
  retries these, and only these, with backoff; a 429/418 waits what `Retry-After` says.
- `RefusedFeedError` ("stop this request"): ccxt's `ExchangeError` family: BadRequest, BadSymbol,
  AuthenticationError, PermissionDenied, NotSupported, and a plain ExchangeError (an error code
  ccxt does not know). Repeating the same request would get the same answer, so it is not retried;
  the feed pauses that symbol until the next bar boundary and asks again then.

ccxt 4.5 quirks, decided here on purpose (each is covered by a test in `tests/live/`):

(a) A truncated JSON body is not an error for ccxt: `parse_json` swallows the decode error, so
    `fetch_ohlcv` returns `[]` and `fetch_time` returns `None`. The feed only asks for klines from
    a start time before the exchange's now, and Binance always answers that with at least the
    forming bar, so an empty answer there is a temporary failure (`EMPTY_RESPONSE`), retried.
(b) Binance's HTTP 500 with body code -1001 ("Internal error ... Please try again") becomes
    `OperationFailed` (ccxt maps the body's code before the HTTP status), which is NOT a
    NetworkError. OperationFailed is ccxt's "the request failed, it may work again" class, the
    parent of NetworkError, so the whole family is temporary (`SERVER_ERROR`) and retried.
(c) ccxt checks nothing inside a candle: it sorts rows by open time, drops rows before `since`
    and passes duplicates and impossible prices (high < close) through. Every bar therefore goes
    through `BarValidator` in the feed. (Because of the sort, a row out of order inside one answer
    reaches the feed in order; the validator still refuses anything at or before the last bar.)

Retry-After: ccxt raises DDoSProtection for HTTP 418/429 without the headers, but it stores them on
`exchange.last_response_headers` just before raising; `translate` reads them there. With one client
shared by concurrent requests another response could, rarely, have replaced them; the ordinary
exponential backoff then applies. The wait is capped at `MAX_RETRY_AFTER_S`.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable, Mapping
from typing import Final

from tenacity import RetryCallState

__all__ = [
    "AUTH",
    "BAD_REQUEST",
    "BAD_RESPONSE",
    "BAD_SYMBOL",
    "EMPTY_RESPONSE",
    "EXCHANGE_ERROR",
    "MAX_RETRY_AFTER_S",
    "NETWORK",
    "NOT_SUPPORTED",
    "RATE_LIMITED",
    "SERVER_ERROR",
    "TIMEOUT",
    "UNAVAILABLE",
    "FeedError",
    "RefusedFeedError",
    "TemporaryFeedError",
    "empty_response",
    "parse_retry_after_s",
    "translate",
    "vendor_errors",
    "wait_retry_after",
]

# temporary
RATE_LIMITED: Final = "rate_limited"
TIMEOUT: Final = "timeout"
UNAVAILABLE: Final = "exchange_unavailable"
NETWORK: Final = "network"
SERVER_ERROR: Final = "server_error"
BAD_RESPONSE: Final = "bad_response"
EMPTY_RESPONSE: Final = "empty_response"
# refused
BAD_SYMBOL: Final = "bad_symbol"
BAD_REQUEST: Final = "bad_request"
AUTH: Final = "auth"
NOT_SUPPORTED: Final = "not_supported"
EXCHANGE_ERROR: Final = "exchange_error"

MAX_RETRY_AFTER_S: Final = 120.0
_DETAIL_CHARS: Final = 200
# What ccxt's parsers raise on a body of an unexpected shape (e.g. an object where rows were due).
_PARSE_ERRORS: Final = (KeyError, IndexError, TypeError, ValueError, AttributeError)

_Table = list[tuple[tuple[type[BaseException], ...], str]]


class FeedError(Exception):
    """An exchange request that failed: a stable `code`, a short `detail`, maybe a server wait."""

    def __init__(self, code: str, detail: str = "", *, retry_after_s: float | None = None) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail[:_DETAIL_CHARS]
        self.retry_after_s = retry_after_s


class TemporaryFeedError(FeedError):
    """The request may work if tried again: retry it with backoff."""


class RefusedFeedError(FeedError):
    """The exchange refused the request itself: repeating it now would fail the same way."""


def vendor_errors() -> tuple[type[Exception], ...]:
    """The exceptions a ccxt call raises for reasons outside our code (for an `except` clause)."""
    import ccxt  # only the live feed loads ccxt, and only once it runs

    return (ccxt.BaseError, OSError, *_PARSE_ERRORS)


def translate(exc: BaseException, *, response_headers: object = None) -> FeedError:
    """Map what a ccxt call raised to a temporary or refused `FeedError` (see the module doc)."""
    import ccxt

    detail = str(exc)
    if isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        wait_s = parse_retry_after_s(response_headers)
        return TemporaryFeedError(RATE_LIMITED, detail, retry_after_s=wait_s)
    temporary: _Table = [
        ((ccxt.RequestTimeout,), TIMEOUT),
        ((ccxt.ExchangeNotAvailable,), UNAVAILABLE),
        ((ccxt.NetworkError, OSError), NETWORK),
        ((ccxt.BadResponse, *_PARSE_ERRORS), BAD_RESPONSE),
        ((ccxt.OperationFailed,), SERVER_ERROR),  # quirk (b): Binance -1001 lands here
    ]
    refused: _Table = [
        ((ccxt.BadSymbol,), BAD_SYMBOL),
        ((ccxt.BadRequest,), BAD_REQUEST),
        ((ccxt.AuthenticationError,), AUTH),
        ((ccxt.NotSupported,), NOT_SUPPORTED),
    ]
    for kinds, code in temporary:
        if isinstance(exc, kinds):
            return TemporaryFeedError(code, detail)
    for kinds, code in refused:
        if isinstance(exc, kinds):
            return RefusedFeedError(code, detail)
    return RefusedFeedError(EXCHANGE_ERROR, f"{type(exc).__name__}: {detail}")


def empty_response(what: str) -> TemporaryFeedError:
    """Quirk (a): an empty or unparsable answer where the exchange owed us data."""
    return TemporaryFeedError(EMPTY_RESPONSE, f"{what}: empty or truncated answer")


def parse_retry_after_s(headers: object, *, now_s: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a `Retry-After` header (seconds or an HTTP date), or None."""
    if not isinstance(headers, Mapping):
        return None
    raw = next((str(v) for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(raw).timestamp() - now_s()
        except (TypeError, ValueError):
            return None
    if not math.isfinite(seconds):
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


class wait_retry_after:  # noqa: N801 - named like the tenacity waits it wraps
    """A tenacity wait: the server's `Retry-After` when it sent one, else `fallback`'s wait."""

    def __init__(self, fallback: Callable[[RetryCallState], float]) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(exc, FeedError) and exc.retry_after_s is not None:
            return exc.retry_after_s
        return self.fallback(retry_state)
