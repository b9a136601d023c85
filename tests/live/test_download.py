"""The history downloader against the fake Binance with the real ccxt client: pages, resume,
faults, refused bars and gaps, the forming bar. Expected files are cut from the bundled CSVs."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs
from tenacity import wait_none

from engine_alpha.market.coverage import Gap, Refusal
from engine_alpha.market.download import (
    Batch,
    Downloader,
    DownloadRequest,
    MarketCheckError,
    SymbolReport,
)
from engine_alpha.market.exchange_client import ExchangeClient
from engine_alpha.testing.fake_binance import KLINES_PATH, FakeBinance
from tests.live.conftest import DATA_DIR, DAY0_MS, HOUR_MS, SimSleep, events

Logs = list[MutableMapping[str, Any]]
JULY_MS = 1_688_169_600_000  # 2023-07-01 00:00 UTC: the bundled files' first bar
JAN_MS = 1_672_531_200_000  # 2023-01-01 00:00 UTC: before any bar the exchange has
SEPT_MS = 1_693_526_400_000  # 2023-09-01 00:00 UTC
HEADER = b"timestamp_ms,open,high,low,close,volume\n"


def bundled_lines(symbol: str) -> list[bytes]:
    """The bundled CSV's rows (header excluded), exactly as the fake serves them."""
    return (DATA_DIR / f"{symbol}-1h.csv").read_bytes().splitlines(keepends=True)[1:]


def expected(
    symbol: str, end_ms: int, *, start_ms: int = 0, without: tuple[int, ...] = ()
) -> bytes:
    """The file a download of [start, end) must give: the exchange's rows, byte for byte."""
    rows = [
        line
        for line in bundled_lines(symbol)
        if start_ms <= int(line.split(b",")[0]) < end_ms and int(line.split(b",")[0]) not in without
    ]
    return HEADER + b"".join(rows)


@pytest.fixture
def logs() -> Iterator[Logs]:
    with capture_logs() as captured:
        yield captured


async def download(
    fake: FakeBinance,
    data: Path,
    symbols: tuple[str, ...] = ("BTCUSDT",),
    *,
    since_ms: int = JAN_MS,
    until_ms: int | None = None,
    sleeps: SimSleep | None = None,
    timeout_s: float = 5.0,
    batches: list[Batch] | None = None,
    timeframe: str = "1h",
) -> list[SymbolReport]:
    client = ExchangeClient(
        log=structlog.get_logger(),
        api_url=fake.base_url,
        retry_wait=wait_none(),
        request_timeout_s=timeout_s,
        **({"sleep": sleeps} if sleeps is not None else {}),
    )
    request = DownloadRequest(symbols, timeframe, since_ms, data, until_ms=until_ms)
    sink = batches if batches is not None else []
    try:
        return await Downloader(client, request, on_batch=sink.append).run()
    finally:
        await client.close()


def klines_starts(fake: FakeBinance) -> list[int]:
    return [int(r.params["startTime"]) for r in fake.request_log if r.path == KLINES_PATH]


async def test_a_history_of_several_pages_is_the_exchanges_closed_bars_byte_for_byte(
    fake: FakeBinance, tmp_path: Path
) -> None:
    """The clock is at 00:30 on DAY0: 3 672 closed bars since July, so four pages of 1 000."""
    batches: list[Batch] = []
    (report,) = await download(fake, tmp_path, batches=batches)
    path = tmp_path / "BTCUSDT-1h.csv"
    assert path.read_bytes() == expected("BTCUSDT", DAY0_MS)
    bars = (DAY0_MS - JULY_MS) // HOUR_MS
    assert (report.written, report.kept_bars, report.refused, report.gaps) == (bars, 0, [], [])
    assert (report.first_ts_ms, report.last_ts_ms, report.error) == (
        JULY_MS,
        DAY0_MS - HOUR_MS,
        None,
    )
    starts = klines_starts(fake)
    assert starts == [
        JAN_MS,
        JULY_MS + 1000 * HOUR_MS,
        JULY_MS + 2000 * HOUR_MS,
        JULY_MS + 3000 * HOUR_MS,
    ]
    assert [b.bars for b in batches] == [1000, 1000, 1000, 672]
    assert [b.file_bars for b in batches] == [1000, 2000, 3000, 3672]
    assert batches[-1].done == batches[-1].total


