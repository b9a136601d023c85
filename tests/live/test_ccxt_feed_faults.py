"""Every exchange fault is survived with the right log line, and no bogus bar reaches the run."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, MutableMapping
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from engine_alpha.market.bars import BarTime
from engine_alpha.market.ccxt_feed import CcxtFeed
from engine_alpha.testing.fake_binance import (
    EXCHANGE_INFO_PATH,
    KLINES_PATH,
    TIME_PATH,
    FakeBinance,
)
from tests.live.conftest import DAY0_MS, HOUR_MS, MakeFeed, SimSleep, csv_row, events, hours

Logs = list[MutableMapping[str, Any]]
Chunks = AsyncIterator[list[BarTime]]


@pytest.fixture
def logs() -> Iterator[Logs]:
    with capture_logs() as captured:
        yield captured


@pytest.fixture
def feed(make_feed: MakeFeed, logs: Logs) -> CcxtFeed:
    return make_feed(log=structlog.get_logger())


@pytest.fixture
async def chunks(feed: CcxtFeed) -> AsyncGenerator[Chunks, None]:
    """The feed's chunks, with the backfill already taken: the next one is the first live cycle."""
    async with contextlib.aclosing(feed.chunks()) as stream:
        await anext(stream)
        yield stream


def assert_csv_bars(chunk: list[BarTime]) -> None:
    """Every yielded bar is exactly the exchange's closed candle: nothing bogus got through."""
    for bar_time in chunk:
        for bar in bar_time.bars:
            ohlcv = (bar.open, bar.high, bar.low, bar.close, bar.volume)
            assert ohlcv == csv_row(bar.symbol, bar.ts_ms)


@pytest.mark.parametrize(
    ("kind", "code"),
    [("http_500", "server_error"), ("http_503", "exchange_unavailable")],
)
async def test_a_server_error_is_retried_and_the_bar_arrives(
    fake: FakeBinance,
    chunks: Chunks,
    logs: Logs,
    kind: str,
    code: str,
) -> None:
    fake.faults.add(kind, path=KLINES_PATH, symbol="BTCUSDT", times=2)  # type: ignore[arg-type]
    chunk = await anext(chunks)
    assert hours(chunk) == [0] and len(chunk[0].bars) == 3
    failed = events(logs, "feed_request_failed")
    assert [(e["symbol"], e["code"], e["attempt"]) for e in failed] == [
        ("BTCUSDT", code, 1),
        ("BTCUSDT", code, 2),
    ]
    assert_csv_bars(chunk)


async def test_429_waits_what_retry_after_says(
    fake: FakeBinance, chunks: Chunks, logs: Logs, sleeps: SimSleep
) -> None:
    fake.faults.add("http_429", path=KLINES_PATH, symbol="ETHUSDT", retry_after_s=7)
    sleeps.calls.clear()
    chunk = await anext(chunks)
    assert hours(chunk) == [0] and len(chunk[0].bars) == 3
    assert 7.0 in sleeps.calls  # the injected retry wait is 0: this is the server's
    (failed,) = events(logs, "feed_request_failed")
    assert (failed["symbol"], failed["code"], failed["wait_s"]) == ("ETHUSDT", "rate_limited", 7.0)


async def test_a_slow_answer_times_out_and_is_retried(
    fake: FakeBinance, make_feed: MakeFeed, logs: Logs
) -> None:
    feed = make_feed(["BTCUSDT"], log=structlog.get_logger(), request_timeout_s=0.2)
    async with contextlib.aclosing(feed.chunks()) as stream:
        await anext(stream)
        fake.faults.add("slow", path=KLINES_PATH, delay_s=1.0)
        chunk = await anext(stream)
    assert hours(chunk) == [0]
    assert [e["code"] for e in events(logs, "feed_request_failed")] == ["timeout"]


