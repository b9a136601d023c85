"""The live feed through the real ccxt client on a real socket: markets, backfill, closed bars."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog
from structlog.testing import capture_logs

from engine_alpha.market.bars import BarTime
from engine_alpha.market.rules import MarketRules
from engine_alpha.testing.fake_binance import KLINES_PATH, TIME_PATH, FakeBinance, FakeClock
from tests.live.conftest import (
    DAY0_MS,
    HOUR_MS,
    START_MS,
    SYMBOLS,
    MakeFeed,
    SimSleep,
    csv_row,
    events,
    hours,
)


async def test_load_markets_gives_the_rules_of_the_12_recorded_markets(
    make_feed: MakeFeed, fake: FakeBinance
) -> None:
    rules = await make_feed().load_markets()
    assert len(rules) == 12
    btc = rules["BTCUSDT"]
    assert isinstance(btc, MarketRules)
    assert (btc.tick_size, btc.min_notional) == (0.01, 5.0)
    assert fake.request_counts() == {"/api/v3/exchangeInfo": 1}  # spot only, nothing else


async def test_backfill_yields_closed_history_in_run_order_marked_backfill(
    make_feed: MakeFeed,
) -> None:
    feed = make_feed(warmup_bars=5, max_catchup_bars=3)
    async with contextlib.aclosing(feed.chunks()) as chunks:
        history = await anext(chunks)
    # warm-up 5 + margin 24 + catch-up 3 bars, ending with the last CLOSED bar (23:00, not 00:00)
    assert hours(history) == list(range(-32, 0))
    assert all(bt.backfill for bt in history)
    assert all([bar.symbol for bar in bt.bars] == list(SYMBOLS) for bt in history)
    last = history[-1].bars[1]
    assert (last.open, last.high, last.low, last.close, last.volume) == csv_row(
        "BTCUSDT", DAY0_MS - HOUR_MS
    )


async def test_backfill_longer_than_one_page_is_fetched_page_by_page(
    make_feed: MakeFeed, fake: FakeBinance
) -> None:
    feed = make_feed(["BTCUSDT"], warmup_bars=1500)
    async with contextlib.aclosing(feed.chunks()) as chunks:
        history = await anext(chunks)
    assert hours(history) == list(range(-1524, 0))
    assert fake.requests(KLINES_PATH, "BTCUSDT") == 2


async def test_each_cycle_yields_the_bar_that_just_closed_and_never_the_forming_one(
    make_feed: MakeFeed, fake: FakeBinance, sleeps: SimSleep
) -> None:
    feed = make_feed()
    async with contextlib.aclosing(feed.chunks()) as chunks:
        await anext(chunks)
        first, second = await anext(chunks), await anext(chunks)
    assert (hours(first), hours(second)) == ([0], [1])
    assert not first[0].backfill
    assert [bar.symbol for bar in first[0].bars] == list(SYMBOLS)
    eth = first[0].bars[0]
    assert (eth.open, eth.high, eth.low, eth.close, eth.volume) == csv_row("ETHUSDT", DAY0_MS)
    # the feed slept to just after each boundary (settle 2 s), and asked the time once per cycle
    assert sleeps.calls == [1802.0, 3600.0]
    assert fake.requests(TIME_PATH) == 3


async def test_a_bar_is_closed_when_the_exchange_clock_reaches_its_close_whatever_the_host_says(
    make_feed: MakeFeed, fake: FakeBinance
) -> None:
    """The host clock is years past these bars: only the exchange's time decides."""
    fake.clock.set(DAY0_MS + HOUR_MS - 1)  # 00:59:59.999: the 00:00 bar still forms
    async with contextlib.aclosing(make_feed(["BTCUSDT"]).chunks()) as chunks:
        assert hours(await anext(chunks))[-1] == -1
    fake.clock.set(DAY0_MS + HOUR_MS)  # 01:00:00.000: it has closed
    async with contextlib.aclosing(make_feed(["BTCUSDT"]).chunks()) as chunks:
        assert hours(await anext(chunks))[-1] == 0


async def test_after_a_pause_in_polling_the_next_cycle_yields_every_missed_bar_in_order(
    make_feed: MakeFeed, fake: FakeBinance
) -> None:
    async with contextlib.aclosing(make_feed().chunks()) as chunks:
        await anext(chunks)
        fake.clock.advance(5 * HOUR_MS)  # the host slept: 05:30 when the feed looks again
        missed = await anext(chunks)
    assert hours(missed) == [0, 1, 2, 3, 4, 5]
    assert not any(bt.backfill for bt in missed)
    assert all(len(bt.bars) == 3 for bt in missed)


async def test_a_symbol_unknown_to_the_exchange_is_logged_and_the_others_run(
    make_feed: MakeFeed,
) -> None:
    with capture_logs() as logs:
        feed = make_feed(["BTCUSDT", "NOPEUSDT"], log=structlog.get_logger())
        async with contextlib.aclosing(feed.chunks()) as chunks:
            history = await anext(chunks)
            await anext(chunks)
            await anext(chunks)
    assert [e["symbol"] for e in events(logs, "feed_unknown_symbol")] == ["NOPEUSDT"]
    assert {bar.symbol for bt in history for bar in bt.bars} == {"BTCUSDT"}
    assert feed.degraded_symbols() == {"NOPEUSDT"}


async def test_the_feed_keeps_up_with_a_fast_exchange_clock_in_real_time(
    make_feed: MakeFeed, fake: FakeBinance
) -> None:
    """Real sleeps and the host's monotonic clock; the exchange plays one hour every 0.1 s."""
    feed = make_feed(
        ["ETHUSDT", "BTCUSDT"],
        poll_interval_s=0.02,
        clock_sleep=asyncio.sleep,
        monotonic=time.monotonic,
    )
    fake.clock = FakeClock.fast(START_MS, 36_000.0)
    live: list[BarTime] = []
    async with asyncio.timeout(20), contextlib.aclosing(feed.chunks()) as chunks:
        history = await anext(chunks)
        while len(live) < 6:
            live += await anext(chunks)
    first = hours(history)[-1] + 1  # how far the clock ran while the feed started
    assert hours(live) == list(range(first, first + len(live)))
    assert all(not bt.backfill and len(bt.bars) == 2 for bt in live)
    for bar in (bar for bt in live for bar in bt.bars):  # closed candles, never a partial one
        assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == csv_row(
            bar.symbol, bar.ts_ms
        )