async def test_the_forming_bar_is_never_written_and_is_written_once_closed(
    fake: FakeBinance, tmp_path: Path
) -> None:
    """At 00:30 the fake serves DAY0's 00:00 bar with values "so far"; it must not be kept."""
    far_future = DAY0_MS + 1000 * HOUR_MS
    await download(fake, tmp_path, since_ms=DAY0_MS - 3 * HOUR_MS, until_ms=far_future)
    path = tmp_path / "BTCUSDT-1h.csv"
    assert path.read_bytes() == expected("BTCUSDT", DAY0_MS, start_ms=DAY0_MS - 3 * HOUR_MS)
    fake.clock.advance(HOUR_MS)  # 01:30: the 00:00 bar has closed, the 01:00 bar is forming
    (report,) = await download(fake, tmp_path, since_ms=DAY0_MS - 3 * HOUR_MS)
    assert path.read_bytes() == expected(
        "BTCUSDT", DAY0_MS + HOUR_MS, start_ms=DAY0_MS - 3 * HOUR_MS
    )
    assert (report.kept_bars, report.written) == (3, 1)


async def test_a_second_run_appends_only_what_is_missing(fake: FakeBinance, tmp_path: Path) -> None:
    await download(fake, tmp_path, since_ms=JULY_MS, until_ms=SEPT_MS)
    path = tmp_path / "BTCUSDT-1h.csv"
    first = path.read_bytes()
    assert first == expected("BTCUSDT", SEPT_MS)
    fake.reset_requests()
    (report,) = await download(fake, tmp_path, since_ms=JULY_MS)
    assert path.read_bytes().startswith(first)
    assert path.read_bytes() == expected("BTCUSDT", DAY0_MS)
    assert klines_starts(fake)[0] == SEPT_MS  # the bar after the file's last, nothing before
    kept, written = (SEPT_MS - JULY_MS) // HOUR_MS, (DAY0_MS - SEPT_MS) // HOUR_MS
    assert (report.kept_bars, report.written, report.notes) == (kept, written, [])
    fake.reset_requests()
    (again,) = await download(fake, tmp_path, since_ms=JULY_MS)
    assert (again.written, fake.requests(KLINES_PATH)) == (0, 0)  # nothing missing, nothing asked
    assert path.read_bytes() == expected("BTCUSDT", DAY0_MS)


async def test_a_file_is_never_prepended_to_and_the_report_says_so(
    fake: FakeBinance, tmp_path: Path
) -> None:
    await download(fake, tmp_path, since_ms=SEPT_MS)
    before = (tmp_path / "BTCUSDT-1h.csv").read_bytes()
    (report,) = await download(fake, tmp_path, since_ms=JULY_MS)
    assert (tmp_path / "BTCUSDT-1h.csv").read_bytes() == before
    assert report.written == 0
    (note,) = report.notes
    assert "bars before the file's first (2023-09-01 00:00 UTC)" in note
    (quiet,) = await download(fake, tmp_path, ("ETHUSDT",), since_ms=JAN_MS)
    fake.reset_requests()
    (quiet,) = await download(fake, tmp_path, ("ETHUSDT",), since_ms=JAN_MS)
    assert quiet.notes == []  # the exchange has nothing before July: nothing to say
    assert klines_starts(fake) == [JAN_MS]  # one bar asked, to know that


