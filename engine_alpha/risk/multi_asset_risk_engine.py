"""The portfolio risk engine (SPEC §6): risk scores, weighted edge, trade rates, vol multipliers.

Pure functions of the config, the journal's history, the signal log, the recorded error events,
bars per asset (run through the signal model its profile names) and the research counts of that
model (`ops.reports_reader` reads them). docs/risk.md defines every figure. The limit itself is
enforced at sizing (`execution/sizing.py`, refusal `exposure_cap`).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.config.models import TIER1_MIN_EDGE_BPS
from engine_alpha.core.units import DAY_MS, HOUR_MS
from engine_alpha.execution.sizing import asset_caps
from engine_alpha.ledger.metrics import summarize
from engine_alpha.market.bars import Bar
from engine_alpha.ops.blockers import Blocker
from engine_alpha.ops.events import errors_by_symbol
from engine_alpha.ops.history import LedgerHistory
from engine_alpha.ops.reports_reader import ResearchCounts
from engine_alpha.ops.signal_digest import AssetSignals, SignalDigest
from engine_alpha.signals.breakout import BreakoutModel
from engine_alpha.signals.catalog import ChosenModel, ModelFactory, chosen
from engine_alpha.strategy.filters import FilterRules, refusal
from engine_alpha.strategy.task import StrategyTask
from engine_alpha.strategy.volatility import MIN_VOL_MULTIPLIER

__all__ = [
    "AssetRisk",
    "PortfolioRisk",
    "RiskParams",
    "RiskReport",
    "Volatility",
    "VolatilityMemo",
    "assess_risk",
    "research_trades_per_day",
    "sizing_volatility",
]


@dataclass(frozen=True, slots=True)
class RiskParams:
    """Windows, weights and thresholds of the score; docs/risk.md explains each."""

    stale_vol_hours: float = 720.0  # bars older than this before `as_of`: volatility unknown
    edge_ref_bps: float = 2.0 * TIER1_MIN_EDGE_BPS
    weight_exposure: float = 0.25
    weight_volatility: float = 0.25
    weight_drawdown: float = 0.25
    weight_edge: float = 0.25
    medium_score: float = 0.33
    high_score: float = 0.66
    unknown_vol_component: float = 0.5


@dataclass(frozen=True, slots=True)
class Volatility:
    """The volatility that sizes orders: ATR% of the last bar, its EWMA-500 baseline, and the
    multiplier an order placed now gets (the strategy task's own figures, docs/strategy.md).
    """

    recent_pct: float | None  # ATR(14) / close of the last bar, in %
    baseline_pct: float | None  # EWMA (span 500 bars) of that ATR%, in %
    multiplier: float
    bars: int
    last_bar_ts: int | None


@dataclass(frozen=True, slots=True)
class AssetRisk:
    """One tradeable asset's risk figures."""

    symbol: str
    tier: int
    enabled: bool
    mode: str
    edge_bps: float
    per_trade_cap_usd: float
    daily_cap_usd: float
    open_exposure_usd: float
    max_drawdown_pct: float
    volatility: Volatility
    applies_vol_multiplier: bool
    expected_trades_per_day: float | None
    expected_trades_source: str
    components: dict[str, float]
    risk_score: float
    risk_level: str


@dataclass(frozen=True, slots=True)
class PortfolioRisk:
    """Portfolio figures over the enabled assets, and why its risk is not stable (if it is not)."""

    enabled_assets: list[str]
    weighted_edge_bps: float | None
    expected_trades_per_day: float
    open_exposure_usd: float
    max_portfolio_exposure_usd: float
    exposure_used_pct: float
    max_drawdown_pct: float
    critical_errors: int
    components: dict[str, float]
    risk_score: float
    risk_level: str
    blockers: tuple[Blocker, ...]

    @property
    def stable(self) -> bool:
        """True when no portfolio criterion fails."""
        return not self.blockers


@dataclass(frozen=True, slots=True)
class RiskReport:
    """What `chloe risk` shows."""

    as_of_bar_ts: int | None
    assets: dict[str, AssetRisk]
    portfolio: PortfolioRisk

    def as_dict(self) -> dict[str, Any]:
        """JSON form (units in every key)."""
        portfolio = asdict(self.portfolio)
        portfolio["blockers"] = [b.as_dict() for b in self.portfolio.blockers]
        portfolio["stable"] = self.portfolio.stable
        return {
            "as_of_bar_ts": self.as_of_bar_ts,
            "portfolio": portfolio,
            "assets": {s: asdict(a) for s, a in self.assets.items()},
        }


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


def sizing_volatility(bars: Sequence[Bar], new_model: ModelFactory = BreakoutModel) -> Volatility:
    """ATR% now, its EWMA-500 baseline and the volatility multiplier, as sizing computes them.

    The bars go through a `StrategyTask`, the object that sizes in the daemon, so the figure
    shown is the one an order placed after the last bar would be sized with; before the ATR
    has a value the figures are None and the multiplier 1.
    """
    if not bars:
        return Volatility(None, None, 1.0, 0, None)
    task = StrategyTask(symbol=bars[0].symbol, rules=None, new_model=new_model)
    task.decide(list(bars))
    return _task_volatility(task, len(bars))


def _task_volatility(task: StrategyTask, bars: int) -> Volatility:
    """The sizing volatility of a task that has been fed `bars` bars."""
    now, base, multiplier = task.sizing_volatility()
    if now <= 0.0:
        return Volatility(None, None, 1.0, bars, None)
    return Volatility(now * 100.0, base * 100.0, multiplier, bars, None)


@dataclass(slots=True)
class _Fed:
    model: tuple[str, Any]
    task: StrategyTask
    bars: list[tuple[int, float, float, float, float, float]]


def _values(bars: Sequence[Bar]) -> list[tuple[int, float, float, float, float, float]]:
    return [(b.ts_ms, b.open, b.high, b.low, b.close, b.volume) for b in bars]


class VolatilityMemo:
    """`sizing_volatility` for a reader that asks again as the bars grow (the web view).

    Each asset's strategy task is kept with the values of the bars it was fed; bars that begin
    with those (compared by value) only feed the task the rest, as the daemon feeds its own
    chunk by chunk. Other bars, or another model, start a new task: the figures are always
    those of `sizing_volatility` over the bars asked about.
    """

    __slots__ = ("_fed",)

    def __init__(self) -> None:
        self._fed: dict[str, _Fed] = {}

    def volatility(self, bars: Sequence[Bar], model: ChosenModel) -> Volatility:
        if not bars:
            return sizing_volatility(bars, model.factory)
        symbol, key = bars[0].symbol, (model.name, model.identity)
        fed = self._fed.get(symbol)
        n = 0 if fed is None else len(fed.bars)
        if fed is None or fed.model != key or n > len(bars) or fed.bars != _values(bars[:n]):
            task = StrategyTask(symbol=symbol, rules=None, new_model=model.factory)
            fed = self._fed[symbol] = _Fed(key, task, [])
            n = 0
        if n < len(bars):
            rest = list(bars[n:])
            fed.task.decide(rest)
            fed.bars += _values(rest)
        return _task_volatility(fed.task, len(bars))


def research_trades_per_day(
    bars: Sequence[Bar],
    rules: FilterRules,
    timeframe_ms: int,
    new_model: ModelFactory = BreakoutModel,
) -> float | None:
    """Signals per day that pass `rules`, from the asset's signal model run over `bars`."""
    model = new_model()
    passed = 0
    first: int | None = None
    for bar in bars:
        decision = model.update(bar)
        if decision.regime is None:
            continue
        first = bar.ts_ms if first is None else first
        if (
            decision.direction is not None
            and refusal(
                rules, decision.regime, decision.direction, decision.confidence, decision.bucket
            )
            is None
        ):
            passed += 1
    if first is None:
        return None
    days = (bars[-1].ts_ms - first + timeframe_ms) / DAY_MS
    return passed / days


def _signal_trades_per_day(
    signals: AssetSignals, rules: FilterRules, timeframe_ms: int
) -> float | None:
    span = signals.span()
    if span is None:
        return None
    first, last = span
    days = (last - first + timeframe_ms) / DAY_MS
    return signals.passed(rules) / days


def _research_trades_per_day(
    counts: ResearchCounts, rules: FilterRules, timeframe_ms: int
) -> float | None:
    """Signals per day in the cells `rules` keep (a bucket counts when all of it is >= min_conf).

    The directional bias is not in the cells, so for a one-sided asset this is an upper bound.
    """
    if counts.bars <= 0:
        return None
    passed = 0
    for cell, samples in counts.cell_samples.items():
        regime, _, bucket = cell.partition("|")
        if not bucket.isdigit() or int(bucket) / 10 < rules.min_conf:
            continue
        if refusal(rules, regime, rules.direction or "long", 1.0, int(bucket)) is None:
            passed += samples
    return passed / (counts.bars * timeframe_ms / DAY_MS)


def _score(components: Mapping[str, float], params: RiskParams) -> tuple[float, str]:
    score = (
        params.weight_exposure * components["exposure"]
        + params.weight_volatility * components["volatility"]
        + params.weight_drawdown * components["drawdown"]
        + params.weight_edge * components["edge"]
    )
    level = (
        "high"
        if score >= params.high_score
        else "medium"
        if score >= params.medium_score
        else "low"
    )
    return score, level


def _vol_component(vol: Volatility, params: RiskParams) -> float:
    if vol.recent_pct is None:
        return params.unknown_vol_component
    return _clip01((1.0 - vol.multiplier) / (1.0 - MIN_VOL_MULTIPLIER))


def _edge_component(edge_bps: float | None, params: RiskParams) -> float:
    return 0.0 if edge_bps is None else _clip01(1.0 - edge_bps / params.edge_ref_bps)


def _bars_until(bars: Sequence[Bar], as_of: int | None) -> Sequence[Bar]:
    if as_of is None:
        return bars
    return bars[: bisect_right([b.ts_ms for b in bars], as_of)]


def _volatility(
    config: ChloeConfig,
    bars: Sequence[Bar],
    as_of: int | None,
    params: RiskParams,
    model: ChosenModel,
    *,
    memo: VolatilityMemo | None,
) -> Volatility:
    """Sizing volatility of `bars`, or unknown when they end a stale window before `as_of`."""
    tf = config.timeframe_ms
    stale_after = max(2, round(params.stale_vol_hours * HOUR_MS / tf))
    if not bars or (as_of is not None and as_of - bars[-1].ts_ms > stale_after * tf):
        return Volatility(None, None, 1.0, len(bars), bars[-1].ts_ms if bars else None)
    vol = sizing_volatility(bars, model.factory) if memo is None else memo.volatility(bars, model)
    return Volatility(vol.recent_pct, vol.baseline_pct, vol.multiplier, vol.bars, bars[-1].ts_ms)


def _expected_trades(
    config: ChloeConfig,
    rules: FilterRules,
    *,
    signals: AssetSignals,
    research: ResearchCounts | None,
    bars: Sequence[Bar],
    model: ChosenModel,
) -> tuple[float | None, str]:
    """Trades per day and where the figure came from: signals, research of the asset's model,
    its model run over the bars, or none."""
    tf = config.timeframe_ms
    per_day = _signal_trades_per_day(signals, rules, tf)
    if per_day is not None:
        return per_day, "signals"
    if research is not None and research.model == model.identity:
        per_day = _research_trades_per_day(research, rules, tf)
        if per_day is not None:
            return per_day, "research"
    if bars:
        per_day = research_trades_per_day(bars, rules, tf, model.factory)
        if per_day is not None:
            return per_day, "bars"
    return None, "none"


def _asset_risk(
    config: ChloeConfig,
    symbol: str,
    *,
    history: LedgerHistory,
    signals: AssetSignals,
    bars: Sequence[Bar],
    research: ResearchCounts | None,
    as_of: int | None,
    params: RiskParams,
    memo: VolatilityMemo | None,
) -> AssetRisk:
    paper = config.paper
    profile = config.profiler.assets[symbol]
    entry = paper.enabled_assets[symbol]
    caps = asset_caps(config, symbol)
    rules = FilterRules.from_profile(profile, entry.mode, paper.observation)
    stats = history.asset(symbol).stats(config.asset_equity_usd(symbol))
    open_usd = history.asset(symbol).open_notional_usd
    bars = _bars_until(bars, as_of)
    model = chosen(profile.signal_model)
    vol = _volatility(config, bars, as_of, params, model, memo=memo)
    per_day, source = _expected_trades(
        config, rules, signals=signals, research=research, bars=bars, model=model
    )
    components = {
        "exposure": _clip01(open_usd / paper.position_limits.max_portfolio_exposure_usd),
        "volatility": _vol_component(vol, params),
        "drawdown": _clip01(
            stats.max_drawdown_pct / (paper.activation_criteria.max_drawdown_threshold * 100.0)
        ),
        "edge": _edge_component(profile.edge_bps, params),
    }
    score, level = _score(components, params)
    return AssetRisk(
        symbol=symbol,
        tier=profile.tier,
        enabled=entry.enabled,
        mode=entry.mode,
        edge_bps=profile.edge_bps,
        per_trade_cap_usd=caps.per_trade_usd,
        daily_cap_usd=caps.daily_usd,
        open_exposure_usd=open_usd,
        max_drawdown_pct=stats.max_drawdown_pct,
        volatility=vol,
        applies_vol_multiplier=caps.volatility_multiplier,
        expected_trades_per_day=per_day,
        expected_trades_source=source,
        components=components,
        risk_score=score,
        risk_level=level,
    )


def _portfolio(
    config: ChloeConfig,
    assets: Mapping[str, AssetRisk],
    history: LedgerHistory,
    portfolio_errors: int,
    params: RiskParams,
) -> PortfolioRisk:
    paper = config.paper
    limit = paper.position_limits.max_portfolio_exposure_usd
    enabled = [assets[s] for s in config.trading_symbols() if s in assets]
    cap_sum = math.fsum(a.per_trade_cap_usd for a in enabled)
    weighted = (
        math.fsum(a.per_trade_cap_usd * a.edge_bps for a in enabled) / cap_sum if cap_sum else None
    )
    vol = (
        math.fsum(a.per_trade_cap_usd * a.components["volatility"] for a in enabled) / cap_sum
        if cap_sum
        else 0.0
    )
    open_usd = history.open_exposure_usd()
    stats = summarize(history.portfolio_pnls, paper.position_limits.starting_equity_usd)
    max_dd_pct = paper.activation_criteria.max_drawdown_threshold * 100.0
    components = {
        "exposure": _clip01(open_usd / limit),
        "volatility": vol,
        "drawdown": _clip01(stats.max_drawdown_pct / max_dd_pct),
        "edge": _edge_component(weighted, params),
    }
    score, level = _score(components, params)
    blockers: list[Blocker] = []
    if not stats.max_drawdown_pct < max_dd_pct:
        blockers.append(
            Blocker("portfolio_drawdown_above_max", None, stats.max_drawdown_pct, max_dd_pct)
        )
    if open_usd > limit:
        blockers.append(Blocker("exposure_over_limit", None, open_usd, limit))
    if score >= params.high_score:
        blockers.append(Blocker("portfolio_risk_high", None, score, params.high_score))
    if portfolio_errors:
        blockers.append(Blocker("portfolio_critical_errors", None, portfolio_errors, 0))
    return PortfolioRisk(
        enabled_assets=[a.symbol for a in enabled],
        weighted_edge_bps=weighted,
        expected_trades_per_day=math.fsum(a.expected_trades_per_day or 0.0 for a in enabled),
        open_exposure_usd=open_usd,
        max_portfolio_exposure_usd=limit,
        exposure_used_pct=open_usd / limit * 100.0,
        max_drawdown_pct=stats.max_drawdown_pct,
        critical_errors=portfolio_errors,
        components=components,
        risk_score=score,
        risk_level=level,
        blockers=tuple(blockers),
    )


def assess_risk(
    config: ChloeConfig,
    history: LedgerHistory,
    *,
    signals: SignalDigest,
    events: Sequence[Mapping[str, Any]],
    bars: Mapping[str, Sequence[Bar]],
    as_of_bar_ts: int | None,
    research: Mapping[str, ResearchCounts] | None = None,
    params: RiskParams | None = None,
    memo: VolatilityMemo | None = None,
) -> RiskReport:
    """Risk of every tradeable asset (activation order) and of the enabled portfolio.

    `as_of_bar_ts` is the last bar the daemon acted on: bars after it are not used. `memo`: a
    long-running reader's VolatilityMemo (the same figures, without rerunning the model).
    """
    params = params or RiskParams()
    assets = {
        s: _asset_risk(
            config,
            s,
            history=history,
            signals=signals.asset(s),
            bars=bars.get(s, ()),
            research=(research or {}).get(s),
            as_of=as_of_bar_ts,
            params=params,
            memo=memo,
        )
        for s in config.paper.activation_order
    }
    portfolio_errors = errors_by_symbol(events).get(None, 0)
    portfolio = _portfolio(config, assets, history, portfolio_errors, params)
    return RiskReport(as_of_bar_ts, assets, portfolio)
