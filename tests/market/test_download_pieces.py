"""The downloader's pure pieces and the bar-file scan: numbers written back exactly, the closed
end, batch sizes, symbols and timeframes checked against the markets, coverage as replay reads."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.market.bars import Bar
from engine_alpha.market.coverage import Gap, Refusal, bar_files, scan_file, split_name
from engine_alpha.market.download import (
    MarketCheckError,
    bar_line,
    check_timeframe,
    closed_end_ms,
    decimal_text,
    flush_due,
    resolve_symbols,
)

HOUR_MS = 3_600_000
T0 = 1_701_388_800_000  # 2023-12-01 00:00 UTC
HEADER = "timestamp_ms,open,high,low,close,volume\n"


@given(st.floats(min_value=0.0, allow_nan=False, allow_infinity=False))
def test_a_price_is_written_as_a_plain_decimal_that_reads_back_as_the_same_float(x: float) -> None:
    text = decimal_text(x)
    assert float(text) == x
    assert "e" not in text.lower() and not text.startswith("+")
    assert "." not in text or not text.endswith(("0", "."))
    assert Decimal(text) == Decimal(repr(x))  # the shortest repr, only spelled out


def test_prices_look_like_binances_strings_without_trailing_zeros() -> None:
    bar = Bar("BTCUSDT", 1688169600000, 30471.99, 30534.74, 30420.0, 30469.83, 1e-05)
    assert bar_line(bar) == "1688169600000,30471.99,30534.74,30420,30469.83,0.00001\n"


@pytest.mark.parametrize(
    ("now", "until", "end"),
    [
        (T0 + HOUR_MS // 2, None, T0),  # the 00:00 bar forms until 01:00
        (T0 + HOUR_MS, None, T0 + HOUR_MS),  # at 01:00 sharp it has closed
        (T0 + HOUR_MS - 1, None, T0),
        (T0 + 10 * HOUR_MS, T0 + 2 * HOUR_MS, T0 + 2 * HOUR_MS),  # until is exclusive
    ],
)
def test_the_end_leaves_out_the_forming_bar(now: int, until: int | None, end: int) -> None:
    assert closed_end_ms(now, HOUR_MS, until) == end


@given(st.integers(0, 10**7), st.integers(0, 10**8), st.integers(1, 5000))
def test_a_batch_is_a_page_at_least_and_an_eighth_of_the_file(
    pending: int, file_bars: int, page: int
) -> None:
    assert flush_due(pending, file_bars, page) == (pending >= page and 8 * pending >= file_bars - 7)


def test_a_history_is_copied_a_bounded_number_of_times() -> None:
    """Copying the file once per batch: bytes copied stay within ~9x the final file."""
    page, file_bars, pending, copied = 1000, 0, 0, 0
    for _ in range(2_600):  # five years of 1m bars, page by page
        pending += page
        if flush_due(pending, file_bars, page):
            copied += file_bars + pending
            file_bars, pending = file_bars + pending, 0
    assert copied <= 10 * (file_bars + pending)


MARKETS = {
    "BTC/USDT": {"id": "BTCUSDT", "spot": True},
    "ETH/USDT": {"id": "ETHUSDT", "spot": True},
    "BTC/USDT:USDT": {"id": "BTCUSDT_PERP", "spot": False},
}


def test_symbols_are_known_by_id_or_ccxt_name_and_unknown_ones_are_all_named() -> None:
    assert resolve_symbols(MARKETS, ["BTCUSDT", "ETH/USDT"]) == {
        "BTCUSDT": "BTC/USDT",
        "ETHUSDT": "ETH/USDT",
    }
    with pytest.raises(MarketCheckError, match="no spot market BTCUSDT_PERP, DOGE") as caught:
        resolve_symbols(MARKETS, ["BTCUSDT", "BTCUSDT_PERP", "DOGE"])
    assert "BTC/USDT" in str(caught.value)


def test_a_timeframe_must_be_the_exchanges_and_one_chloe_runs() -> None:
    assert check_timeframe("15m", ["1m", "15m", "1h"]) == 15 * 60_000
    with pytest.raises(MarketCheckError, match="no timeframe '2h'; it has 1m, 15m"):
        check_timeframe("2h", ["1m", "15m"])
    with pytest.raises(MarketCheckError, match=r"1m \.\. 1d"):
        check_timeframe("1w", ["1d", "1w"])


def write(path: Path, rows: list[str], *, newline: bool = True) -> Path:
    path.write_text(HEADER + "\n".join(rows) + ("\n" if newline else ""))
    return path


def test_a_scan_reads_as_replay_does_gaps_between_accepted_bars_and_every_refusal(
    tmp_path: Path,
) -> None:
    h = HOUR_MS
    path = write(
        tmp_path / "AAAUSDT-1h.csv",
        [
            f"{T0},10,11,9,10,1",
            f"{T0},10,11,9,10,1",  # duplicate
            f"{T0 + 3 * h},10,11,9,10.5,1",  # 01:00, 02:00 missing
            f"{T0 + 4 * h + 1},10,11,9,10,1",  # misaligned
            f"{T0 + 5 * h},10,11,9,200,1",  # high below the close
            f"{T0 + 6 * h},10,11,9,10,x",  # not a number
            f"{T0 + 7 * h},10,11,9,10.25,1",
        ],
        newline=False,
    )
    scan = scan_file(path, "AAAUSDT", HOUR_MS)
    assert (scan.bars, scan.first_ts_ms, scan.last_ts_ms, scan.last_close) == (
        3,
        T0,
        T0 + 7 * h,
        10.25,
    )
    assert scan.gaps == [Gap(T0, T0 + 3 * h, 2), Gap(T0 + 3 * h, T0 + 7 * h, 3)]
    assert scan.missing_bars == 5
    assert [(r.line, r.code) for r in scan.refused] == [
        (3, "duplicate"),
        (5, "misaligned"),
        (6, "high_below_body"),
        (7, "non_numeric"),
    ]
    assert scan.refused[0] == Refusal("duplicate", ts_ms=T0, line=3)
    assert not scan.ends_with_newline
    assert scan.gaps[0].describe(HOUR_MS) == "2023-12-01 01:00 .. 2023-12-01 02:00 UTC (2 bars)"


def test_a_file_with_another_header_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "AAAUSDT-1h.csv"
    path.write_text("time,o,h,l,c,v\n1,2,3,4,5,6\n")
    scan = scan_file(path, "AAAUSDT", HOUR_MS)
    assert (scan.header_ok, scan.bars, [r.code for r in scan.refused]) == (
        False,
        0,
        ["bad_header"],
    )


def test_bar_files_are_found_by_their_names(tmp_path: Path) -> None:
    for name in ("BTCUSDT-1h.csv", "ETHUSDT-15m.csv", "notes.csv", "X-1w.csv", "A-1h.txt"):
        (tmp_path / name).write_text(HEADER)
    (tmp_path / "DIR-1h.csv").mkdir()
    assert [(p.name, s, t) for p, s, t in bar_files(tmp_path)] == [
        ("BTCUSDT-1h.csv", "BTCUSDT", "1h"),
        ("ETHUSDT-15m.csv", "ETHUSDT", "15m"),
    ]
    assert split_name(Path("A-B-4h.csv")) == ("A-B", "4h")


def test_gap_times_are_the_missing_bars_open_times() -> None:
    gap = Gap(T0, T0 + 4 * HOUR_MS, 3)
    assert (gap.first_missing_ms(HOUR_MS), gap.last_missing_ms(HOUR_MS)) == (
        T0 + HOUR_MS,
        T0 + 3 * HOUR_MS,
    )
    assert math.isclose(gap.missing, (gap.before_ts_ms - gap.after_ts_ms) / HOUR_MS - 1)
