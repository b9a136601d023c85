"""The Phase 2 gates on constructed journals: each criterion passing and failing, order, phases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import PAPER_FILE, ChloeConfig, load_config
from engine_alpha.ops.blockers import Blocker
from engine_alpha.ops.gates import RolloutState, enable_blockers, evaluate_rollout
from engine_alpha.ops.history import fold_history
from engine_alpha.ops.reports_reader import ResearchDistribution
from engine_alpha.ops.signal_digest import SignalDigest
from tests.conftest import EditConfig
from tests.ops.factory import (
    DAY_MS,
    HOUR_MS,
    T0,
    Journal,
    research_of,
    signal,
    uniform_cells,
    uniform_signals,
)

TIER1 = ("BTCUSDT", "MATICUSDT", "AVAXUSDT", "DOGEUSDT")
PROFILE_TRADES: dict[str, dict[str, Any]] = {  # a cell each profile allows
    "ETHUSDT": {},
    "BTCUSDT": {"bucket": 0},
    "MATICUSDT": {"bucket": 9},
    "AVAXUSDT": {"regime": "trend_down", "bucket": 6, "direction": "short"},
    "DOGEUSDT": {"bucket": 8},
}


def _enable(edit_config: EditConfig, *symbols: str) -> None:
    def change(d: dict[str, Any]) -> None:
        for symbol in symbols:
            d["enabled_assets"][symbol]["enabled"] = True

    edit_config(PAPER_FILE, change)


def _evaluate(
    config: ChloeConfig,
    journal: Journal,
    signals: Sequence[dict[str, Any]] = (),
    events: Sequence[dict[str, Any]] = (),
    portfolio: Sequence[Blocker] | None = (),
    research: Mapping[str, ResearchDistribution] | None = None,
) -> RolloutState:
    """The gates; research says every bucket is equally likely unless `research` is given."""
    if research is None:
        research = {s: research_of(uniform_cells()) for s in config.profiler.assets}
    history = fold_history(journal.lines)
    return evaluate_rollout(
        config, history, SignalDigest(signals), events, portfolio, research=research
    )


def _codes(blockers: Sequence[Blocker]) -> list[str]:
    return [b.code for b in blockers]


def _stable_eth(journal: Journal, trades: int = 10) -> list[dict[str, Any]]:
    """ETH trades that pass every criterion (8 of 10 win) and signals spanning 8 days."""
    pnls = [10.0 if i % 5 else -5.0 for i in range(trades)]
    journal.trades("ETHUSDT", pnls, every_ms=12 * HOUR_MS)
    return uniform_signals("ETHUSDT")


@pytest.fixture
def config(config_dir: Path) -> ChloeConfig:
    return load_config(config_dir)


def test_an_asset_meeting_every_criterion_is_stable(config: ChloeConfig) -> None:
    journal = Journal()
    signals = _stable_eth(journal)
    gate = _evaluate(config, journal, signals).assets["ETHUSDT"]
    assert gate.stable, [b.text() for b in gate.failing]
    assert gate.stats.trades == 10
    assert gate.stats.pf == pytest.approx(80.0 / 10.0)
    assert gate.days_monitored == pytest.approx(8.0, abs=0.1)


def test_nine_trades_are_too_few(config: ChloeConfig) -> None:
    journal = Journal()
    signals = _stable_eth(journal, trades=9)
    gate = _evaluate(config, journal, signals).assets["ETHUSDT"]
    assert _codes(gate.failing) == ["trades_below_min"]
    assert (gate.failing[0].value, gate.failing[0].threshold) == (9, 10)


@pytest.mark.parametrize(("wins", "stable"), [(9.0, False), (9.1, True)])
def test_pf_must_be_strictly_above_the_minimum(
    config: ChloeConfig, wins: float, stable: bool
) -> None:
    journal = Journal()
    journal.trades("ETHUSDT", [wins, -10.0] * 5, every_ms=DAY_MS)
    gate = _evaluate(config, journal, uniform_signals("ETHUSDT")).assets["ETHUSDT"]
    assert gate.stats.pf == pytest.approx(wins / 10.0)
    assert gate.stable is stable
    assert _codes(gate.failing) == ([] if stable else ["pf_below_min"])


def test_no_losses_pass_the_pf_gate_with_a_win_but_not_without(config: ChloeConfig) -> None:
    winners = Journal()
    winners.trades("ETHUSDT", [5.0] * 10)
    flat = Journal()
    flat.trades("ETHUSDT", [0.0] * 10)
    signals = uniform_signals("ETHUSDT")
    won = _evaluate(config, winners, signals).assets["ETHUSDT"]
    assert won.stats.pf is None and won.stable
    scratch = _evaluate(config, flat, signals).assets["ETHUSDT"]
    assert scratch.stats.pf is None and _codes(scratch.failing) == ["pf_below_min"]


@pytest.mark.parametrize(("loss_usd", "stable"), [(1249.0, True), (1250.0, False)])
def test_drawdown_threshold_is_a_fraction_compared_in_percent(
    config: ChloeConfig, loss_usd: float, stable: bool
) -> None:
    """ETH's drawdown base is its daily cap, 5000 USD: 1250 USD down is exactly 25%."""
    journal = Journal()
    journal.trades("ETHUSDT", [-loss_usd, *[250.0] * 9], qty=25.0)
    gate = _evaluate(config, journal, uniform_signals("ETHUSDT")).assets["ETHUSDT"]
    assert gate.stats.max_drawdown_pct == pytest.approx(loss_usd / 5000 * 100)
    assert gate.stable is stable
    if not stable:
        (blocker,) = gate.failing
        assert blocker.code == "drawdown_above_max"
        assert blocker.threshold == pytest.approx(25.0)


