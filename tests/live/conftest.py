"""Live-feed fixtures: the fake exchange on 127.0.0.1 with a manual clock, and feeds built on it.

Time is simulated: the feed's sleeps (`SimSleep`) advance the fake exchange's clock instead of
waiting, so hours of polling run in milliseconds while every request still crosses a real socket
to the real ccxt client.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import structlog
from tenacity import wait_none

from engine_alpha.config.models import FeedSettings
from engine_alpha.market.bars import BarTime
from engine_alpha.market.ccxt_feed import CcxtFeed
from engine_alpha.testing.fake_binance import FakeBinance, FakeClock

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "data" / "ohlcv"
EXCHANGE_INFO = REPO / "data" / "binance" / "exchangeInfo.json"
HOUR_MS = 3_600_000
DAY0_MS = 1_701_388_800_000  # 2023-12-01 00:00 UTC, inside the bundled sample
START_MS = DAY0_MS + HOUR_MS // 2  # the exchange's clock at the start of most tests: 00:30
SYMBOLS = ("ETHUSDT", "BTCUSDT", "MATICUSDT")  # run order (activation priority)

MakeFeed = Callable[..., CcxtFeed]


def csv_row(symbol: str, ts_ms: int) -> tuple[float, float, float, float, float]:
    """The bundled CSV's OHLCV of `symbol` at `ts_ms`, as floats."""
    with (DATA_DIR / f"{symbol}-1h.csv").open() as lines:
        for line in lines:
            if line.startswith(f"{ts_ms},"):
                o, h, lo, c, v = (float(x) for x in line.strip().split(",")[1:])
                return o, h, lo, c, v
    raise KeyError(f"{symbol} has no bar at {ts_ms}")


def times(chunk: Sequence[BarTime]) -> list[int]:
    return [bt.ts_ms for bt in chunk]


def hours(chunk: Sequence[BarTime]) -> list[int]:
    """Bar times as hours after DAY0 (negative before it): easier to read in asserts."""
    return [(bt.ts_ms - DAY0_MS) // HOUR_MS for bt in chunk]


def events(logs: list[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


class SimSleep:
    """A sleep that records what it was asked and moves the fake exchange's clock instead."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(round(seconds * 1000))
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock.manual(START_MS)


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeBinance]:
    with FakeBinance(DATA_DIR, exchange_info=EXCHANGE_INFO, clock=clock) as server:
        yield server


@pytest.fixture
def sleeps(clock: FakeClock) -> SimSleep:
    return SimSleep(clock)


@pytest.fixture
async def make_feed(fake: FakeBinance, sleeps: SimSleep) -> AsyncIterator[MakeFeed]:
    """Build feeds on the fake exchange: simulated sleeps and monotonic time, no retry waits."""
    feeds: list[CcxtFeed] = []

    def make(
        symbols: Sequence[str] = SYMBOLS,
        *,
        warmup_bars: int = 5,
        poll_interval_s: float = 3600.0,
        max_catchup_bars: int = 0,
        **kwargs: Any,
    ) -> CcxtFeed:
        settings = FeedSettings(
            source="ccxt",
            api_url=fake.base_url,
            poll_interval_s=poll_interval_s,
            max_catchup_bars=max_catchup_bars,
        )
        kwargs.setdefault("log", structlog.get_logger())
        kwargs.setdefault("clock_sleep", sleeps)
        kwargs.setdefault("monotonic", lambda: fake.clock.now_ms() / 1000)
        kwargs.setdefault("retry_wait", wait_none())
        kwargs.setdefault("jitter_s", 0.0)
        kwargs.setdefault("request_timeout_s", 2.0)
        feed = CcxtFeed(settings, symbols, warmup_bars=warmup_bars, **kwargs)
        feeds.append(feed)
        return feed

    yield make
    for feed in feeds:
        await feed.close()