@pytest.mark.parametrize(
    ("kind", "times", "code"),
    [
        ("http_500", 2, "server_error"),
        ("http_503", 2, "exchange_unavailable"),
        ("malformed_json", 1, "empty_response"),
    ],
)
async def test_a_temporary_failure_is_retried_and_the_file_is_whole(
    fake: FakeBinance, tmp_path: Path, logs: Logs, kind: str, times: int, code: str
) -> None:
    fake.faults.add(kind, path=KLINES_PATH, times=times)  # type: ignore[arg-type]
    (report,) = await download(fake, tmp_path, since_ms=JULY_MS)
    assert report.error is None
    assert (tmp_path / "BTCUSDT-1h.csv").read_bytes() == expected("BTCUSDT", DAY0_MS)
    failed = events(logs, "feed_request_failed")
    assert [(e["symbol"], e["code"]) for e in failed] == [("BTCUSDT", code)] * times


async def test_429_waits_what_retry_after_says(
    fake: FakeBinance, tmp_path: Path, logs: Logs, sleeps: SimSleep
) -> None:
    fake.faults.add("http_429", path=KLINES_PATH, retry_after_s=7)
    (report,) = await download(fake, tmp_path, since_ms=JULY_MS, sleeps=sleeps)
    assert report.error is None
    assert 7.0 in sleeps.calls  # the injected retry wait is 0: this is the server's
    assert (tmp_path / "BTCUSDT-1h.csv").read_bytes() == expected("BTCUSDT", DAY0_MS)
    (failed,) = events(logs, "feed_request_failed")
    assert (failed["code"], failed["wait_s"]) == ("rate_limited", 7.0)


async def test_a_slow_answer_times_out_and_is_retried(
    fake: FakeBinance, tmp_path: Path, logs: Logs
) -> None:
    fake.faults.add("slow", path=KLINES_PATH, delay_s=1.0)
    (report,) = await download(fake, tmp_path, since_ms=JULY_MS, timeout_s=0.2)
    assert report.error is None
    assert (tmp_path / "BTCUSDT-1h.csv").read_bytes() == expected("BTCUSDT", DAY0_MS)
    assert [e["code"] for e in events(logs, "feed_request_failed")] == ["timeout"]


async def test_a_refused_request_stops_that_symbol_keeps_its_bars_and_the_next_goes_on(
    fake: FakeBinance, tmp_path: Path
) -> None:
    fake.faults.add("http_400", path=KLINES_PATH, symbol="BTCUSDT")
    btc, eth = await download(fake, tmp_path, ("BTCUSDT", "ETHUSDT"), since_ms=JULY_MS)
    assert btc.error is not None and btc.error.startswith("bad_symbol")
    assert fake.requests(KLINES_PATH, "BTCUSDT") == 1  # not repeated
    assert not (tmp_path / "BTCUSDT-1h.csv").exists()
    assert eth.error is None
    assert (tmp_path / "ETHUSDT-1h.csv").read_bytes() == expected("ETHUSDT", DAY0_MS)


async def test_a_refused_bar_and_a_gap_are_reported_with_their_utc_times_and_not_written(
    fake: FakeBinance, tmp_path: Path
) -> None:
    bad = DAY0_MS - 100 * HOUR_MS  # 2023-11-26 20:00 UTC
    lost = DAY0_MS - 2000 * HOUR_MS  # 2023-09-08 16:00 UTC
    fake.faults.add("bad_bar", symbol="BTCUSDT", ts_ms=bad)
    fake.faults.add("missing_bar", symbol="BTCUSDT", ts_ms=lost)
    (report,) = await download(fake, tmp_path, since_ms=JULY_MS)
    assert report.refused == [Refusal("high_below_body", ts_ms=bad)]
    # The exchange's hole, and the hole the refused bar leaves: a replay finds no bar at either.
    assert report.gaps == [
        Gap(lost - HOUR_MS, lost + HOUR_MS, 1),
        Gap(bad - HOUR_MS, bad + HOUR_MS, 1),
    ]
    assert report.gaps[0].describe(HOUR_MS) == "2023-09-08 16:00 UTC (1 bar)"
    assert report.refused[0].describe() == "2023-11-26 20:00 UTC high_below_body"
    got = (tmp_path / "BTCUSDT-1h.csv").read_bytes()
    assert got == expected("BTCUSDT", DAY0_MS, without=(bad, lost))


