"""The Phase 2 rollout gates (SPEC §5): per-asset stability, phase prerequisites, the next asset.

Pure functions of the config, the journal's history, the signal records, the recorded error
events and the risk engine's portfolio verdict. docs/rollout.md defines every criterion and code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.core.units import DAY_MS
from engine_alpha.ledger.metrics import TradeStats, passes_pf_gate
from engine_alpha.ops.blockers import Blocker, dedupe
from engine_alpha.ops.distribution import DistributionCheck, check_distribution
from engine_alpha.ops.events import errors_by_symbol
from engine_alpha.ops.history import LedgerHistory
from engine_alpha.ops.reports_reader import ResearchDistribution
from engine_alpha.ops.signal_digest import AssetSignals, SignalDigest

__all__ = [
    "PHASE_AHEAD",
    "PHASE_COMPLETE",
    "AssetGate",
    "PhaseState",
    "RolloutState",
    "asset_phase",
    "enable_blockers",
    "evaluate_rollout",
]

PHASE_BENCHMARK = "2.0"
PHASE_2_1 = "2.1"
PHASE_2_2 = "2.2"
PHASE_COMPLETE = "complete"
PHASE_AHEAD = "config_ahead_of_gates"


@dataclass(frozen=True, slots=True)
class AssetGate:
    """One asset's figures and its stability verdict with the failing criteria."""

    symbol: str
    tier: int
    phase: str | None
    enabled: bool
    mode: str | None
    stats: TradeStats
    open_exposure_usd: float
    days_monitored: float
    critical_errors: int
    distribution: DistributionCheck | None
    failing: tuple[Blocker, ...]

    @property
    def stable(self) -> bool:
        """SPEC §5 stable: every criterion passes (a tier-3 asset never is)."""
        return not self.failing


@dataclass(frozen=True, slots=True)
class PhaseState:
    """A phase prerequisite: met, or the criteria that fail."""

    name: str
    failing: tuple[Blocker, ...]

    @property
    def met(self) -> bool:
        """True when nothing fails."""
        return not self.failing


@dataclass(frozen=True, slots=True)
class RolloutState:
    """Every asset's gate, both phase prerequisites and the next asset to enable.

    `ahead`: the enabled assets whose own enable gate is not met (the config is ahead of the
    gates), with what fails, in activation order.
    """

    assets: dict[str, AssetGate]
    phases: dict[str, PhaseState]
    order: tuple[str, ...]
    done: tuple[str, ...]
    next_symbol: str | None
    next_blockers: tuple[Blocker, ...] = field(default=())
    ahead: dict[str, tuple[Blocker, ...]] = field(default_factory=dict)

    @property
    def phase(self) -> str:
        """The phase the rollout is in: that of the next asset; with every asset enabled,
        `complete` when each one's gate is met, else `config_ahead_of_gates`."""
        if self.next_symbol is None:
            return PHASE_AHEAD if self.ahead else PHASE_COMPLETE
        return self.assets[self.next_symbol].phase or PHASE_BENCHMARK


def asset_phase(config: ChloeConfig, symbol: str) -> str | None:
    """2.0 for the benchmark (first in order), 2.1 for tier 1, 2.2 for tier 2, None for tier 3."""
    order = config.paper.activation_order
    if order and symbol == order[0]:
        return PHASE_BENCHMARK
    tier = config.profiler.assets[symbol].tier
    return {1: PHASE_2_1, 2: PHASE_2_2}.get(tier)


def _days(first: int | None, last: int | None) -> float:
    return 0.0 if first is None or last is None else (last - first) / DAY_MS


def _monitored_days(history: LedgerHistory, symbol: str, signals: AssetSignals) -> float:
    asset = history.asset(symbol)
    active = signals.active_span()
    stamps = [] if active is None else list(active)
    stamps += [t for t in (asset.first_ts, asset.last_ts) if t is not None]
    return _days(min(stamps), max(stamps)) if stamps else 0.0


def _core_blockers(
    config: ChloeConfig, symbol: str, stats: TradeStats, min_trades: int, code: str
) -> list[Blocker]:
    """Trades, PF and drawdown: the part shared by stability and the phase prerequisites."""
    crit = config.paper.activation_criteria
    max_dd_pct = crit.max_drawdown_threshold * 100.0
    out = []
    if stats.trades < min_trades:
        out.append(Blocker(code, symbol, stats.trades, min_trades))
    if not passes_pf_gate(stats, crit.min_pf_for_activation):
        counts = f"{stats.wins} wins, {stats.losses} losses"
        out.append(Blocker("pf_below_min", symbol, stats.pf, crit.min_pf_for_activation, counts))
    if not stats.max_drawdown_pct < max_dd_pct:
        out.append(Blocker("drawdown_above_max", symbol, stats.max_drawdown_pct, max_dd_pct))
    return out