def test_error_events_of_the_asset_are_critical_errors(config: ChloeConfig) -> None:
    journal = Journal()
    signals = _stable_eth(journal)
    events = [
        {"level": "error", "event": "replay_file_unreadable", "symbol": "ETHUSDT"},
        {"level": "critical", "event": "strategy_failed", "task": "strategy:ETHUSDT"},
        {"level": "warning", "event": "bar_gap", "symbol": "ETHUSDT"},
        {"level": "error", "event": "feed_unknown_symbol", "symbol": "BTCUSDT"},
    ]
    gate = _evaluate(config, journal, signals, events).assets["ETHUSDT"]
    assert _codes(gate.failing) == ["critical_errors"]
    assert gate.critical_errors == 2


def test_monitoring_counts_days_of_bar_time_only_when_trades_are_short(
    config: ChloeConfig, edit_config: EditConfig
) -> None:
    def change(d: dict[str, Any]) -> None:
        d["activation_criteria"]["min_trades_for_stability"] = 5

    edit_config(PAPER_FILE, change)
    short = load_config(config.config_dir)
    journal = Journal()
    journal.trades("ETHUSDT", [10.0, -1.0, 10.0], every_ms=HOUR_MS * 2)
    signals = uniform_signals("ETHUSDT", days=3.0)
    gate = _evaluate(short, journal, signals).assets["ETHUSDT"]
    assert _codes(gate.failing) == ["trades_below_min", "monitoring_too_short"]
    assert gate.days_monitored == pytest.approx(3.0, abs=0.1)
    idle = [signal("ETHUSDT", T0 + 30 * DAY_MS, reason="asset_disabled")]
    assert _evaluate(short, journal, signals + idle).assets["ETHUSDT"].days_monitored < 3.1
    long = uniform_signals("ETHUSDT", days=7.5)
    assert _codes(_evaluate(short, journal, long).assets["ETHUSDT"].failing) == ["trades_below_min"]


def test_signals_far_from_the_profile_fail_the_distribution_check(
    config: ChloeConfig, edit_config: EditConfig
) -> None:
    _enable(edit_config, "BTCUSDT")
    config = load_config(config.config_dir)
    journal = Journal()
    journal.trades("BTCUSDT", [10.0, 10.0, -5.0] * 4, bucket=0)
    # BTC prefers bucket 0 (expected 10% of its high_vol signals): here every one is bucket 0.
    signals = [signal("BTCUSDT", T0 + i * 6 * HOUR_MS, bucket=0) for i in range(40)]
    gate = _evaluate(config, journal, signals).assets["BTCUSDT"]
    assert _codes(gate.failing) == ["distribution_mismatch"]
    assert gate.distribution is not None
    assert gate.distribution.failing == ("bucket_distribution_off",)
    assert gate.distribution.observed == (40,) + (0,) * 9
    assert gate.distribution.expected_shares == pytest.approx([0.1] * 10)
    # 10 buckets expecting 4 each pool into 5 pairs expecting 8: (40-8)^2/8 + 4 x 8 = 160.
    assert gate.distribution.test is not None
    assert gate.distribution.test.statistic == pytest.approx(160.0)
    assert gate.distribution.test.df == 4


def test_a_focus_regime_the_market_rarely_visits_fails_the_distribution_check(
    config: ChloeConfig,
) -> None:
    journal = Journal()
    journal.trades("ETHUSDT", [10.0] * 10)
    signals = uniform_signals("ETHUSDT", per_bucket=1)
    signals += uniform_signals("ETHUSDT", per_bucket=10, regime="chop")
    distribution = _evaluate(config, journal, signals).assets["ETHUSDT"].distribution
    assert distribution is not None
    assert distribution.failing == ("focus_regime_rare",)
    assert distribution.focus_share == pytest.approx(10 / 110)