async def test_a_gap_across_runs_is_reported_with_its_range(
    fake: FakeBinance, tmp_path: Path
) -> None:
    """The file's last bar and the first new one are checked as neighbours, like any two."""
    await download(fake, tmp_path, since_ms=JULY_MS, until_ms=SEPT_MS)
    fake.faults.add("missing_bar", symbol="BTCUSDT", ts_ms=SEPT_MS)
    (report,) = await download(fake, tmp_path, since_ms=JULY_MS)
    assert report.gaps == [Gap(SEPT_MS - HOUR_MS, SEPT_MS + HOUR_MS, 1)]
    assert report.gaps[0].describe(HOUR_MS) == "2023-09-01 00:00 UTC (1 bar)"
    got = (tmp_path / "BTCUSDT-1h.csv").read_bytes()
    assert got == expected("BTCUSDT", DAY0_MS, without=(SEPT_MS,))


async def test_an_unknown_symbol_or_timeframe_is_refused_before_anything_is_asked(
    fake: FakeBinance, tmp_path: Path
) -> None:
    with pytest.raises(MarketCheckError, match="no spot market FOOUSDT, BARUSDT"):
        await download(fake, tmp_path, ("BTCUSDT", "FOOUSDT", "BARUSDT"))
    with pytest.raises(MarketCheckError, match="no timeframe '7h'"):
        await download(fake, tmp_path, timeframe="7h")
    assert fake.requests(KLINES_PATH) == 0
    assert list(tmp_path.iterdir()) == []


async def test_a_symbol_by_its_ccxt_name_lands_in_the_file_replay_reads(
    fake: FakeBinance, tmp_path: Path
) -> None:
    (report,) = await download(fake, tmp_path, ("ETH/USDT",), since_ms=DAY0_MS - 5 * HOUR_MS)
    assert report.symbol == "ETHUSDT"
    got = (tmp_path / "ETHUSDT-1h.csv").read_bytes()
    assert got == expected("ETHUSDT", DAY0_MS, start_ms=DAY0_MS - 5 * HOUR_MS)


async def test_a_market_with_no_bar_after_the_files_last_ends_with_a_note(
    fake: FakeBinance, tmp_path: Path, logs: Logs
) -> None:
    """The bundled data ends 2023-12-30 18:00; at midnight the fake has no bar after it at all."""
    last_ms = 1_703_959_200_000
    fake.clock.set(last_ms + 6 * HOUR_MS)
    (report,) = await download(fake, tmp_path, since_ms=DAY0_MS)
    assert report.error is None
    assert report.notes == ["the exchange sent no bar after 2023-12-30 18:00 (empty answers)"]
    assert (tmp_path / "BTCUSDT-1h.csv").read_bytes() == expected(
        "BTCUSDT", last_ms + HOUR_MS, start_ms=DAY0_MS
    )
    assert {e["code"] for e in events(logs, "feed_request_failed")} == {"empty_response"}


async def test_a_file_cut_by_hand_after_its_last_row_gets_its_newline_back(
    fake: FakeBinance, tmp_path: Path
) -> None:
    start = DAY0_MS - 10 * HOUR_MS
    whole = expected("BTCUSDT", DAY0_MS, start_ms=start)
    path = tmp_path / "BTCUSDT-1h.csv"
    path.write_bytes(expected("BTCUSDT", start + 3 * HOUR_MS, start_ms=start).rstrip(b"\n"))
    (report,) = await download(fake, tmp_path, since_ms=start)
    assert (report.kept_bars, report.written) == (3, 7)
    assert path.read_bytes() == whole


async def test_a_file_that_is_not_a_bar_file_is_left_alone(
    fake: FakeBinance, tmp_path: Path
) -> None:
    path = tmp_path / "BTCUSDT-1h.csv"
    path.write_bytes(b"time;price\n1;2\n")
    btc, eth = await download(fake, tmp_path, ("BTCUSDT", "ETHUSDT"), since_ms=DAY0_MS - HOUR_MS)
    assert btc.error is not None and "is not a bar file" in btc.error
    assert path.read_bytes() == b"time;price\n1;2\n"
    assert eth.error is None and eth.written == 1
