"""The bundled sample under data/: real bars that replay with zero refusals, and its rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.typing import EventDict, FilteringBoundLogger

from engine_alpha.market.bars import Bar
from engine_alpha.market.csv_bars import CSV_HEADER, RowRefusal, read_bars
from engine_alpha.market.replay import ReplayFeed
from engine_alpha.market.rules import load_market_rules
from engine_alpha.market.validation import BarValidator
from tests.market.conftest import HOUR_MS, WriteCsv

DATA = Path(__file__).resolve().parents[2] / "data"
SHARED_FULL_SET = Path("/work/shared/data/ohlcv")
RUN_ORDER = [
    "ETHUSDT", "BTCUSDT", "MATICUSDT", "AVAXUSDT", "DOGEUSDT", "XRPUSDT",
    "SOLUSDT", "BNBUSDT", "DOTUSDT", "ADAUSDT", "LINKUSDT", "ATOMUSDT",
]  # fmt: skip
SAMPLE_FIRST_MS = 1_688_169_600_000  # 2023-07-01 00:00 UTC
SAMPLE_LAST_MS = 1_703_959_200_000  # 2023-12-30 18:00 UTC
SAMPLE_ROWS = 4387
HALT_FLAT_MS = 1_679_659_200_000  # 2023-03-24 12:00 UTC: the zero-volume flat candle


def test_the_sample_has_one_file_per_asset_with_the_exact_header() -> None:
    assert sorted(p.name for p in (DATA / "ohlcv").glob("*.csv")) == sorted(
        f"{s}-1h.csv" for s in RUN_ORDER
    )
    for symbol in RUN_ORDER:
        with (DATA / "ohlcv" / f"{symbol}-1h.csv").open(encoding="utf-8") as file:
            assert file.readline() == CSV_HEADER + "\n"


def test_the_sample_stays_small() -> None:
    size = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert size < 4_000_000


async def test_the_sample_replays_with_zero_refusals_and_no_gaps(
    captured: tuple[FilteringBoundLogger, list[EventDict]],
) -> None:
    log, entries = captured
    feed = ReplayFeed(DATA / "ohlcv", RUN_ORDER, "1h", log=log)
    bar_times = [bt async for chunk in feed.chunks() for bt in chunk]
    assert [e["event"] for e in entries] == ["replay_started", "replay_finished"]
    assert (feed.bar_times_yielded, feed.bars_yielded) == (SAMPLE_ROWS, 12 * SAMPLE_ROWS)
    assert feed.total_bar_times == SAMPLE_ROWS
    assert (bar_times[0].ts_ms, bar_times[-1].ts_ms) == (SAMPLE_FIRST_MS, SAMPLE_LAST_MS)
    assert all([b.symbol for b in bt.bars] == RUN_ORDER for bt in bar_times)


def test_every_sample_bar_passes_validation_and_the_halt_candle_is_outside_the_window() -> None:
    """So the zero-volume case is covered by the full-set rows below, not by the sample."""
    for symbol in RUN_ORDER:
        refusals: list[RowRefusal] = []
        validator = BarValidator(symbol, HOUR_MS)
        bars = list(read_bars(DATA / "ohlcv" / f"{symbol}-1h.csv", on_refusal=refusals.append))
        assert refusals == []
        assert {validator.check(bar) for bar in bars} == {None}
        assert len(bars) == SAMPLE_ROWS
        assert bars[0].ts_ms > HALT_FLAT_MS


def test_the_sample_exchange_info_has_rules_for_every_asset() -> None:
    assert set(load_market_rules(DATA / "binance" / "exchangeInfo.json")) == set(RUN_ORDER)


async def test_the_real_zero_volume_flat_candle_of_the_2023_03_24_halt_is_accepted(
    tmp_path: Path, write_csv: WriteCsv, captured: tuple[FilteringBoundLogger, list[EventDict]]
) -> None:
    """The full set's BTCUSDT rows around the halt, verbatim: a flat 0-volume bar, then a gap."""
    write_csv(
        "BTCUSDT",
        [
            "1679655600000,28039.71,28091.03,27963.84,28080,1267.41714",
            "1679659200000,28080,28080,28080,28080,0",
            "1679666400000,28079.99,28253.01,27835,27989.06,8983.24018",
        ],
    )
    log, entries = captured
    feed = ReplayFeed(tmp_path, ["BTCUSDT"], "1h", log=log)
    bars = [b for chunk in [c async for c in feed.chunks()] for bt in chunk for b in bt.bars]
    assert Bar("BTCUSDT", HALT_FLAT_MS, 28080, 28080, 28080, 28080, 0) in bars
    assert feed.refused == {"BTCUSDT": 0}
    assert [(e["event"], e.get("missing_bars")) for e in entries if e["event"] == "bar_gap"] == [
        ("bar_gap", 1)
    ]


@pytest.mark.skipif(not SHARED_FULL_SET.is_dir(), reason="the full data set is not on this machine")
def test_the_full_set_halt_candle_is_accepted_in_place() -> None:
    refusals: list[RowRefusal] = []
    validator = BarValidator("BTCUSDT", HOUR_MS)
    codes = {
        bar.ts_ms: validator.check(bar)
        for bar in read_bars(SHARED_FULL_SET / "BTCUSDT-1h.csv", on_refusal=refusals.append)
    }
    assert codes[HALT_FLAT_MS] is None
    assert set(codes.values()) == {None}
    assert refusals == []