def _asset_gate(
    config: ChloeConfig,
    symbol: str,
    history: LedgerHistory,
    signals: AssetSignals,
    *,
    errors: int,
    research: ResearchDistribution | None,
) -> AssetGate:
    profile = config.profiler.assets[symbol]
    crit = config.paper.activation_criteria
    enabled_asset = config.paper.enabled_assets.get(symbol)
    asset = history.asset(symbol)
    stats = asset.stats(config.asset_equity_usd(symbol))
    days = _monitored_days(history, symbol, signals)
    distribution = None
    failing: list[Blocker] = []
    if profile.tier == 3 or enabled_asset is None:
        failing.append(Blocker("research_only", symbol))
    else:
        distribution = check_distribution(
            profile,
            observation=config.paper.observation,
            signals=signals,
            taken=asset.taken,
            research=research,
        )
        failing += _core_blockers(
            config, symbol, stats, crit.min_trades_for_stability, "trades_below_min"
        )
        if errors:
            failing.append(Blocker("critical_errors", symbol, errors, 0))
        if distribution.unknown is not None:
            failing.append(Blocker("distribution_unknown", symbol, detail=distribution.unknown))
        if distribution.failing:
            detail = distribution.describe_failing()
            failing.append(Blocker("distribution_mismatch", symbol, detail=detail))
        min_days = crit.min_observation_period_days
        if days < min_days and stats.trades < crit.min_trades_for_stability:
            failing.append(Blocker("monitoring_too_short", symbol, round(days, 2), min_days))
    return AssetGate(
        symbol=symbol,
        tier=profile.tier,
        phase=asset_phase(config, symbol),
        enabled=bool(enabled_asset and enabled_asset.enabled),
        mode=enabled_asset.mode if enabled_asset is not None else None,
        stats=stats,
        open_exposure_usd=asset.open_notional_usd,
        days_monitored=days,
        critical_errors=errors,
        distribution=distribution,
        failing=tuple(failing),
    )


def _phase_2_1(config: ChloeConfig, gates: Mapping[str, AssetGate]) -> PhaseState:
    order = config.paper.activation_order
    if not order:
        return PhaseState(PHASE_2_1, ())
    bench = order[0]
    crit = config.paper.activation_criteria
    failing = _core_blockers(
        config, bench, gates[bench].stats, crit.min_trades_for_stability, "trades_below_min"
    )
    return PhaseState(PHASE_2_1, tuple(failing))


def _phase_2_2(
    config: ChloeConfig,
    gates: Mapping[str, AssetGate],
    portfolio_blockers: Sequence[Blocker] | None,
) -> PhaseState:
    crit = config.paper.activation_criteria
    failing: list[Blocker] = []
    for symbol in config.paper.activation_order:
        if config.profiler.assets[symbol].tier != 1:
            continue
        stats = gates[symbol].stats
        if stats.trades < crit.phase_2_2_min_trades_per_tier1:
            failing.append(
                Blocker(
                    "tier1_trades_below_min",
                    symbol,
                    stats.trades,
                    crit.phase_2_2_min_trades_per_tier1,
                )
            )
        if not passes_pf_gate(stats, crit.min_pf_for_activation):
            counts = f"{stats.wins} wins, {stats.losses} losses"
            failing.append(
                Blocker("pf_below_min", symbol, stats.pf, crit.min_pf_for_activation, counts)
            )
    if portfolio_blockers is None:
        failing.append(Blocker("portfolio_risk_unknown"))
    else:
        failing += portfolio_blockers
    return PhaseState(PHASE_2_2, tuple(failing))


def enable_blockers(config: ChloeConfig, state: RolloutState, symbol: str) -> tuple[Blocker, ...]:
    """Why `symbol` may not be enabled now; empty when its gate is met.

    A tier-3 asset gives `tier3_research_only` (never overridable); otherwise the previous asset
    in activation order must be enabled and stable, and the asset's phase prerequisite met.
    """
    if config.profiler.assets[symbol].tier == 3 or symbol not in state.order:
        return (Blocker("tier3_research_only", symbol),)
    out: list[Blocker] = []
    index = state.order.index(symbol)
    if index > 0:
        previous = state.assets[state.order[index - 1]]
        if not previous.enabled:
            out.append(Blocker("previous_not_enabled", previous.symbol))
        out += previous.failing
    phase = state.assets[symbol].phase
    if phase in state.phases:
        out += state.phases[phase].failing
    return dedupe(out)


def evaluate_rollout(
    config: ChloeConfig,
    history: LedgerHistory,
    signals: SignalDigest,
    events: Sequence[Mapping[str, Any]],
    portfolio_blockers: Sequence[Blocker] | None,
    *,
    research: Mapping[str, ResearchDistribution],
) -> RolloutState:
    """Every asset's gate, the phase prerequisites and the next asset to enable.

    `research`: each asset's researched signal distribution (none: its expectation is unknown).
    """
    errors = errors_by_symbol(events)
    gates = {
        s: _asset_gate(
            config,
            s,
            history,
            signals.asset(s),
            errors=errors.get(s, 0),
            research=research.get(s),
        )
        for s in config.run_order()
    }
    phases = {
        PHASE_2_1: _phase_2_1(config, gates),
        PHASE_2_2: _phase_2_2(config, gates, portfolio_blockers),
    }
    order = tuple(config.paper.activation_order)
    done = tuple(s for s in order if gates[s].enabled)
    next_symbol = next((s for s in order if not gates[s].enabled), None)
    state = RolloutState(gates, phases, order, done, next_symbol)
    ahead = {s: b for s in done if (b := enable_blockers(config, state, s))}
    blockers = () if next_symbol is None else enable_blockers(config, state, next_symbol)
    return RolloutState(gates, phases, order, done, next_symbol, blockers, ahead)