async def test_a_truncated_json_answer_is_a_temporary_failure_not_an_empty_market(
    fake: FakeBinance, chunks: Chunks, logs: Logs
) -> None:
    fake.faults.add("malformed_json", path=KLINES_PATH, symbol="MATICUSDT")
    fake.faults.add("malformed_json", path=TIME_PATH)
    chunk = await anext(chunks)
    assert hours(chunk) == [0] and len(chunk[0].bars) == 3
    failed = events(logs, "feed_request_failed")
    assert [(e.get("symbol"), e["endpoint"], e["code"]) for e in failed] == [
        (None, "time", "empty_response"),
        ("MATICUSDT", "klines", "empty_response"),
    ]


async def test_a_missing_bar_is_logged_as_a_gap_and_the_later_bars_still_come(
    fake: FakeBinance, chunks: Chunks, logs: Logs
) -> None:
    fake.faults.add("missing_bar", symbol="BTCUSDT", ts_ms=DAY0_MS + HOUR_MS)
    fake.clock.advance(3 * HOUR_MS)
    chunk = await anext(chunks)
    assert hours(chunk) == [0, 1, 2, 3]
    assert [len(bt.bars) for bt in chunk] == [3, 2, 3, 3]
    (gap,) = events(logs, "bar_gap")
    assert (gap["symbol"], gap["missing_bars"]) == ("BTCUSDT", 1)
    assert (gap["after_ts"], gap["before_ts"]) == (DAY0_MS, DAY0_MS + 2 * HOUR_MS)
    assert_csv_bars(chunk)


@pytest.mark.parametrize(
    ("kind", "code"), [("duplicate_bar", "duplicate"), ("bad_bar", "high_below_body")]
)
async def test_a_duplicate_or_impossible_bar_is_refused_and_logged(
    fake: FakeBinance, chunks: Chunks, logs: Logs, kind: str, code: str
) -> None:
    fake.faults.add(kind, symbol="BTCUSDT", ts_ms=DAY0_MS + HOUR_MS)  # type: ignore[arg-type]
    fake.clock.advance(2 * HOUR_MS)
    chunk = await anext(chunks)
    assert hours(chunk) == [0, 1, 2]
    btc_hours = [
        (b.ts_ms - DAY0_MS) // HOUR_MS for bt in chunk for b in bt.bars if b.symbol == "BTCUSDT"
    ]
    assert btc_hours == ([0, 1, 2] if kind == "duplicate_bar" else [0, 2])
    (refused,) = events(logs, "bar_refused")
    assert (refused["symbol"], refused["code"], refused["bar_ts_ms"]) == (
        "BTCUSDT",
        code,
        DAY0_MS + HOUR_MS,
    )
    assert_csv_bars(chunk)


async def test_rows_out_of_order_within_an_answer_reach_the_run_in_order(
    fake: FakeBinance, chunks: Chunks, logs: Logs
) -> None:
    """ccxt sorts an answer's rows by open time, so the run sees the exchange's bars in order."""
    fake.faults.add("out_of_order_bar", symbol="BTCUSDT", ts_ms=DAY0_MS)
    fake.clock.advance(2 * HOUR_MS)
    chunk = await anext(chunks)
    assert fake.faults.fired["out_of_order_bar"] == 1
    assert hours(chunk) == [0, 1, 2] and all(len(bt.bars) == 3 for bt in chunk)
    assert events(logs, "bar_refused") == [] and events(logs, "bar_gap") == []
    assert_csv_bars(chunk)


