"""The book: running stats equal to `summarize` over the PnL lists; snapshot and restore."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.execution.book import Book, ClosedTrades
from engine_alpha.ledger.journal import JournalFacts
from engine_alpha.ledger.metrics import summarize
from tests.ledger.factory import DAY_MS, HOUR_MS, T0, JournalFactory

SYMBOLS = ["ETHUSDT", "BTCUSDT", "SOLUSDT"]
pnl_values = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False)


@given(
    trades=st.lists(st.tuples(st.sampled_from(SYMBOLS), pnl_values), max_size=60),
    split=st.integers(min_value=0, max_value=60),
    equities=st.lists(st.sampled_from([1.0, 250.0, 5000.0, 10_000.0]), min_size=2, max_size=2),
    expect=st.booleans(),
)
def test_running_stats_equal_summarize_over_the_lists_bit_for_bit(
    trades: list[tuple[str, float]], split: int, equities: list[float], expect: bool
) -> None:
    closed = ClosedTrades()
    lists: dict[str, list[float]] = {symbol: [] for symbol in SYMBOLS}
    everything: list[float] = []
    for i, (symbol, pnl) in enumerate(trades):
        if i == split and expect:  # from here on, accumulators are fed as trades come
            closed.expect(equities[0], {"ETHUSDT": equities[1]})
        elif i == split:  # the accumulators asked for now are fed one trade at a time
            for s in SYMBOLS:
                closed.asset_stats(s, equities[0])
            closed.portfolio_stats(equities[0])
        closed.add(symbol, pnl)
        lists[symbol].append(pnl)
        everything.append(pnl)
    for equity in equities:  # the second one rebuilds from the log
        for symbol in SYMBOLS:
            assert closed.asset_stats(symbol, equity) == summarize(lists[symbol], equity)
        assert closed.portfolio_stats(equity) == summarize(everything, equity)
    assert list(closed.pnls()) == everything
    assert closed.symbols() == list(dict.fromkeys(symbol for symbol, _ in trades))


def a_book() -> tuple[Book, list[dict[str, Any]]]:
    factory = JournalFactory()
    factory.trade("ETHUSDT", bar_ts=T0, entry_price=2000.0, exit_price=2050.0)
    factory.trade("BTCUSDT", bar_ts=T0 + HOUR_MS, entry_price=30_000.0, exit_price=29_000.0)
    factory.open("ETHUSDT", bar_ts=T0 + DAY_MS, price=2100.0, qty=0.5)
    factory.open("SOLUSDT", bar_ts=T0 + DAY_MS + HOUR_MS, price=50.0, qty=2.0, direction="short")
    book = Book()
    for line in factory.lines:
        book.apply(line)
    book.asset_stats("ETHUSDT", 5000.0)
    book.portfolio_stats(10_000.0)
    return book, factory.lines


FACTS = JournalFacts(
    lines=6,
    open_trades={
        "ETHUSDT": f"ETHUSDT-{T0 + DAY_MS}",
        "SOLUSDT": f"SOLUSDT-{T0 + DAY_MS + HOUR_MS}",
    },
    closed_trades=2,
)


def test_a_snapshot_through_json_restores_the_same_book() -> None:
    book, _ = a_book()
    restored = Book()
    restored.restore(orjson.loads(orjson.dumps(book.snapshot())), FACTS)
    assert restored.positions == book.positions
    assert (restored.lines, restored.last_bar_ts) == (book.lines, book.last_bar_ts)
    for symbol in SYMBOLS:
        for bar_ts in (T0, T0 + DAY_MS):
            assert restored.daily_used_usd(symbol, bar_ts) == book.daily_used_usd(symbol, bar_ts)
        for equity in (5000.0, 1.0):
            assert restored.asset_stats(symbol, equity) == book.asset_stats(symbol, equity)
    assert restored.portfolio_stats(10_000.0) == book.portfolio_stats(10_000.0)
    assert restored.snapshot() == book.snapshot()


@pytest.mark.parametrize(
    ("facts", "problem"),
    [
        (JournalFacts(7, FACTS.open_trades, 2), "lines"),
        (JournalFacts(6, {"ETHUSDT": FACTS.open_trades["ETHUSDT"]}, 2), "holds"),
        (JournalFacts(6, FACTS.open_trades, 3), "closed trades"),
    ],
)
def test_a_snapshot_that_disagrees_with_the_journal_changes_nothing(
    facts: JournalFacts, problem: str
) -> None:
    book, _ = a_book()
    snapshot = book.snapshot()
    other = Book()
    with pytest.raises(ValueError, match=problem):
        other.restore(snapshot, facts)
    assert other.snapshot() == Book().snapshot()


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["closed"].update(pnls_f64="!!"),
        lambda s: s["closed"].update(symbols=["ETHUSDT", "ETHUSDT"]),
        lambda s: s["closed"]["portfolio"].update(trades=5),
        lambda s: s["open_lines"][0].update(qty=-1.0),
        lambda s: s["daily"].update(ETHUSDT=[1, "x"]),
        lambda s: s.update(last_bar_ts="late"),
    ],
)
def test_a_malformed_snapshot_is_refused(change: Any) -> None:
    book, _ = a_book()
    snapshot = orjson.loads(orjson.dumps(book.snapshot()))
    change(snapshot)
    with pytest.raises(ValueError):
        Book().restore(snapshot, FACTS)


def test_a_book_given_equities_keeps_their_stats_and_a_restore_keeps_them_too() -> None:
    _, lines = a_book()
    book = Book(10_000.0, {"ETHUSDT": 5000.0})
    for line in lines:
        book.apply(line)
    snapshot = book.snapshot()["closed"]
    assert snapshot["portfolio"]["starting_equity_usd"] == 10_000.0
    assert {s: a["starting_equity_usd"] for s, a in snapshot["assets"].items()} == {
        "ETHUSDT": 5000.0,
        "BTCUSDT": 10_000.0,
    }
    restored = Book(10_000.0, {"ETHUSDT": 250.0})
    restored.restore(orjson.loads(orjson.dumps(book.snapshot())), FACTS)
    assert restored.snapshot()["closed"]["assets"]["ETHUSDT"]["starting_equity_usd"] == 250.0
    expected = summarize(list(book.closed.pnls("ETHUSDT")), 250.0)
    assert restored.asset_stats("ETHUSDT", 250.0) == expected


def test_daily_notional_starts_again_on_a_new_utc_day() -> None:
    book, _ = a_book()
    assert book.daily_used_usd("ETHUSDT", T0) == 0.0  # only the latest day is kept
    assert book.daily_used_usd("ETHUSDT", T0 + DAY_MS + 5 * HOUR_MS) == 1050.0
    assert book.daily_used_usd("BTCUSDT", T0 + DAY_MS) == 0.0
