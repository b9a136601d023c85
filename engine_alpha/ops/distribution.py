"""Does an asset's observed regime/bucket distribution match its research? (docs/rollout.md)

Checks over its signals and taken trades, each with a stable code when it fails:
`too_few_signals`, `focus_regime_rare`, `bucket_distribution_off` (a chi-square test of the
focus-regime signals' buckets against research's shares for the asset and model),
`off_profile_trades`. Without research the expectation is `unknown`, never assumed uniform.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine_alpha.config.models import AssetProfile, ObservationSettings, SignalModelChoice
from engine_alpha.ops.chi_square import MIN_EXPECTED, GoodnessOfFit, goodness_of_fit
from engine_alpha.ops.history import TakenTrade
from engine_alpha.ops.reports_reader import ResearchDistribution
from engine_alpha.ops.signal_digest import AssetSignals
from engine_alpha.signals.catalog import json_identity
from engine_alpha.strategy.filters import FilterRules, refusal

__all__ = ["DistributionCheck", "DistributionRule", "check_distribution"]

BUCKETS = range(10)


@dataclass(frozen=True, slots=True)
class DistributionRule:
    """The thresholds of the test; docs/rollout.md explains each one."""

    min_focus_signals: int = 10
    min_focus_share: float = 0.10
    alpha: float = 0.01
    min_expected: float = MIN_EXPECTED


@dataclass(frozen=True, slots=True)
class DistributionCheck:
    """The observed bucket counts beside research's shares, the test, and the failing codes.

    `unknown` says why there are no expected shares (no research for the asset, research of
    another model, no researched signal in the focus regime); the bucket test is then not run.
    """

    signals: int
    focus_signals: int
    focus_share: float | None
    observed: tuple[int, ...]
    expected_shares: tuple[float, ...] | None
    research: str | None
    unknown: str | None
    test: GoodnessOfFit | None
    alpha: float
    off_profile_trades: int
    failing: tuple[str, ...]

    @property
    def matches(self) -> bool:
        """True when the expectation is known and every check passes."""
        return not self.failing and self.unknown is None

    def describe_failing(self) -> str:
        """The failing codes, the bucket test's p-value beside its own."""
        words = []
        for code in self.failing:
            extra = ""
            if code == "bucket_distribution_off" and self.test is not None:
                extra = f" (p {self.test.p_value:.2g} < {self.alpha})"
            words.append(code + extra)
        return ", ".join(words)

    def as_dict(self) -> dict[str, Any]:
        """JSON form for status and the report."""
        test = self.test
        return {
            "matches": self.matches,
            "unknown": self.unknown,
            "research": self.research,
            "signals": self.signals,
            "focus_signals": self.focus_signals,
            "focus_share": self.focus_share,
            "observed_buckets": list(self.observed),
            "expected_shares": None if self.expected_shares is None else list(self.expected_shares),
            "chi_square": None if test is None else test.statistic,
            "df": None if test is None else test.df,
            "p_value": None if test is None else test.p_value,
            "alpha": self.alpha,
            "off_profile_trades": self.off_profile_trades,
            "failing": list(self.failing),
        }


def _focus_regimes(profile: AssetProfile) -> frozenset[str]:
    regimes = frozenset(profile.regime_filters.enabled_regimes)
    if not regimes and profile.regime is not None:
        regimes = frozenset((profile.regime,))
    return regimes


def _off_profile(
    taken: Iterable[TakenTrade], profile: AssetProfile, observation: ObservationSettings
) -> int:
    by_mode: dict[str, FilterRules] = {}
    off = 0
    for trade in taken:
        rules = by_mode.get(trade.mode)
        if rules is None:
            rules = by_mode[trade.mode] = FilterRules.from_profile(profile, trade.mode, observation)
        code = refusal(rules, trade.regime, trade.direction, trade.confidence, trade.bucket)
        off += code is not None
    return off


def _expected_shares(
    research: ResearchDistribution | None, regimes: frozenset[str], model: dict[str, Any]
) -> tuple[tuple[float, ...] | None, str | None]:
    """Research's share of each bucket among its focus-regime signals, or why it is unknown
    (`model`: the identity of the model the asset runs, which the research must be of)."""
    if research is None:
        return None, "no research for this asset (run chloe research)"
    if research.model != model:
        found = "an unknown model" if research.model is None else describe_model(research.model)
        return None, (
            f"{research.source} is research of {found}, but the profile runs "
            f"{describe_model(model)} (run chloe research again)"
        )
    counts = [0] * len(BUCKETS)
    for cell, n in research.cells.items():
        regime, _, bucket = cell.partition("|")
        if regime in regimes and bucket.isdigit() and int(bucket) in BUCKETS:
            counts[int(bucket)] += n
    total = sum(counts)
    if total == 0:
        return None, f"{research.source} has no signal in the focus regime"
    return tuple(c / total for c in counts), None


def describe_model(identity: Mapping[str, Any]) -> str:
    """A model identity in a message: its name, and the parameters that are not the defaults
    (`'breakout' (channel_bars=48)`)."""
    name = str(identity.get("name"))
    try:
        default = json_identity(SignalModelChoice(name=name))["params"]
    except ValueError:
        return f"{name!r} (not installed)"
    params = identity.get("params")
    if not isinstance(params, dict):
        return f"{name!r} (unreadable parameters)"
    changed = [f"{k}={v!r}" for k, v in params.items() if default.get(k) != v]
    changed += [f"{k} absent" for k in default if k not in params]
    return f"{name!r} ({', '.join(changed)})" if changed else repr(name)


def check_distribution(
    profile: AssetProfile,
    *,
    observation: ObservationSettings,
    signals: AssetSignals,
    taken: Sequence[TakenTrade],
    research: ResearchDistribution | None,
    rule: DistributionRule | None = None,
) -> DistributionCheck:
    """Compare one asset's signals with research's distribution, and its trades with its filter."""
    rule = rule or DistributionRule()
    regimes = _focus_regimes(profile)
    focus = 0
    observed = [0] * len(BUCKETS)
    for (regime, bucket), n in signals.cells().items():
        if regime in regimes:
            focus += n
            if bucket is not None and bucket in BUCKETS:
                observed[bucket] += n
    shares, unknown = _expected_shares(research, regimes, json_identity(profile.signal_model))
    failing: list[str] = []
    focus_share = focus / len(signals) if len(signals) else None
    test: GoodnessOfFit | None = None
    if focus < rule.min_focus_signals:
        failing.append("too_few_signals")
    else:
        if focus_share is not None and focus_share < rule.min_focus_share:
            failing.append("focus_regime_rare")
        if shares is not None:
            test = goodness_of_fit(observed, shares, rule.min_expected)
            if test.p_value < rule.alpha:
                failing.append("bucket_distribution_off")
    off = _off_profile(taken, profile, observation)
    if off:
        failing.append("off_profile_trades")
    return DistributionCheck(
        signals=len(signals),
        focus_signals=focus,
        focus_share=focus_share,
        observed=tuple(observed),
        expected_shares=shares,
        research=None if research is None else research.source,
        unknown=unknown,
        test=test,
        alpha=rule.alpha,
        off_profile_trades=off,
        failing=tuple(failing),
    )