async def test_a_failing_symbol_is_degraded_while_the_others_go_on_and_it_recovers(
    fake: FakeBinance, feed: CcxtFeed, chunks: Chunks, logs: Logs
) -> None:
    fake.faults.add("http_500", path=KLINES_PATH, symbol="BTCUSDT", times=None)
    first, second = await anext(chunks), await anext(chunks)
    assert (hours(first), hours(second)) == ([0], [1])
    assert [b.symbol for b in first[0].bars + second[0].bars] == ["ETHUSDT", "MATICUSDT"] * 2
    assert feed.degraded_symbols() == {"BTCUSDT"}
    assert [e["symbol"] for e in events(logs, "feed_degraded")] == ["BTCUSDT"]
    assert {e["symbol"] for e in events(logs, "feed_symbol_skipped")} == {"BTCUSDT"}

    fake.faults.clear()
    third = await anext(chunks)
    assert [
        (h, bt.backfill, [b.symbol for b in bt.bars])
        for h, bt in zip(hours(third), third, strict=True)
    ] == [
        (0, True, ["BTCUSDT"]),  # late, and older than the newest bar time yielded: warm-up
        (1, False, ["BTCUSDT"]),  # late, of the newest bar time yielded: decided after the others
        (2, False, ["ETHUSDT", "BTCUSDT", "MATICUSDT"]),
    ]
    assert feed.degraded_symbols() == set()
    assert [e["symbol"] for e in events(logs, "feed_recovered")] == ["BTCUSDT"]
    assert [e["bar_ts_ms"] for e in events(logs, "bar_late")] == [DAY0_MS]
    assert_csv_bars(third)


async def test_a_degraded_symbol_gets_one_attempt_per_cycle(
    fake: FakeBinance, feed: CcxtFeed, chunks: Chunks
) -> None:
    fake.faults.add("http_503", path=KLINES_PATH, symbol="BTCUSDT", times=None)
    await anext(chunks)
    await anext(chunks)
    assert feed.degraded_symbols() == {"BTCUSDT"}
    before = fake.requests(KLINES_PATH, "BTCUSDT")
    await anext(chunks)
    assert fake.requests(KLINES_PATH, "BTCUSDT") == before + 1


async def test_when_the_exchange_time_fails_the_cycle_is_skipped_and_the_next_catches_up(
    fake: FakeBinance, chunks: Chunks, logs: Logs
) -> None:
    fake.faults.add("http_500", path=TIME_PATH, times=4)  # every attempt of one cycle
    chunk = await anext(chunks)
    assert hours(chunk) == [0, 1]
    (skipped,) = events(logs, "feed_cycle_skipped")
    assert skipped["code"] == "server_error"


async def test_an_exchange_down_at_start_is_waited_for_without_raising(
    fake: FakeBinance, make_feed: MakeFeed, logs: Logs
) -> None:
    fake.faults.add("http_503", path=EXCHANGE_INFO_PATH, times=8)  # two rounds of 4 attempts
    feed = make_feed(log=structlog.get_logger())
    async with contextlib.aclosing(feed.chunks()) as stream:
        history = await anext(stream)
    assert len(history) == 29
    assert [e["code"] for e in events(logs, "feed_start_waiting")] == ["exchange_unavailable"] * 2


async def test_a_refused_request_is_not_retried_and_waits_for_the_next_boundary(
    fake: FakeBinance, chunks: Chunks, logs: Logs
) -> None:
    """A 400 (-1121 Invalid symbol, as for a delisted pair) would get the same answer at once."""
    fake.faults.add("http_400", path=KLINES_PATH, symbol="BTCUSDT", times=None)
    before = fake.requests(KLINES_PATH, "BTCUSDT")
    first = await anext(chunks)
    assert [b.symbol for b in first[0].bars] == ["ETHUSDT", "MATICUSDT"]
    assert fake.requests(KLINES_PATH, "BTCUSDT") == before + 1
    (refused,) = events(logs, "feed_request_refused")
    assert (refused["symbol"], refused["code"]) == ("BTCUSDT", "bad_symbol")
    assert refused["paused_until_ms"] == DAY0_MS + 2 * HOUR_MS
    assert events(logs, "feed_request_failed") == []
    await anext(chunks)
    assert fake.requests(KLINES_PATH, "BTCUSDT") == before + 2
