"""Every fill records what it really paid: its reference price, the tick, the slippage in bps.

Rounding to the tick goes against the trader after the configured slippage, so a fill pays at
least `slippage_bps` and up to one tick more; the line says how much. Research prices its
trades with the same functions, so a trade the daemon closed by stop, target or timeout earns
the same `pnl_bps` in research.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.config.config_loader import load_config
from engine_alpha.execution.paper_broker import fill_costs_fields, fill_price
from engine_alpha.ledger.arithmetic import fill_arithmetic_problem
from engine_alpha.ops.reports_reader import load_bars
from engine_alpha.research.simulate import EXIT_REASONS, simulate_trades
from engine_alpha.signals.breakout import BreakoutModel
from tests.conftest import SAMPLE_DATA
from tests.daemon_runs import RunResult


@given(
    raw=st.floats(1e-4, 1e5),
    tick_exp=st.integers(-8, 0),
    side=st.sampled_from(["buy", "sell"]),
    slippage_bps=st.floats(0.0, 50.0),
)
def test_the_recorded_slippage_is_what_the_price_paid_rounding_included(
    raw: float, tick_exp: int, side: str, slippage_bps: float
) -> None:
    tick = 10.0**tick_exp
    price = fill_price(raw, side, slippage_bps, tick)
    fields = fill_costs_fields(raw, price, side, tick)
    # Recomputed here from the two prices alone: a buy above the reference, a sell below it.
    paid = (price / raw - 1.0) * 1e4 if side == "buy" else (1.0 - price / raw) * 1e4
    assert abs(fields["slippage_paid_bps"] - paid) <= 1e-9 * max(1.0, abs(paid))
    assert (fields["reference_price"], fields["tick_size"]) == (raw, tick)
    assert paid >= slippage_bps - 1e-6  # rounding never gives back slippage
    assert paid <= slippage_bps + tick / raw * 1e4 * (1 + 1e-9) + 1e-6  # at most one tick more


def test_a_replay_records_each_fills_real_cost_and_research_prices_it_the_same(
    run_chloe: Callable[..., RunResult], config_dir: Path, tmp_path: Path
) -> None:
    result = run_chloe(config_dir, tmp_path / "reports")
    assert result.returncode == 0, result.stderr
    journal = result.journal()
    bars = load_bars(SAMPLE_DATA, ["ETHUSDT"], "1h")["ETHUSDT"]
    by_ts = {bar.ts_ms: bar for bar in bars}
    config = load_config(config_dir)
    slippage = config.paper.execution.slippage_bps
    for line in journal:
        assert fill_arithmetic_problem(line) is None
        assert line["slippage_paid_bps"] >= slippage
        if line["action"] == "open":  # entries fill at the bar's open
            assert line["reference_price"] == by_ts[line["bar_ts"]].open
    assert np.mean([line["slippage_paid_bps"] for line in journal]) > slippage

    model = BreakoutModel()
    decisions = [model.update(bar) for bar in bars]
    index = {bar.ts_ms: i for i, bar in enumerate(bars)}
    closes = [x for x in journal if x["action"] == "close" and x["reason"] in EXIT_REASONS]
    assert len(closes) >= 10
    signal_idx = np.array([index[x["signal_bar_ts"]] for x in closes], dtype=np.int64)
    direction = np.zeros(len(bars), dtype=np.int64)
    atr = np.array([d.atr for d in decisions])
    for x in closes:
        direction[index[x["signal_bar_ts"]]] = 1 if x["direction"] == "long" else -1
    tick = {line["symbol"]: line["tick_size"] for line in journal}["ETHUSDT"]
    research = simulate_trades(
        bars,
        signal_idx,
        direction,
        atr,
        config.paper.execution,
        tick_size=tick,
        timeframe_ms=config.timeframe_ms,
    )
    # Both paths price the same bars to the same fill prices, to the last bit: entry at the next
    # bar's open, exit at the stop, target or timeout, through the one `fill_price`.
    opens = {x["trade_id"]: x for x in journal if x["action"] == "open"}
    assert research.entry_price.tolist() == [opens[x["trade_id"]]["price"] for x in closes]
    assert research.exit_price.tolist() == [x["price"] for x in closes]
    assert [EXIT_REASONS[r] for r in research.reason.tolist()] == [x["reason"] for x in closes]
    # Only the quantity differs (one unit in research), which moves pnl_bps by float rounding.
    assert research.pnl_bps.tolist() == pytest.approx([x["pnl_bps"] for x in closes], rel=1e-9)
