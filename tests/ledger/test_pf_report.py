"""pf_local.json: built from journal lines, equal to its recomputation, replaced atomically."""

from __future__ import annotations

import stat
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine_alpha.execution.book import Book
from engine_alpha.ledger.journal import Journal
from engine_alpha.ledger.metrics import summarize
from engine_alpha.ledger.pf_report import (
    build_report,
    recompute_report,
    report_differences,
    report_from_book,
    write_report_atomic,
)
from engine_alpha.ledger.records import FillLine
from tests.ledger.factory import DAY_MS, HOUR_MS, T0, JournalFactory, write_lines

SYMBOLS = ["ETHUSDT", "BTCUSDT", "ATOMUSDT"]
EQUITY = {"ETHUSDT": 5000.0, "BTCUSDT": 5000.0}
STATS_KEYS = [
    "trades",
    "wins",
    "losses",
    "gross_profit_usd",
    "gross_loss_usd",
    "pf",
    "max_drawdown_pct",
    "net_pnl_usd",
]


def report_of(lines: list[Any], as_of_bar_ts: int | None = None) -> dict[str, Any]:
    return build_report(
        lines,
        symbols=SYMBOLS,
        starting_equity_usd=10_000.0,
        asset_equity_usd=EQUITY,
        as_of_bar_ts=as_of_bar_ts,
        generated_at="2023-11-16T00:00:00.000+00:00",
    )


def two_assets() -> tuple[JournalFactory, dict[str, list[float]]]:
    """ETH: win, loss, win; BTC: one loss and then an open position late on day 2."""
    factory = JournalFactory()
    pnls: dict[str, list[float]] = {"ETHUSDT": [], "BTCUSDT": []}
    pnls["ETHUSDT"].append(factory.trade("ETHUSDT", bar_ts=T0, entry_price=2000, exit_price=2100))
    pnls["BTCUSDT"].append(
        factory.trade(
            "BTCUSDT", bar_ts=T0 + HOUR_MS, entry_price=30_000, exit_price=29_000, qty=0.1
        )
    )
    pnls["ETHUSDT"].append(
        factory.trade("ETHUSDT", bar_ts=T0 + 3 * HOUR_MS, entry_price=2100, exit_price=1900)
    )
    pnls["ETHUSDT"].append(
        factory.trade("ETHUSDT", bar_ts=T0 + DAY_MS, entry_price=1900, exit_price=1950)
    )
    factory.open("BTCUSDT", bar_ts=T0 + DAY_MS + 23 * HOUR_MS, price=29_500.0, qty=0.01)
    return factory, pnls


def test_every_symbol_appears_with_zero_counts_on_an_empty_journal() -> None:
    report = report_of([])
    assert list(report["assets"]) == SYMBOLS
    for block in [*report["assets"].values(), report["portfolio"]]:
        assert (block["trades"], block["wins"], block["losses"], block["pf"]) == (0, 0, 0, None)
        assert block["max_drawdown_pct"] == 0.0
    assert report["assets"]["ATOMUSDT"]["open_position"] is None
    assert report["assets"]["ATOMUSDT"]["daily_notional_used_usd"] == 0.0
    assert report["portfolio"]["open_positions"] == 0
    assert report["generated_at"] == "2023-11-16T00:00:00.000+00:00"
    assert report["as_of_bar_ts"] is None


def test_stats_per_asset_use_the_assets_equity_and_the_portfolio_its_own() -> None:
    factory, pnls = two_assets()
    report = report_of(factory.lines)
    for symbol, values in pnls.items():
        expected = summarize(values, EQUITY[symbol]).as_dict()
        assert {k: report["assets"][symbol][k] for k in STATS_KEYS} == expected
    in_exit_order = [line["pnl_usd"] for line in factory.lines if line["action"] == "close"]
    expected = summarize(in_exit_order, 10_000.0).as_dict()
    assert {k: report["portfolio"][k] for k in STATS_KEYS} == expected
    assert report["assets"]["ETHUSDT"]["wins"] == 2
    assert report["assets"]["ETHUSDT"]["losses"] == 1


def test_an_open_position_is_shown_and_counted() -> None:
    factory, _ = two_assets()
    report = report_of(factory.lines)
    assert report["assets"]["BTCUSDT"]["open_position"] == {
        "trade_id": f"BTCUSDT-{T0 + DAY_MS + 23 * HOUR_MS}",
        "direction": "long",
        "qty": 0.01,
        "entry_price": 29_500.0,
        "entry_bar_ts": T0 + DAY_MS + 23 * HOUR_MS,
        "notional_usd": 295.0,
    }
    assert report["assets"]["ETHUSDT"]["open_position"] is None
    assert report["portfolio"]["open_positions"] == 1
    assert report["portfolio"]["open_exposure_usd"] == 295.0


