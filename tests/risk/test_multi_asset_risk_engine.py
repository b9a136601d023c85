"""The risk engine: realised volatility, weighted edge, trade rates, scores, the exposure limit."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine_alpha.config.config_loader import PAPER_FILE, PROFILER_FILE, ChloeConfig, load_config
from engine_alpha.config.models import SignalModelChoice
from engine_alpha.ledger.journal import read_journal
from engine_alpha.market.bars import Bar
from engine_alpha.ops.history import fold_history
from engine_alpha.ops.reports_reader import ResearchCounts, load_bars, load_research_counts
from engine_alpha.ops.signal_digest import SignalDigest
from engine_alpha.risk.multi_asset_risk_engine import (
    RiskReport,
    VolatilityMemo,
    assess_risk,
    research_trades_per_day,
    sizing_volatility,
)
from engine_alpha.signals.catalog import chosen, json_identity, plugin
from engine_alpha.strategy.filters import FilterRules, refusal
from engine_alpha.strategy.task import StrategyTask
from engine_alpha.strategy.volatility import MIN_VOL_MULTIPLIER
from tests.conftest import REPO, SAMPLE_DATA, EditConfig
from tests.ops.factory import DAY_MS, HOUR_MS, T0, Journal, signal

ALL_TRADEABLE = ("BTCUSDT", "MATICUSDT", "AVAXUSDT", "DOGEUSDT", "XRPUSDT", "SOLUSDT")


def _enable(edit_config: EditConfig, *symbols: str, exposure_usd: float | None = None) -> None:
    def change(d: dict[str, Any]) -> None:
        for symbol in symbols:
            d["enabled_assets"][symbol]["enabled"] = True
        if exposure_usd is not None:
            d["position_limits"]["max_portfolio_exposure_usd"] = exposure_usd

    edit_config(PAPER_FILE, change)


def _assess(
    config: ChloeConfig,
    journal: Journal,
    signals: Sequence[dict[str, Any]] = (),
    events: Sequence[dict[str, Any]] = (),
    bars: dict[str, list[Bar]] | None = None,
    as_of: int | None = None,
) -> RiskReport:
    history = fold_history(journal.lines)
    return assess_risk(
        config,
        history,
        signals=SignalDigest(signals),
        events=events,
        bars=bars or {},
        as_of_bar_ts=as_of if as_of is not None else history.last_bar_ts,
    )


def _from_research(config: ChloeConfig, counts: Mapping[str, ResearchCounts]) -> RiskReport:
    """Risk with no journal, signal or bar: what research alone says."""
    return assess_risk(
        config,
        fold_history([]),
        signals=SignalDigest(),
        events=[],
        bars={},
        as_of_bar_ts=None,
        research=counts,
    )


def _bars(symbol: str, closes: Sequence[float], start_ts: int = T0) -> list[Bar]:
    return [
        Bar(symbol, start_ts + i * HOUR_MS, c, c * 1.001, c * 0.999, c, 1.0)
        for i, c in enumerate(closes)
    ]


def _walk(n: int, sigma: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, sigma, n)))


@pytest.fixture
def config(config_dir: Path) -> ChloeConfig:
    return load_config(config_dir)


def _wicked_bars(closes: list[float], wick: float = 0.002) -> list[Bar]:
    """Hourly bars opening at the previous close, with a small wick either side."""
    bars, prev = [], closes[0]
    for i, close in enumerate(closes):
        high, low = max(prev, close) * (1 + wick), min(prev, close) * (1 - wick)
        bars.append(Bar("DOGEUSDT", T0 + i * HOUR_MS, prev, high, low, close, 100.0))
        prev = close
    return bars


def _long_hand(bars: list[Bar]) -> tuple[float, float]:
    """ATR(14)% of the last bar and its EWMA-500, written out independently of the code."""
    trs = [bars[0].high - bars[0].low] + [
        max(b.high - b.low, abs(b.high - p.close), abs(b.low - p.close))
        for p, b in itertools.pairwise(bars)
    ]
    atr, base = 0.0, None
    for n, (tr, bar) in enumerate(zip(trs, bars, strict=True), start=1):
        atr = atr + (tr - atr) / min(n, 14)
        pct = atr / bar.close
        base = pct if base is None else base + 2.0 / 501.0 * (pct - base)
    assert base is not None
    return atr / bars[-1].close, base


def test_the_risk_report_shows_the_multiplier_that_sizes_recomputed_long_hand() -> None:
    calm = list(_walk(800, 0.005))
    stormy = calm + list(calm[-1] * np.exp(np.cumsum(np.random.default_rng(2).normal(0, 0.03, 24))))
    bars = _wicked_bars(stormy)
    vol = sizing_volatility(bars)
    now, base = _long_hand(bars)
    assert vol.recent_pct == pytest.approx(now * 100.0, rel=1e-12)
    assert vol.baseline_pct == pytest.approx(base * 100.0, rel=1e-12)
    assert vol.multiplier == pytest.approx(max(0.25, min(1.0, base / now)), rel=1e-12)
    assert vol.multiplier < 0.8  # a stormy day shrinks orders
    assert sizing_volatility(_wicked_bars(calm)).multiplier > vol.multiplier


def test_at_every_signal_the_report_agrees_with_the_size_the_trader_would_use() -> None:
    bars = _wicked_bars(list(_walk(1500, 0.01)), wick=0.006)
    decided = StrategyTask(symbol="DOGEUSDT", rules=None).decide(bars)
    signals = [k for k, d in enumerate(decided) if d.decision.direction is not None]
    assert len(signals) >= 10
    for k in signals:
        assert sizing_volatility(bars[: k + 1]).multiplier == decided[k].vol_multiplier


def test_no_bars_give_no_volatility_and_a_neutral_multiplier() -> None:
    vol = sizing_volatility([])
    assert (vol.recent_pct, vol.baseline_pct, vol.multiplier) == (None, None, 1.0)


_MEMO_STEP = st.tuples(
    st.sampled_from(["grow", "shrink", "reload", "edit", "mutate", "model"]), st.integers(0, 400)
)


@settings(max_examples=30, deadline=None)
@given(st.lists(_MEMO_STEP, min_size=1, max_size=10))
def test_the_volatility_memo_gives_what_a_fresh_run_over_the_same_bars_gives(
    steps: list[tuple[str, int]],
) -> None:
    """Bars that grow, shrink, are read again, change (a new bar or one changed in place) and
    a model that changes: each answer equals sizing_volatility over the bars asked about."""
    bars = _wicked_bars(list(_walk(600, 0.01)))
    models = [
        chosen(None),
        chosen(SignalModelChoice(name="mean_reversion", params={"entry_z": 2.0})),
    ]
    memo, model, n = VolatilityMemo(), models[0], 0
    for kind, k in steps:
        if kind == "grow":
            n = min(len(bars), n + k)
        elif kind == "shrink":
            n = max(0, n - k)
        elif kind == "reload":  # equal values, new objects
            bars = [Bar(b.symbol, b.ts_ms, b.open, b.high, b.low, b.close, b.volume) for b in bars]
        elif kind == "edit":
            i = k % len(bars)
            b = bars[i]
            bars = [
                *bars[:i],
                Bar(b.symbol, b.ts_ms, b.open, b.high * 1.05, b.low, b.close, 1.0),
                *bars[i + 1 :],
            ]
        elif kind == "mutate":
            bars[k % len(bars)].low *= 0.97
        else:
            model = models[k % 2]
        prefix = bars[:n]
        assert memo.volatility(prefix, model) == sizing_volatility(prefix, model.factory)


@given(st.lists(st.floats(0.5, 2.0), min_size=40, max_size=200))
def test_the_multiplier_stays_within_its_bounds(steps: list[float]) -> None:
    mult = sizing_volatility(_wicked_bars(list(np.cumprod(steps)))).multiplier
    assert MIN_VOL_MULTIPLIER <= mult <= 1.0


def test_weighted_edge_is_weighted_by_per_trade_cap_over_enabled_assets(
    config: ChloeConfig, edit_config: EditConfig
) -> None:
    assert _assess(config, Journal()).portfolio.weighted_edge_bps == pytest.approx(1.6)
    _enable(edit_config, "BTCUSDT", "XRPUSDT")
    config = load_config(config.config_dir)
    report = _assess(config, Journal())
    # ETH 500 x 1.6, BTC 500 x 9.8, XRP in observation mode 250 x 4.7
    expected = (500 * 1.6 + 500 * 9.8 + 250 * 4.7) / 1250
    assert report.portfolio.weighted_edge_bps == pytest.approx(expected)
    assert report.assets["XRPUSDT"].per_trade_cap_usd == 250
    assert report.portfolio.enabled_assets == ["ETHUSDT", "BTCUSDT", "XRPUSDT"]


def test_expected_trades_per_day_come_from_the_signals_that_pass_the_filter(
    config: ChloeConfig,
) -> None:
    # BTC keeps high_vol bucket 0 only: 10 of these 40 signals over 5 days pass.
    signals = [
        signal(
            "BTCUSDT", T0 + i * 3 * HOUR_MS, bucket=0 if i % 4 == 0 else 5, reason="asset_disabled"
        )
        for i in range(40)
    ]
    span_days = (39 * 3 * HOUR_MS + HOUR_MS) / DAY_MS
    report = _assess(config, Journal(), signals)
    btc = report.assets["BTCUSDT"]
    assert btc.expected_trades_source == "signals"
    assert btc.expected_trades_per_day == pytest.approx(10 / span_days)
    assert report.portfolio.expected_trades_per_day == 0.0  # BTC is not enabled


def test_without_signals_the_rate_comes_from_the_model_run_over_bars(config: ChloeConfig) -> None:
    bars = {"SOLUSDT": [*load_bars(SAMPLE_DATA, ["SOLUSDT"], "1h")["SOLUSDT"][:1500]]}
    report = _assess(config, Journal(), bars=bars, as_of=bars["SOLUSDT"][-1].ts_ms)
    sol = report.assets["SOLUSDT"]
    assert sol.expected_trades_source == "bars"
    rules = FilterRules.from_profile(
        config.profiler.assets["SOLUSDT"], "observation", config.paper.observation
    )
    assert sol.expected_trades_per_day == research_trades_per_day(bars["SOLUSDT"], rules, HOUR_MS)
    assert report.assets["BTCUSDT"].expected_trades_source == "none"


def test_volatility_uses_only_bars_up_to_the_last_acted_bar(config: ChloeConfig) -> None:
    calm = _walk(1000, 0.004)
    storm = calm[-1] * np.exp(np.cumsum(np.random.default_rng(3).normal(0.0, 0.03, 24)))
    closes = [*calm, *storm]
    bars = {"ETHUSDT": _bars("ETHUSDT", closes)}
    before = _assess(config, Journal(), bars=bars, as_of=T0 + 999 * HOUR_MS)
    after = _assess(config, Journal(), bars=bars, as_of=T0 + 1023 * HOUR_MS)
    assert before.assets["ETHUSDT"].volatility.multiplier > 0.8
    assert after.assets["ETHUSDT"].volatility.multiplier < 0.5
    stale = _assess(config, Journal(), bars=bars, as_of=T0 + 5000 * HOUR_MS)
    assert stale.assets["ETHUSDT"].volatility.recent_pct is None


def test_scores_combine_exposure_volatility_drawdown_and_edge(config: ChloeConfig) -> None:
    journal = Journal()
    journal.trade("ETHUSDT", T0, -500.0, qty=10.0)  # 10% of ETH's 5000 USD equity
    journal.open("ETHUSDT", T0 + DAY_MS, qty=10.0)  # 1000 USD open of a 2000 USD limit
    eth = _assess(config, journal).assets["ETHUSDT"]
    assert eth.components["exposure"] == pytest.approx(0.5)
    assert eth.components["drawdown"] == pytest.approx(10.0 / 25.0)
    assert eth.components["edge"] == pytest.approx(1 - 1.6 / 10)
    assert eth.components["volatility"] == 0.5  # no bars: unknown, neutral
    assert eth.risk_score == pytest.approx(sum(eth.components.values()) / 4)
    assert eth.risk_level == "medium"


def test_portfolio_risk_is_not_stable_past_its_limits(config: ChloeConfig) -> None:
    journal = Journal()
    journal.trade("ETHUSDT", T0, -2600.0, qty=40.0)  # 26% of the 10000 USD portfolio
    journal.open("ETHUSDT", T0 + DAY_MS, qty=25.0)  # 2500 USD open, limit 2000
    events = [{"level": "critical", "event": "write_failed"}]
    portfolio = _assess(config, journal, events=events).portfolio
    assert not portfolio.stable
    assert [b.code for b in portfolio.blockers] == [
        "portfolio_drawdown_above_max",
        "exposure_over_limit",
        "portfolio_risk_high",
        "portfolio_critical_errors",
    ]
    assert portfolio.exposure_used_pct == pytest.approx(125.0)


def test_report_json_carries_units(config: ChloeConfig) -> None:
    data = _assess(config, Journal()).as_dict()
    portfolio = data["portfolio"]
    assert {"open_exposure_usd", "max_portfolio_exposure_usd", "weighted_edge_bps"} <= set(
        portfolio
    )
    assert portfolio["stable"] is True and portfolio["blockers"] == []
    json.dumps(data)


def _replay(config_dir: Path, reports: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "engine_alpha", "run", "--replay", "--summary=never"]
    cmd += ["--config-dir", str(config_dir), "--reports-dir", str(reports)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=REPO, check=False)


def test_the_exposure_limit_holds_in_a_replay_journal(
    config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    """The real daemon with every tradeable asset and a 700 USD limit: open notional stays below."""
    limit = 700.0
    _enable(edit_config, *ALL_TRADEABLE, exposure_usd=limit)
    reports = tmp_path / "reports"
    proc = _replay(config_dir, reports)
    assert proc.returncode == 0, proc.stderr
    open_usd: dict[str, float] = {}
    peak = 0.0

    def replay(line: dict[str, Any]) -> None:
        nonlocal peak
        if line["action"] == "open":
            open_usd[line["symbol"]] = line["notional_usd"]
        else:
            del open_usd[line["symbol"]]
        peak = max(peak, math.fsum(open_usd.values()))

    fills = read_journal(reports / "trades.jsonl", replay)
    assert fills > 100
    assert limit * 0.9 < peak <= limit
    signals = [json.loads(line) for line in (reports / "signals.jsonl").read_text().splitlines()]
    refused = [s for s in signals if s["reason"] == "exposure_cap"]
    cut = [s for s in signals if "exposure_cap" in s.get("cut_by", [])]
    assert refused and cut
    assert all(s["notional_usd"] == 0.0 and s["requested_usd"] > 0 for s in refused)
    history = fold_history(
        json.loads(line) for line in (reports / "trades.jsonl").read_text().splitlines()
    )
    report = assess_risk(
        load_config(config_dir),
        history,
        signals=SignalDigest(signals),
        events=[],
        bars={},
        as_of_bar_ts=history.last_bar_ts,
    )
    assert report.portfolio.open_exposure_usd <= limit
    assert report.portfolio.max_portfolio_exposure_usd == limit


def _edge_json(path: Path, bars: int, cells: dict[str, int]) -> None:
    body = {c: {"forward": {"samples": n, "edge_bps": 1.0}} for c, n in cells.items()}
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"halves": {"all": {"bars": bars, "cells": body}}}))


def test_without_signals_the_rate_comes_from_the_research_output(
    config: ChloeConfig, tmp_path: Path
) -> None:
    """BTC keeps high_vol|0; XRP (observation, own min_conf 0.2) keeps high_vol 2, 6-8, chop|8."""
    cells = {"high_vol|0": 24, "high_vol|2": 7, "high_vol|6": 5, "chop|8": 3, "chop|0": 50}
    for symbol in ("BTCUSDT", "XRPUSDT"):
        _edge_json(tmp_path / "research" / symbol / "edge.json", 240, cells)
    (tmp_path / "research" / "SOLUSDT").mkdir(parents=True)
    (tmp_path / "research" / "SOLUSDT" / "edge.json").write_text("{not json")
    counts = load_research_counts(tmp_path, ["BTCUSDT", "XRPUSDT", "SOLUSDT"])
    assert set(counts) == {"BTCUSDT", "XRPUSDT"}
    report = _from_research(config, counts)
    assert report.assets["BTCUSDT"].expected_trades_source == "research"
    assert report.assets["BTCUSDT"].expected_trades_per_day == pytest.approx(24 / 10)
    assert report.assets["XRPUSDT"].expected_trades_per_day == pytest.approx((7 + 5 + 3) / 10)
    assert report.assets["SOLUSDT"].expected_trades_source == "none"


def _run_mean_reversion(edit_config: EditConfig, config_dir: Path, symbol: str) -> ChloeConfig:
    def change(d: dict[str, Any]) -> None:
        d["assets"][symbol]["signal_model"] = {"name": "mean_reversion", "params": {"entry_z": 2.0}}

    edit_config(PROFILER_FILE, change)
    return load_config(config_dir)


def test_the_risk_report_runs_the_model_the_profile_names(
    config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    config = _run_mean_reversion(edit_config, config_dir, "SOLUSDT")
    bars = {"SOLUSDT": [*load_bars(SAMPLE_DATA, ["SOLUSDT"], "1h")["SOLUSDT"][:2000]]}
    report = _assess(config, Journal(), bars=bars, as_of=bars["SOLUSDT"][-1].ts_ms)
    sol = report.assets["SOLUSDT"]
    assert sol.expected_trades_source == "bars"
    # recomputed by hand: the named model over the bars, each signal through the SPEC filter
    rules = FilterRules.from_profile(
        config.profiler.assets["SOLUSDT"], "observation", config.paper.observation
    )
    model = plugin("mean_reversion").create({"entry_z": 2.0})
    first, passed = None, 0
    for bar in bars["SOLUSDT"]:
        d = model.update(bar)
        if d.regime is None:
            continue
        first = bar.ts_ms if first is None else first
        ok = d.direction is not None and (
            refusal(rules, d.regime, d.direction, d.confidence, d.bucket) is None
        )
        passed += ok
    assert first is not None
    days = (bars["SOLUSDT"][-1].ts_ms - first + HOUR_MS) / DAY_MS
    assert sol.expected_trades_per_day == pytest.approx(passed / days)
    as_of = bars["SOLUSDT"][-1].ts_ms
    breakout = _assess(load_config(REPO / "config"), Journal(), bars=bars, as_of=as_of)
    other = breakout.assets["SOLUSDT"].expected_trades_per_day
    assert other is not None and other != sol.expected_trades_per_day


def test_research_counts_of_another_model_are_not_used(
    config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    """Research of the breakout says nothing of how often mean reversion trades."""
    config = _run_mean_reversion(edit_config, config_dir, "BTCUSDT")
    cells = {"high_vol|0": 24}
    _edge_json(tmp_path / "research" / "BTCUSDT" / "edge.json", 240, cells)
    counts = load_research_counts(tmp_path, ["BTCUSDT"])
    assert counts["BTCUSDT"].model == json_identity(None)  # no block: written by the breakout
    report = _from_research(config, counts)
    assert report.assets["BTCUSDT"].expected_trades_source == "none"
    mr = json_identity(config.profiler.assets["BTCUSDT"].signal_model)
    body = json.loads((tmp_path / "research" / "BTCUSDT" / "edge.json").read_text())
    body["signal_distribution"] = {"model": mr, "signals": 24, "cells": cells}
    (tmp_path / "research" / "BTCUSDT" / "edge.json").write_text(json.dumps(body))
    counts = load_research_counts(tmp_path, ["BTCUSDT"])
    report = _from_research(config, counts)
    assert report.assets["BTCUSDT"].expected_trades_source == "research"
    assert report.assets["BTCUSDT"].expected_trades_per_day == pytest.approx(24 / 10)
