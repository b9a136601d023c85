"""The daily summary's figures against a recomputation from the whole list of closes: whatever
the commit chunks, each UTC day's trades and PnL and the PF and drawdown at its end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine_alpha.core.units import DAY_MS, HOUR_MS
from engine_alpha.notify.daily import PORTFOLIO, ClosedDay, DailyTally, lines_since

T0 = 1_690_000_000_000 // DAY_MS * DAY_MS
SYMBOLS = ("ETHUSDT", "BTCUSDT", "SOLUSDT")
EQUITY = {"ETHUSDT": 5000.0, "BTCUSDT": 4000.0, "SOLUSDT": 2500.0}


def _pf_dd(pnls: list[float], equity: float) -> tuple[float | None, float]:
    """PF and max drawdown (%) recomputed from scratch: the peak-to-trough of the equity curve."""
    profit = sum(p for p in pnls if p > 0)
    loss = -sum(p for p in pnls if p < 0)
    pf = profit / loss if loss > 0 else None
    curve, total = [equity], equity
    for p in pnls:
        total += p
        curve.append(total)
    worst = max(((max(curve[: i + 1]) - v) / max(curve[: i + 1]) for i, v in enumerate(curve)))
    return pf, worst * 100.0


def _expected(
    past: list[tuple[str, float]], closes: list[dict[str, Any]], start_day: int, end_day: int
) -> list[tuple[int, dict[str, tuple[int, float, float | None, float]]]]:
    out = []
    for day in range(start_day, end_day):
        upto = [(s, p) for s, p in past] + [
            (c["symbol"], c["pnl_usd"]) for c in closes if c["bar_ts"] // DAY_MS <= day
        ]
        today = [c for c in closes if c["bar_ts"] // DAY_MS == day]
        rows = {}
        for symbol in sorted({s for s, _ in upto}):
            mine = [p for s, p in upto if s == symbol]
            pf, dd = _pf_dd(mine, EQUITY[symbol])
            day_pnls = [c["pnl_usd"] for c in today if c["symbol"] == symbol]
            rows[symbol] = (len(day_pnls), sum(day_pnls), pf, dd)
        pf, dd = _pf_dd([p for _, p in upto], 10_000.0)
        rows[PORTFOLIO] = (len(today), sum(c["pnl_usd"] for c in today), pf, dd)
        out.append((day * DAY_MS, rows))
    return out


def _close(symbol: str, bar_ts: int, pnl: float) -> dict[str, Any]:
    return {"symbol": symbol, "bar_ts": bar_ts, "action": "close", "pnl_usd": pnl}


pnl = st.floats(-300, 300, allow_nan=False).map(lambda x: round(x, 2))
events = st.lists(
    st.tuples(st.sampled_from(SYMBOLS), st.integers(0, 23), pnl, st.integers(0, 2)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    past=st.lists(st.tuples(st.sampled_from(SYMBOLS), pnl), max_size=8),
    steps=events,
    chunk=st.integers(1, 7),
    tail_hours=st.integers(0, 60),
)
def test_each_day_closed_has_the_figures_of_a_recomputation(
    past: list[tuple[str, float]],
    steps: list[tuple[str, int, float, int]],
    chunk: int,
    tail_hours: int,
) -> None:
    # closes in bar-time order, some days apart; opens mixed in, which count nothing
    ts, lines = T0, []
    for symbol, hours, value, days in steps:
        ts += days * DAY_MS + hours * HOUR_MS
        lines.append({"symbol": symbol, "bar_ts": ts, "action": "open"})
        lines.append(_close(symbol, ts, value))
    tally = DailyTally(
        {s: [p for q, p in past if q == s] for s in {q for q, _ in past}},
        [p for _, p in past],
        starting_equity_usd=10_000.0,
        asset_equity_usd=EQUITY,
        day_ms=None,
    )
    days: list[ClosedDay] = []
    for i in range(0, len(lines), chunk):
        part = lines[i : i + chunk]
        days += tally.advance(part, part[-1]["bar_ts"])
    reached = ts + tail_hours * HOUR_MS
    days += tally.advance([], reached)
    got = [(d.day_ms, d.rows()) for d in days]  # made after every day closed, as a message is
    closes = [x for x in lines if x["action"] == "close"]
    want = _expected(past, closes, lines[0]["bar_ts"] // DAY_MS, reached // DAY_MS)
    assert [day for day, _ in got] == [day for day, _ in want]
    for (_, rows), (_, expected) in zip(got, want, strict=True):
        assert [r.name for r in rows] == list(expected)
        for row in rows:
            trades, day_pnl, pf, dd = expected[row.name]
            assert row.trades == trades
            assert abs(row.pnl_usd - day_pnl) < 1e-6
            assert (row.stats.pf is None) == (pf is None)
            if pf is not None:
                assert abs(row.stats.pf - pf) <= 1e-9 * pf  # type: ignore[operator]
            assert abs(row.stats.max_drawdown_pct - dd) < 1e-9


def test_a_restart_mid_day_counts_the_days_closes_already_in_the_journal(tmp_path: Path) -> None:
    journal = tmp_path / "trades.jsonl"
    before = [
        _close("ETHUSDT", T0 + 5 * HOUR_MS, 10.0),
        _close("ETHUSDT", T0 + DAY_MS + 2 * HOUR_MS, -4.0),
        _close("BTCUSDT", T0 + DAY_MS + 3 * HOUR_MS, 7.5),
    ]
    journal.write_text("".join(json.dumps(x) + "\n" for x in before))
    last = before[-1]["bar_ts"]
    today = lines_since(journal, last // DAY_MS * DAY_MS)
    assert today == before[1:]
    tally = DailyTally(
        {"ETHUSDT": [10.0, -4.0], "BTCUSDT": [7.5]},
        [10.0, -4.0, 7.5],
        starting_equity_usd=10_000.0,
        asset_equity_usd=EQUITY,
        day_ms=last,
    )
    tally.resume(today)
    (closed,) = tally.advance([_close("ETHUSDT", T0 + 2 * DAY_MS, 1.0)], T0 + 2 * DAY_MS)
    day, rows = closed.day_ms, closed.rows()
    assert day == T0 + DAY_MS
    by = {r.name: r for r in rows}
    assert (by["ETHUSDT"].trades, by["ETHUSDT"].pnl_usd) == (1, -4.0)
    assert (by["BTCUSDT"].trades, by["BTCUSDT"].pnl_usd) == (1, 7.5)
    assert (by[PORTFOLIO].trades, by[PORTFOLIO].pnl_usd) == (2, 3.5)
    assert by["ETHUSDT"].stats.pf == 10.0 / 4.0 and by[PORTFOLIO].stats.trades == 3


def test_lines_since_reads_back_across_blocks_and_skips_a_damaged_line(tmp_path: Path) -> None:
    journal = tmp_path / "trades.jsonl"
    lines = [_close("ETHUSDT", T0 + i * HOUR_MS, float(i)) for i in range(500)]
    text = "".join(json.dumps(x) + "\n" for x in lines[:300]) + "{torn\n"
    text += "".join(json.dumps(x) + "\n" for x in lines[300:])
    journal.write_text(text)
    assert lines_since(journal, T0 + 250 * HOUR_MS, block=97) == lines[250:]
    assert lines_since(tmp_path / "none.jsonl", 0) == []