def test_daily_notional_counts_the_opens_of_the_utc_day_of_as_of() -> None:
    factory, _ = two_assets()
    day_1 = report_of(factory.lines, as_of_bar_ts=T0 + 5 * HOUR_MS)["assets"]
    assert day_1["ETHUSDT"]["daily_notional_used_usd"] == 2000.0 + 2100.0
    assert day_1["BTCUSDT"]["daily_notional_used_usd"] == pytest.approx(3000.0)
    day_2 = report_of(factory.lines, as_of_bar_ts=T0 + DAY_MS + 23 * HOUR_MS)["assets"]
    assert day_2["ETHUSDT"]["daily_notional_used_usd"] == 1900.0
    assert day_2["BTCUSDT"]["daily_notional_used_usd"] == 295.0
    day_3 = report_of(factory.lines, as_of_bar_ts=T0 + 2 * DAY_MS)["assets"]
    assert day_3["BTCUSDT"]["daily_notional_used_usd"] == 0.0


def test_a_traded_symbol_outside_the_list_still_appears_against_portfolio_equity() -> None:
    factory = JournalFactory()
    pnl = factory.trade("DOGEUSDT", bar_ts=T0, entry_price=0.1, exit_price=0.09, qty=1000)
    report = report_of(factory.lines)
    assert list(report["assets"]) == [*SYMBOLS, "DOGEUSDT"]
    doge = report["assets"]["DOGEUSDT"]
    assert doge["max_drawdown_pct"] == summarize([pnl], 10_000.0).max_drawdown_pct


def test_fillline_models_and_dicts_give_the_same_report() -> None:
    factory, _ = two_assets()
    models = [FillLine.model_validate(line) for line in factory.lines]
    assert report_of(models) == report_of(factory.lines)


def test_the_recomputation_from_the_journal_file_equals_the_written_report(
    tmp_path: Path,
) -> None:
    factory, _ = two_assets()
    journal_path = tmp_path / "trades.jsonl"
    write_lines(journal_path, factory.lines)
    report_path = tmp_path / "pf_local.json"
    write_report_atomic(report_path, report_of(factory.lines, as_of_bar_ts=T0 + DAY_MS))
    written = orjson.loads(report_path.read_bytes())
    recomputed = recompute_report(
        journal_path,
        symbols=SYMBOLS,
        starting_equity_usd=10_000.0,
        asset_equity_usd=EQUITY,
        as_of_bar_ts=written["as_of_bar_ts"],
        generated_at="later",
    )
    assert report_differences(written, recomputed) == []


def test_the_daemons_book_renders_the_same_report_as_the_recomputation(tmp_path: Path) -> None:
    factory, _ = two_assets()
    path = tmp_path / "trades.jsonl"
    write_lines(path, factory.lines)
    book = Book()
    Journal.open(path, book.apply)[0].close()
    as_of = T0 + DAY_MS + 23 * HOUR_MS
    from_book = report_from_book(
        book,
        symbols=SYMBOLS,
        starting_equity_usd=10_000.0,
        asset_equity_usd=EQUITY,
        as_of_bar_ts=as_of,
        generated_at="x",
    )
    assert report_differences(from_book, report_of(factory.lines, as_of_bar_ts=as_of)) == []


def test_differences_name_the_dotted_path() -> None:
    factory, _ = two_assets()
    a = report_of(factory.lines)
    b = orjson.loads(orjson.dumps(a))
    b["assets"]["ETHUSDT"]["pf"] = 99.0
    b["generated_at"] = "ignored"
    assert [d.split(":")[0] for d in report_differences(a, b)] == ["assets.ETHUSDT.pf"]


def test_atomic_write_replaces_the_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "pf_local.json"
    write_report_atomic(path, {"v": 1})
    write_report_atomic(path, {"v": 2})
    assert orjson.loads(path.read_bytes()) == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["pf_local.json"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_failed_write_keeps_the_old_report(tmp_path: Path) -> None:
    path = tmp_path / "pf_local.json"
    write_report_atomic(path, {"v": 1})
    with pytest.raises(TypeError):
        write_report_atomic(path, {"v": {1, 2}})
    assert orjson.loads(path.read_bytes()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["pf_local.json"]


def test_readers_see_the_old_or_the_new_report_never_a_mix(tmp_path: Path) -> None:
    path = tmp_path / "pf_local.json"
    versions = [{"v": i, "pad": "x" * 200_000} for i in range(2)]
    write_report_atomic(path, versions[0])
    done = threading.Event()

    def writer() -> None:
        for i in range(60):
            write_report_atomic(path, versions[i % 2])
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    reads = 0
    while not done.is_set() or reads == 0:
        assert orjson.loads(path.read_bytes()) in versions
        reads += 1
    thread.join()
