"""ccxt's exceptions map to "retry" or "refuse" in one place, and Retry-After becomes the wait."""

from __future__ import annotations

import ccxt
import pytest
from tenacity import RetryCallState, wait_fixed

from engine_alpha.market.exchange_errors import (
    MAX_RETRY_AFTER_S,
    FeedError,
    RefusedFeedError,
    TemporaryFeedError,
    parse_retry_after_s,
    translate,
    wait_retry_after,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ccxt.RequestTimeout, "timeout"),
        (ccxt.ExchangeNotAvailable, "exchange_unavailable"),
        (ccxt.OnMaintenance, "exchange_unavailable"),
        (ccxt.NetworkError, "network"),
        (ccxt.OperationFailed, "server_error"),  # Binance HTTP 500 -1001
        (ccxt.BadResponse, "bad_response"),
        (ccxt.NullResponse, "bad_response"),
        (ccxt.DDoSProtection, "rate_limited"),
        (ccxt.RateLimitExceeded, "rate_limited"),
        (ConnectionResetError, "network"),
        (KeyError, "bad_response"),  # what ccxt's parsers raise on a body of the wrong shape
    ],
)
def test_temporary_failures_are_retried(error: type[Exception], code: str) -> None:
    translated = translate(error("boom"))
    assert isinstance(translated, TemporaryFeedError)
    assert translated.code == code


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ccxt.BadSymbol, "bad_symbol"),
        (ccxt.BadRequest, "bad_request"),
        (ccxt.AuthenticationError, "auth"),
        (ccxt.PermissionDenied, "auth"),
        (ccxt.NotSupported, "not_supported"),
        (ccxt.ExchangeError, "exchange_error"),
        (ccxt.InvalidOrder, "exchange_error"),
    ],
)
def test_refusals_are_not_retried(error: type[Exception], code: str) -> None:
    translated = translate(error("no"))
    assert isinstance(translated, RefusedFeedError)
    assert translated.code == code


def test_a_429_carries_the_retry_after_of_its_response() -> None:
    translated = translate(ccxt.DDoSProtection("429"), response_headers={"Retry-After": "7"})
    assert translated.retry_after_s == 7.0
    assert (
        translate(ccxt.RequestTimeout("t"), response_headers={"Retry-After": "7"}).retry_after_s
        is None
    )


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "12"}, 12.0),
        ({"Retry-After": "Thu, 01 Jan 1970 00:01:40 GMT"}, 40.0),  # an HTTP date, 40 s ahead
        ({"Retry-After": "100000"}, MAX_RETRY_AFTER_S),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"Content-Type": "text/plain"}, None),
        (None, None),
    ],
)
def test_retry_after_is_read_in_seconds_or_as_a_date_and_capped(
    headers: dict[str, str] | None, seconds: float | None
) -> None:
    assert parse_retry_after_s(headers, now_s=lambda: 60.0) == seconds


def test_the_wait_is_the_servers_when_it_said_one_else_the_fallback() -> None:
    wait = wait_retry_after(wait_fixed(3))
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.set_exception((FeedError, FeedError("x", retry_after_s=9.0), None))
    assert wait(state) == 9.0
    state.set_exception((FeedError, FeedError("x"), None))
    assert wait(state) == 3.0