def test_too_few_signals_or_a_trade_outside_the_profile_fail_the_distribution_check(
    config: ChloeConfig,
) -> None:
    journal = Journal()
    journal.trades("ETHUSDT", [10.0] * 9)
    journal.trade("ETHUSDT", T0 + 20 * DAY_MS, 10.0, regime="chop")
    few = _evaluate(config, journal, uniform_signals("ETHUSDT", per_bucket=0)).assets["ETHUSDT"]
    assert few.distribution is not None
    assert few.distribution.failing == ("too_few_signals", "off_profile_trades")
    assert few.distribution.off_profile_trades == 1


def test_next_asset_follows_the_activation_order(
    config: ChloeConfig, edit_config: EditConfig
) -> None:
    journal = Journal()
    state = _evaluate(config, journal)
    assert state.order == ("ETHUSDT", "BTCUSDT", *TIER1[1:], "XRPUSDT", "SOLUSDT")
    assert (state.done, state.next_symbol, state.phase) == (("ETHUSDT",), "BTCUSDT", "2.1")
    assert ("trades_below_min", "ETHUSDT") in [(b.code, b.symbol) for b in state.next_blockers]

    signals = _stable_eth(journal)
    state = _evaluate(config, journal, signals)
    assert state.phases["2.1"].met
    assert state.next_symbol == "BTCUSDT" and state.next_blockers == ()

    _enable(edit_config, "BTCUSDT")
    state = _evaluate(load_config(config.config_dir), journal, signals)
    assert state.next_symbol == "MATICUSDT"
    assert {b.symbol for b in state.next_blockers} == {"BTCUSDT"}
    assert "trades_below_min" in _codes(state.next_blockers)


def test_enabling_out_of_order_is_blocked_by_the_previous_asset(config: ChloeConfig) -> None:
    journal = Journal()
    state = _evaluate(config, journal, _stable_eth(journal))
    blockers = enable_blockers(config, state, "AVAXUSDT")
    assert (blockers[0].code, blockers[0].symbol) == ("previous_not_enabled", "MATICUSDT")


def test_tier3_assets_are_never_next_and_always_refused(config: ChloeConfig) -> None:
    state = _evaluate(config, Journal())
    for symbol in ("BNBUSDT", "DOTUSDT", "ADAUSDT", "LINKUSDT", "ATOMUSDT"):
        assert _codes(enable_blockers(config, state, symbol)) == ["tier3_research_only"]
        assert _codes(state.assets[symbol].failing) == ["research_only"]
        assert symbol not in state.order


def test_phase_2_2_needs_20_trades_per_tier1_asset_and_stable_portfolio_risk(
    config: ChloeConfig, edit_config: EditConfig
) -> None:
    _enable(edit_config, *TIER1)
    config = load_config(config.config_dir)
    journal = Journal()
    signals = []
    for symbol, kw in PROFILE_TRADES.items():
        journal.trades(symbol, [10.0, 10.0, -5.0] * 7, every_ms=6 * HOUR_MS, **kw)
        signals += uniform_signals(symbol, regime=kw.get("regime", "high_vol"))
    state = _evaluate(config, journal, signals)
    assert state.next_symbol == "XRPUSDT" and state.phase == "2.2"
    assert state.phases["2.2"].met, [b.text() for b in state.phases["2.2"].failing]

    risky = [Blocker("portfolio_risk_high", None, 0.8, 0.66)]
    state = _evaluate(config, journal, signals, portfolio=risky)
    assert _codes(state.next_blockers) == ["portfolio_risk_high"]
    unknown = _evaluate(config, journal, signals, portfolio=None)
    assert _codes(unknown.phases["2.2"].failing) == ["portfolio_risk_unknown"]

    short = Journal()
    short.trades("ETHUSDT", [10.0, 10.0, -5.0] * 7)
    for symbol in TIER1:
        short.trades(symbol, [10.0, -5.0] * 6)
    failing = _evaluate(config, short, signals).phases["2.2"].failing
    assert _codes(failing) == ["tier1_trades_below_min"] * 4
    assert [b.value for b in failing] == [12] * 4


def test_every_asset_enabled_with_every_gate_met_completes_the_rollout(
    config: ChloeConfig, edit_config: EditConfig
) -> None:
    _enable(edit_config, *TIER1, "XRPUSDT", "SOLUSDT")
    config = load_config(config.config_dir)
    journal = Journal()
    signals = []
    cells = {**PROFILE_TRADES, "XRPUSDT": {"bucket": 2, "mode": "observation"}}
    for symbol, kw in cells.items():
        journal.trades(symbol, [10.0, 10.0, -5.0] * 7, every_ms=6 * HOUR_MS, **kw)
        signals += uniform_signals(symbol, regime=kw.get("regime", "high_vol"))
    state = _evaluate(config, journal, signals)
    assert state.next_symbol is None and len(state.done) == 7
    assert state.ahead == {}
    assert state.phase == "complete"


