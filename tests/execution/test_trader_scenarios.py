"""The trader's phase order, in process, as short scenarios over a few hand-made bars.

Per bar time (SPEC §7): (A) at the open, pending reverse closes then pending entries, sized
against the caps at that moment, assets in run order; (B) intrabar stops and targets;
(C) timeouts at the close; (D) the close's signals become pending orders for the next bar.
Each scenario names the rule it checks, so a failure says which one broke.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from engine_alpha.config.models import ExecutionSettings
from engine_alpha.execution.book import Book
from engine_alpha.execution.sizing import AssetCaps
from engine_alpha.execution.trader import AssetPlan, Trader
from engine_alpha.ledger.journal import Journal
from engine_alpha.ledger.signal_log import SignalLog
from engine_alpha.market.bars import Bar, BarTime
from engine_alpha.market.rules import MarketRules
from engine_alpha.signals.decision import BarDecision, bucket_of
from engine_alpha.strategy.decided import Decided

HOUR = 3_600_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % HOUR
CAPS = AssetCaps(
    per_trade_usd=500.0,
    daily_usd=5_000.0,
    size_factor=1.0,
    confidence_multiplier=False,
    volatility_multiplier=False,
)


def _plan(symbol: str) -> AssetPlan:
    rules = MarketRules(symbol, tick_size=0.01, step_size=0.001, min_qty=0.001, min_notional=5.0)
    return AssetPlan(symbol=symbol, trades=True, mode="paper", caps=CAPS, rules=rules)


def _trader(tmp: Path, symbols: list[str], max_exposure_usd: float = 10_000.0) -> Trader:
    book = Book()
    journal, _, _ = Journal.open(tmp / "trades.jsonl", book.apply)
    return Trader(
        book=book,
        journal=journal,
        signal_log=SignalLog(tmp / "signals.jsonl"),
        plans={s: _plan(s) for s in symbols},
        execution=ExecutionSettings(),
        timeframe="1h",
        timeframe_ms=HOUR,
        max_exposure_usd=max_exposure_usd,
        wall_clock=lambda: "2023-01-01T00:00:00.000+00:00",
    )


def _bar(symbol: str, hour: int, o: float, h: float, low: float, c: float) -> Bar:
    return Bar(symbol, T0 + hour * HOUR, o, h, low, c, 1_000.0)


def _decided(bar: Bar, direction: str | None = None, atr: float = 2.0) -> Decided:
    confidence = 0.85 if direction else None
    bucket = bucket_of(confidence) if confidence is not None else None
    decision = BarDecision(bar.ts_ms, bar.close, atr, "trend_up", direction, confidence, bucket)
    return Decided(bar, decision, None, 1.0)


def _step(trader: Trader, items: list[Decided]) -> None:
    ts = items[0].bar.ts_ms
    trader.step(BarTime(ts, [d.bar for d in items]), {d.bar.symbol: d for d in items}, trading=True)
    trader.commit()


def _journal(tmp: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in (tmp / "trades.jsonl").read_bytes().splitlines()]


def test_a_reverse_closes_then_opens_at_the_open_and_the_new_position_can_stop_in_that_bar(
    tmp_path: Path,
) -> None:
    trader = _trader(tmp_path, ["ETHUSDT"])
    _step(trader, [_decided(_bar("ETHUSDT", 0, 100, 101, 99, 100), "long")])
    _step(trader, [_decided(_bar("ETHUSDT", 1, 100, 100.5, 99.5, 100))])  # long opened here
    _step(trader, [_decided(_bar("ETHUSDT", 2, 100, 100.5, 99.5, 100), "short")])
    # The next bar opens at 100 (reverse + short entry there), then spikes through the short's
    # stop (entry + 1.5 x ATR 2 = ~103): phase A before phase B, in the same bar.
    _step(trader, [_decided(_bar("ETHUSDT", 3, 100, 104, 99.8, 103.5))])
    lines = _journal(tmp_path)
    assert [(x["action"], x["reason"], x["direction"]) for x in lines] == [
        ("open", "signal", "long"),
        ("close", "reverse", "long"),
        ("open", "signal", "short"),
        ("close", "stop", "short"),
    ]
    assert lines[1]["bar_ts"] == lines[2]["bar_ts"] == lines[3]["bar_ts"] == T0 + 3 * HOUR
    assert lines[1]["reference_price"] == lines[2]["reference_price"] == 100.0
    assert lines[3]["reference_price"] == lines[2]["stop_price"]
    assert trader.book.positions == {}


def test_a_signal_on_the_last_bar_stays_pending_and_writes_nothing(tmp_path: Path) -> None:
    trader = _trader(tmp_path, ["ETHUSDT"])
    _step(trader, [_decided(_bar("ETHUSDT", 0, 100, 101, 99, 100), "long")])
    assert _journal(tmp_path) == []
    assert set(trader.pending) == {"ETHUSDT"}
    assert trader.pending["ETHUSDT"].signal_bar_ts == T0
    assert (tmp_path / "signals.jsonl").read_bytes() == b""  # recorded when sized, at the fill


def _two_assets_signal_together(tmp: Path, max_exposure_usd: float) -> list[dict[str, Any]]:
    """ETH and BTC signal at the same bar; both fill at the next open, ETH first (run order)."""
    trader = _trader(tmp, ["ETHUSDT", "BTCUSDT"], max_exposure_usd=max_exposure_usd)
    signal_bars = [_bar("ETHUSDT", 0, 100, 101, 99, 100), _bar("BTCUSDT", 0, 50, 51, 49, 50)]
    _step(trader, [_decided(b, "long") for b in signal_bars])
    fill_bars = [_bar("ETHUSDT", 1, 100, 100.5, 99.5, 100), _bar("BTCUSDT", 1, 50, 50.2, 49.8, 50)]
    _step(trader, [_decided(b) for b in fill_bars])
    return [orjson.loads(x) for x in (tmp / "signals.jsonl").read_bytes().splitlines()]


def test_the_exposure_cap_reached_mid_bar_time_cuts_the_later_asset_in_run_order(
    tmp_path: Path,
) -> None:
    records = _two_assets_signal_together(tmp_path, max_exposure_usd=600.0)
    eth, btc = _journal(tmp_path)
    assert (eth["symbol"], btc["symbol"]) == ("ETHUSDT", "BTCUSDT")
    assert eth["notional_usd"] > 490.0  # ETH, first in run order, got its full 500 (to the lot)
    assert btc["notional_usd"] <= 600.0 - eth["notional_usd"] + 1e-9
    btc_record = next(r for r in records if r["symbol"] == "BTCUSDT")
    assert btc_record["cut_by"] == ["exposure_cap"] and btc_record["requested_usd"] == 500.0


def test_the_exposure_cap_left_below_the_minimum_notional_refuses_the_later_asset(
    tmp_path: Path,
) -> None:
    records = _two_assets_signal_together(tmp_path, max_exposure_usd=503.0)
    assert [x["symbol"] for x in _journal(tmp_path)] == ["ETHUSDT"]
    btc_record = next(r for r in records if r["symbol"] == "BTCUSDT")
    assert (btc_record["outcome"], btc_record["reason"]) == ("refused", "exposure_cap")


def test_a_timeout_closes_at_the_close_of_the_last_bar_held(tmp_path: Path) -> None:
    trader = _trader(tmp_path, ["ETHUSDT"])
    _step(trader, [_decided(_bar("ETHUSDT", 0, 100, 100.1, 99.9, 100), "long")])
    for hour in range(1, 14):
        _step(trader, [_decided(_bar("ETHUSDT", hour, 100, 100.1, 99.9, 100.05))])
    lines = _journal(tmp_path)
    assert [(x["action"], x["reason"]) for x in lines] == [("open", "signal"), ("close", "timeout")]
    held = ExecutionSettings().max_hold_bars
    assert lines[1]["bar_ts"] == lines[0]["bar_ts"] + (held - 1) * HOUR
    assert lines[1]["reference_price"] == 100.05
