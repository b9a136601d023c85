"""ReplayFeed: merged bar times in order, chunking, pacing, and bad data that stops nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from structlog.typing import EventDict, FilteringBoundLogger

from engine_alpha.market.bars import BarTime
from engine_alpha.market.replay import ReplayFeed
from tests.market.conftest import HOUR_MS, T0, WriteCsv, hourly_rows, row

Captured = tuple[FilteringBoundLogger, list[EventDict]]


async def collect(feed: ReplayFeed) -> list[list[BarTime]]:
    return [chunk async for chunk in feed.chunks()]


def flat(chunks: list[list[BarTime]]) -> list[BarTime]:
    return [bar_time for chunk in chunks for bar_time in chunk]


def layout(chunks: list[list[BarTime]]) -> list[tuple[int, list[str]]]:
    """Each bar time as (hours after T0, its symbols in order)."""
    return [((bt.ts_ms - T0) // HOUR_MS, [b.symbol for b in bt.bars]) for bt in flat(chunks)]


def events(entries: list[EventDict], name: str) -> list[EventDict]:
    return [e for e in entries if e["event"] == name]


async def test_bar_times_ascend_and_hold_their_bars_in_the_given_symbol_order(
    tmp_path: Path, write_csv: WriteCsv, captured: Captured
) -> None:
    write_csv("BTCUSDT", [row(T0), row(T0 + HOUR_MS), row(T0 + 2 * HOUR_MS)])
    write_csv("ETHUSDT", [row(T0 + HOUR_MS), row(T0 + 2 * HOUR_MS), row(T0 + 3 * HOUR_MS)])
    write_csv("ADAUSDT", [row(T0), row(T0 + 2 * HOUR_MS)])  # ADA has no bar at +1h: a gap
    log, _ = captured
    feed = ReplayFeed(tmp_path, ["ETHUSDT", "BTCUSDT", "ADAUSDT"], "1h", log=log)
    assert layout(await collect(feed)) == [
        (0, ["BTCUSDT", "ADAUSDT"]),
        (1, ["ETHUSDT", "BTCUSDT"]),
        (2, ["ETHUSDT", "BTCUSDT", "ADAUSDT"]),
        (3, ["ETHUSDT"]),
    ]
    assert (feed.bars_yielded, feed.bar_times_yielded) == (8, 4)
    assert feed.total_bar_times == 4


async def test_at_max_speed_a_chunk_holds_chunk_size_bar_times(
    tmp_path: Path, write_csv: WriteCsv, captured: Captured
) -> None:
    write_csv("BTCUSDT", hourly_rows(10))
    feed = ReplayFeed(tmp_path, ["BTCUSDT"], "1h", chunk_size=4, log=captured[0])
    chunks = await collect(feed)
    assert [len(chunk) for chunk in chunks] == [4, 4, 2]
    assert all(not bt.backfill for bt in flat(chunks))


async def test_a_speed_factor_yields_one_bar_time_a_chunk_and_sleeps_the_scaled_bar_time(
    tmp_path: Path, write_csv: WriteCsv, captured: Captured
) -> None:
    write_csv("BTCUSDT", [row(T0), row(T0 + HOUR_MS), row(T0 + 3 * HOUR_MS), row(T0 + 4 * HOUR_MS)])
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    feed = ReplayFeed(tmp_path, ["BTCUSDT"], "1h", speed=3600, sleep=sleep, log=captured[0])
    chunks = await collect(feed)
    assert [len(chunk) for chunk in chunks] == [1, 1, 1, 1]
    assert slept == [1.0, 2.0, 1.0]  # a 2-hour step (one missing bar) plays for 2 s


async def test_bar_times_up_to_start_after_ms_are_not_paced(
    tmp_path: Path, write_csv: WriteCsv, captured: Captured
) -> None:
    write_csv("BTCUSDT", hourly_rows(5))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    feed = ReplayFeed(
        tmp_path, ["BTCUSDT"], "1h", speed=7200, sleep=sleep, start_after_ms=T0 + 2 * HOUR_MS,
        log=captured[0],
    )  # fmt: skip
    assert len(flat(await collect(feed))) == 5
    assert slept == [0.5, 0.5]  # only before the bar times at +3h and +4h


async def test_a_refused_bar_is_logged_with_file_and_line_and_later_bars_still_come(
    tmp_path: Path, write_csv: WriteCsv, captured: Captured
) -> None:
    rows = hourly_rows(5)
    rows[2] = f"{T0 + 2 * HOUR_MS},100,99,98,100.5,1"  # high below the body, file line 4
    path = write_csv("BTCUSDT", rows)
    log, entries = captured
    feed = ReplayFeed(tmp_path, ["BTCUSDT"], "1h", log=log)
    assert [h for h, _ in layout(await collect(feed))] == [0, 1, 3, 4]
    [refused] = events(entries, "bar_refused")
    assert refused["log_level"] == "warning"
    assert (refused["symbol"], refused["file"], refused["line"], refused["code"]) == (
        "BTCUSDT", str(path), 4, "high_below_body",
    )  # fmt: skip
    assert refused["bar_ts_ms"] == T0 + 2 * HOUR_MS
    assert feed.refused == {"BTCUSDT": 1}
    [gap] = events(entries, "bar_gap")  # the refused bar leaves a hole
    assert (gap["missing_bars"], gap["after_ts"], gap["before_ts"]) == (
        1, T0 + HOUR_MS, T0 + 3 * HOUR_MS,
    )  # fmt: skip


async def test_a_malformed_row_is_logged_with_file_and_line_and_the_file_is_read_on(
    tmp_path: Path, write_csv: WriteCsv, captured: Captured
) -> None:
    rows = hourly_rows(3)
    rows.insert(1, "1688173200000,1,2")
    path = write_csv("BTCUSDT", rows)
    log, entries = captured
    feed = ReplayFeed(tmp_path, ["BTCUSDT"], "1h", log=log)
    assert len(flat(await collect(feed))) == 3
    [refused] = events(entries, "bar_refused")
    assert (refused["file"], refused["line"], refused["code"]) == (str(path), 3, "short_row")


async def test_duplicate_and_out_of_order_bars_are_refused_and_never_yielded(
    tmp_path: Path, write_csv: WriteCsv, captured: Captured
) -> None:
    write_csv(
        "BTCUSDT", [row(T0), row(T0 + HOUR_MS), row(T0 + HOUR_MS), row(T0), row(T0 + 2 * HOUR_MS)]
    )
    log, entries = captured
    feed = ReplayFeed(tmp_path, ["BTCUSDT"], "1h", log=log)
    assert [h for h, _ in layout(await collect(feed))] == [0, 1, 2]
    assert [(e["line"], e["code"]) for e in events(entries, "bar_refused")] == [
        (4, "duplicate"), (5, "out_of_order"),
    ]  # fmt: skip


async def test_a_bad_bar_far_ahead_in_one_file_does_not_break_the_global_time_order(
    tmp_path: Path, write_csv: WriteCsv, captured: Captured
) -> None:
    """Validation happens per file before the merge, so a refused bar cannot reorder the stream."""
    eth = hourly_rows(4)
    eth.insert(1, f"{T0 + 9 * HOUR_MS},100,1,1,1,1")  # refused: high below the body
    write_csv("ETHUSDT", eth)
    write_csv("BTCUSDT", hourly_rows(10))
    feed = ReplayFeed(tmp_path, ["ETHUSDT", "BTCUSDT"], "1h", log=captured[0])
    hours = [h for h, _ in layout(await collect(feed))]
    assert hours == list(range(10))
    assert feed.bars_yielded == 14


async def test_a_gap_is_logged_and_the_bar_after_it_still_yielded(
    tmp_path: Path, write_csv: WriteCsv, captured: Captured
) -> None:
    write_csv("BTCUSDT", [row(T0), row(T0 + 4 * HOUR_MS)])
    log, entries = captured
    feed = ReplayFeed(tmp_path, ["BTCUSDT"], "1h", log=log)
    assert [h for h, _ in layout(await collect(feed))] == [0, 4]
    [gap] = events(entries, "bar_gap")
    assert gap == {
        "event": "bar_gap", "log_level": "warning", "symbol": "BTCUSDT", "missing_bars": 3,
        "after_ts": T0, "before_ts": T0 + 4 * HOUR_MS,
    }  # fmt: skip
    assert feed.missing_bars == {"BTCUSDT": 3}


async def test_a_missing_file_is_an_error_and_the_other_assets_replay(
    tmp_path: Path, write_csv: WriteCsv, captured: Captured
) -> None:
    write_csv("BTCUSDT", hourly_rows(3))
    log, entries = captured
    feed = ReplayFeed(tmp_path, ["ETHUSDT", "BTCUSDT"], "1h", log=log)
    assert layout(await collect(feed)) == [(h, ["BTCUSDT"]) for h in range(3)]
    [missing] = events(entries, "replay_file_missing")
    assert missing["log_level"] == "warning"  # a partial set warns; none at all exits 2
    assert (missing["symbol"], missing["file"]) == ("ETHUSDT", str(tmp_path / "ETHUSDT-1h.csv"))
    assert feed.missing_files == ["ETHUSDT"]


async def test_an_unreadable_file_is_an_error_and_the_other_assets_replay(
    tmp_path: Path, write_csv: WriteCsv, captured: Captured
) -> None:
    write_csv("BTCUSDT", hourly_rows(2))
    (tmp_path / "ETHUSDT-1h.csv").mkdir()
    log, entries = captured
    feed = ReplayFeed(tmp_path, ["ETHUSDT", "BTCUSDT"], "1h", log=log)
    assert len(flat(await collect(feed))) == 2
    assert [e["symbol"] for e in events(entries, "replay_file_unreadable")] == ["ETHUSDT"]


async def test_a_file_with_a_bad_header_gives_no_bars_and_the_others_replay(
    tmp_path: Path, write_csv: WriteCsv, captured: Captured
) -> None:
    write_csv("ETHUSDT", hourly_rows(2), header="date,open,high,low,close,volume")
    write_csv("BTCUSDT", hourly_rows(2))
    log, entries = captured
    feed = ReplayFeed(tmp_path, ["ETHUSDT", "BTCUSDT"], "1h", log=log)
    assert layout(await collect(feed)) == [(0, ["BTCUSDT"]), (1, ["BTCUSDT"])]
    assert [e["code"] for e in events(entries, "bar_refused")] == ["bad_header"]
    assert feed.refused == {"ETHUSDT": 1, "BTCUSDT": 0}


async def test_no_data_at_all_yields_nothing_and_logs_the_start_and_the_end(
    tmp_path: Path, captured: Captured
) -> None:
    log, entries = captured
    feed = ReplayFeed(tmp_path, ["BTCUSDT"], "1h", log=log)
    assert await collect(feed) == []
    assert feed.total_bar_times is None
    assert [e["event"] for e in entries] == [
        "replay_started", "replay_file_missing", "replay_finished",
    ]  # fmt: skip


async def test_stopping_early_closes_the_files(
    tmp_path: Path, write_csv: WriteCsv, captured: Captured
) -> None:
    write_csv("BTCUSDT", hourly_rows(10))
    feed = ReplayFeed(tmp_path, ["BTCUSDT"], "1h", chunk_size=2, log=captured[0])
    chunks = feed.chunks()
    first = await anext(chunks)
    await chunks.aclose()  # a ResourceWarning (an error here) would show an unclosed file
    assert len(first) == 2


async def test_a_second_pass_replays_from_the_start_with_fresh_counters(
    tmp_path: Path, write_csv: WriteCsv, captured: Captured
) -> None:
    write_csv("BTCUSDT", hourly_rows(3))
    feed = ReplayFeed(tmp_path, ["BTCUSDT", "ETHUSDT"], "1h", log=captured[0])
    first, second = await collect(feed), await collect(feed)
    assert layout(first) == layout(second)
    assert (feed.bars_yielded, feed.bar_times_yielded, feed.missing_files) == (3, 3, ["ETHUSDT"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"speed": 0}, "speed"),
        ({"speed": -1.0}, "speed"),
        ({"chunk_size": 0}, "chunk_size"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReplayFeed(tmp_path, ["BTCUSDT"], "1h", **kwargs)


def test_duplicate_symbols_and_a_bad_timeframe_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unique"):
        ReplayFeed(tmp_path, ["BTCUSDT", "BTCUSDT"], "1h")
    with pytest.raises(ValueError, match="timeframe"):
        ReplayFeed(tmp_path, ["BTCUSDT"], "1x")