def test_a_config_enabling_assets_ahead_of_their_gates_is_not_complete(
    config: ChloeConfig, edit_config: EditConfig
) -> None:
    _enable(edit_config, *TIER1, "XRPUSDT", "SOLUSDT")
    state = _evaluate(load_config(config.config_dir), Journal())
    assert state.next_symbol is None and len(state.done) == 7
    assert state.phase == "config_ahead_of_gates"
    assert list(state.ahead) == list(state.order[1:])
    assert ("trades_below_min", "ETHUSDT") in [(b.code, b.symbol) for b in state.ahead["BTCUSDT"]]
    assert not state.phases["2.1"].met


def test_blockers_say_what_fails_with_the_numbers() -> None:
    blocker = Blocker("pf_below_min", "ETHUSDT", 0.4843, 0.9)
    assert blocker.text() == "ETHUSDT pf_below_min: PF 0.48, needs > 0.90 (or no losses and a win)"
    assert blocker.as_dict()["code"] == "pf_below_min"


def _matic_research() -> dict[str, int]:
    """Research's MATIC: in high_vol, buckets 8 and 9 hold 34% of the signals (17% each)."""
    cells = uniform_cells()
    for bucket in range(8):
        cells[f"high_vol|{bucket}"] = 825
    cells["high_vol|8"] = cells["high_vol|9"] = 1700
    return cells


def _matic_like(config: ChloeConfig, edit_config: EditConfig) -> tuple[ChloeConfig, Journal]:
    _enable(edit_config, "BTCUSDT", "MATICUSDT")
    journal = Journal()
    journal.trades("MATICUSDT", [10.0, 10.0, -5.0] * 4, bucket=9)
    return load_config(config.config_dir), journal


def test_the_expected_bucket_shares_come_from_research_not_a_uniform_guess(
    config: ChloeConfig, edit_config: EditConfig
) -> None:
    config, journal = _matic_like(config, edit_config)
    # 300 high_vol signals, 34% in buckets 8-9: the audit's MATIC, blocked against a uniform 20%.
    buckets = [i % 8 for i in range(198)] + [8] * 51 + [9] * 51
    signals = [signal("MATICUSDT", T0 + i * HOUR_MS, bucket=b) for i, b in enumerate(buckets)]
    matic = {"MATICUSDT": research_of(_matic_research())}
    gate = _evaluate(config, journal, signals, research=matic).assets["MATICUSDT"]
    assert gate.distribution is not None and gate.distribution.matches, gate.failing
    assert gate.distribution.expected_shares == pytest.approx([0.0825] * 8 + [0.17] * 2)
    assert gate.distribution.test is not None and gate.distribution.test.p_value > 0.5
    assert "distribution" not in " ".join(_codes(gate.failing))

    uniform = {"MATICUSDT": research_of(uniform_cells())}
    gate = _evaluate(config, journal, signals, research=uniform).assets["MATICUSDT"]
    assert gate.distribution is not None
    assert gate.distribution.failing == ("bucket_distribution_off",)
    # Against 30 expected per bucket: 8 buckets hold 24 or 25, two hold 51.
    obs = [25] * 6 + [24] * 2 + [51, 51]
    assert list(gate.distribution.observed) == obs
    assert gate.distribution.test is not None
    assert gate.distribution.test.statistic == pytest.approx(sum((o - 30) ** 2 / 30 for o in obs))


def test_no_research_for_an_asset_makes_its_distribution_unknown_not_uniform(
    config: ChloeConfig, edit_config: EditConfig
) -> None:
    config, journal = _matic_like(config, edit_config)
    signals = uniform_signals("MATICUSDT")
    gate = _evaluate(config, journal, signals, research={}).assets["MATICUSDT"]
    assert _codes(gate.failing) == ["distribution_unknown"]
    assert gate.distribution is not None and not gate.distribution.matches
    assert gate.distribution.expected_shares is None and gate.distribution.test is None
    assert "no research for this asset" in gate.failing[0].text()

    other_model = research_of(uniform_cells())
    assert other_model.model is not None
    params = {**other_model.model["params"], "channel_bars": 48}
    other_model = ResearchDistribution("r.json", {"name": "breakout", "params": params}, {})
    gate = _evaluate(config, journal, signals, research={"MATICUSDT": other_model})
    failing = gate.assets["MATICUSDT"].failing
    assert _codes(failing) == ["distribution_unknown"]
    assert "research of 'breakout' (channel_bars=48)" in failing[0].detail
    assert "the profile runs 'breakout' (run chloe research again)" in failing[0].detail
