"""The CSV bar reader: lazy, exact, and a malformed row is a refusal naming file and line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine_alpha.market.bars import Bar
from engine_alpha.market.csv_bars import RowRefusal, bars_path, iter_csv_rows, read_bars
from tests.market.conftest import HEADER, HOUR_MS, T0, WriteCsv, hourly_rows, row


def read_all(path: Path) -> tuple[list[Bar], list[RowRefusal]]:
    refusals: list[RowRefusal] = []
    return list(read_bars(path, on_refusal=refusals.append)), refusals


def test_rows_become_bars_with_the_exact_values_and_the_symbol_from_the_file_name(
    write_csv: WriteCsv,
) -> None:
    path = write_csv("BTCUSDT", ["1688169600000,30471.99,30534.74,30420,30469.83,1244.96393"])
    bars, refusals = read_all(path)
    assert bars == [
        Bar("BTCUSDT", 1688169600000, 30471.99, 30534.74, 30420.0, 30469.83, 1244.96393)
    ]
    assert refusals == []


def test_bars_path_follows_the_symbol_timeframe_naming(tmp_path: Path) -> None:
    assert bars_path(tmp_path, "ETHUSDT", "1h") == tmp_path / "ETHUSDT-1h.csv"


@pytest.mark.parametrize(
    ("bad_row", "code"),
    [
        (f"{T0 + HOUR_MS},1,2,0.5,1.5", "short_row"),
        (f"{T0 + HOUR_MS}", "short_row"),
        (f"{T0 + HOUR_MS},1,2,0.5,1.5,10,BTCUSDT", "extra_columns"),
        (f"{T0 + HOUR_MS},1,2,0.5,1.5,10,", "extra_columns"),
        (f"{T0 + HOUR_MS},one,2,0.5,1.5,10", "non_numeric"),
        (f"{T0 + HOUR_MS},1,2,0.5,1.5,", "non_numeric"),
        ("2023-07-01 01:00:00,1,2,0.5,1.5,10", "non_numeric"),
        (f"{T0 + HOUR_MS}.5,1,2,0.5,1.5,10", "non_numeric"),
    ],
)
def test_a_malformed_row_is_refused_with_file_and_line_and_the_rest_is_read(
    write_csv: WriteCsv, bad_row: str, code: str
) -> None:
    rows = hourly_rows(4)
    rows[1] = bad_row  # file line 3: header is line 1
    path = write_csv("ETHUSDT", rows)
    bars, refusals = read_all(path)
    assert [b.ts_ms for b in bars] == [T0, T0 + 2 * HOUR_MS, T0 + 3 * HOUR_MS]
    assert [(r.symbol, r.file, r.line, r.code) for r in refusals] == [
        ("ETHUSDT", str(path), 3, code)
    ]
    assert refusals[0].detail == bad_row


def test_iter_csv_rows_pairs_every_bar_with_its_line_number(write_csv: WriteCsv) -> None:
    path = write_csv("ETHUSDT", [row(T0), "", "junk", row(T0 + HOUR_MS)])
    refusals: list[RowRefusal] = []
    lines = [line for line, _ in iter_csv_rows(path, symbol="ETHUSDT", on_refusal=refusals.append)]
    assert lines == [2, 5]
    assert [(r.line, r.code) for r in refusals] == [(4, "short_row")]


def test_a_bad_header_refuses_the_whole_file(write_csv: WriteCsv) -> None:
    path = write_csv("ETHUSDT", hourly_rows(3), header="date,open,high,low,close,volume,ticker")
    bars, refusals = read_all(path)
    assert bars == []
    assert [(r.line, r.code, r.detail) for r in refusals] == [
        (1, "bad_header", "date,open,high,low,close,volume,ticker")
    ]


def test_a_file_without_a_header_is_refused_as_a_bad_header(write_csv: WriteCsv) -> None:
    bars, refusals = read_all(write_csv("ETHUSDT", hourly_rows(3), header=None))
    assert bars == []
    assert [r.code for r in refusals] == ["bad_header"]


def test_an_empty_file_is_a_bad_header(tmp_path: Path) -> None:
    path = tmp_path / "ETHUSDT-1h.csv"
    path.write_bytes(b"")
    bars, refusals = read_all(path)
    assert bars == []
    assert [(r.line, r.code, r.detail) for r in refusals] == [(1, "bad_header", "empty file")]


def test_a_header_only_file_has_no_bars_and_no_refusal(write_csv: WriteCsv) -> None:
    assert read_all(write_csv("ETHUSDT", [])) == ([], [])


def test_crlf_line_endings_a_bom_and_blank_lines_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "ETHUSDT-1h.csv"
    text = "\ufeff" + HEADER + "\r\n" + row(T0) + "\r\n\r\n" + row(T0 + HOUR_MS) + "\r\n"
    path.write_bytes(text.encode("utf-8"))
    bars, refusals = read_all(path)
    assert [b.ts_ms for b in bars] == [T0, T0 + HOUR_MS]
    assert refusals == []


def test_undecodable_bytes_make_a_non_numeric_row_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "ETHUSDT-1h.csv"
    path.write_bytes(f"{HEADER}\n{row(T0)}\n{T0 + HOUR_MS},1\xff,2,0.5,1.5,1\n".encode("latin-1"))
    bars, refusals = read_all(path)
    assert [b.ts_ms for b in bars] == [T0]
    assert [(r.line, r.code) for r in refusals] == [(3, "non_numeric")]


def test_the_file_is_read_lazily_row_by_row(write_csv: WriteCsv) -> None:
    path = write_csv("ETHUSDT", [row(T0), row(T0 + HOUR_MS), "junk", row(T0 + 3 * HOUR_MS)])
    refusals: list[RowRefusal] = []
    bars = read_bars(path, on_refusal=refusals.append)
    assert isinstance(bars, Iterator)
    assert next(bars).ts_ms == T0
    assert next(bars).ts_ms == T0 + HOUR_MS
    assert refusals == []  # line 4 is not read yet
    assert next(bars).ts_ms == T0 + 3 * HOUR_MS
    assert [r.line for r in refusals] == [4]


def test_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_all(tmp_path / "NOPEUSDT-1h.csv")


def test_nan_and_inf_parse_as_floats_for_the_validator_to_refuse(write_csv: WriteCsv) -> None:
    bars, refusals = read_all(write_csv("ETHUSDT", [f"{T0},nan,inf,1,1,1"]))
    assert refusals == []
    assert len(bars) == 1


def test_an_over_long_line_is_refused_by_number_and_the_rows_after_it_are_read(
    write_csv: WriteCsv,
) -> None:
    rows = hourly_rows(3)
    path = write_csv("BTCUSDT", [rows[0], "9" * 10_000, rows[1], rows[2]])
    bars, refusals = read_all(path)
    assert [b.ts_ms for b in bars] == [T0, T0 + HOUR_MS, T0 + 2 * HOUR_MS]
    assert [(r.line, r.code) for r in refusals] == [(3, "line_too_long")]
    assert refusals[0].detail.startswith("10001 bytes, over 4096")
