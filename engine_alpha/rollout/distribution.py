"""Does an asset's observed regime/bucket distribution match its research profile? (docs/rollout.md)

Three checks over its signals and taken trades, each with a stable code when it fails:
`too_few_signals`, `focus_regime_rare`, `bucket_share_off`, `off_profile_trades`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine_alpha.config.models import AssetProfile, ObservationSettings
from engine_alpha.rollout.history import TakenTrade
from engine_alpha.strategy.filters import FilterRules, refusal

__all__ = ["DistributionCheck", "DistributionRule", "check_distribution"]

BUCKETS = range(10)


@dataclass(frozen=True, slots=True)
class DistributionRule:
    """The thresholds of the test; docs/rollout.md explains each one."""

    min_focus_signals: int = 10
    min_focus_share: float = 0.10
    bucket_tolerance: float = 0.10
    bucket_sigmas: float = 3.0


@dataclass(frozen=True, slots=True)
class DistributionCheck:
    """The observed figures beside the expected ones, and the failing codes (empty = match)."""

    signals: int
    focus_signals: int
    focus_share: float | None
    bucket_share: float | None
    expected_bucket_share: float
    tolerance: float | None
    off_profile_trades: int
    failing: tuple[str, ...]

    @property
    def matches(self) -> bool:
        """True when every check passes."""
        return not self.failing

    def as_dict(self) -> dict[str, Any]:
        """JSON form for status and the report."""
        return {
            "matches": self.matches,
            "signals": self.signals,
            "focus_signals": self.focus_signals,
            "focus_share": self.focus_share,
            "bucket_share": self.bucket_share,
            "expected_bucket_share": self.expected_bucket_share,
            "tolerance": self.tolerance,
            "off_profile_trades": self.off_profile_trades,
            "failing": list(self.failing),
        }


def _allowed_buckets(rules: FilterRules) -> frozenset[int]:
    base = rules.preferred_buckets or frozenset(BUCKETS)
    return frozenset(b for b in base if b not in rules.avoid_buckets)


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


def check_distribution(
    profile: AssetProfile,
    mode: str,
    *,
    observation: ObservationSettings,
    signals: Sequence[Mapping[str, Any]],
    taken: Sequence[TakenTrade],
    rule: DistributionRule | None = None,
) -> DistributionCheck:
    """Compare one asset's signals and taken trades with its profile in `mode`."""
    rule = rule or DistributionRule()
    rules = FilterRules.from_profile(profile, mode, observation)
    allowed = _allowed_buckets(rules)
    expected = len(allowed) / 10.0
    regimes = _focus_regimes(profile)
    focus = [s for s in signals if s.get("regime") in regimes]
    failing: list[str] = []
    focus_share = len(focus) / len(signals) if signals else None
    bucket_share: float | None = None
    tolerance: float | None = None
    if len(focus) < rule.min_focus_signals:
        failing.append("too_few_signals")
    else:
        in_allowed = sum(1 for s in focus if s.get("bucket") in allowed)
        bucket_share = in_allowed / len(focus)
        sigma = math.sqrt(expected * (1.0 - expected) / len(focus))
        tolerance = max(rule.bucket_tolerance, rule.bucket_sigmas * sigma)
        if focus_share is not None and focus_share < rule.min_focus_share:
            failing.append("focus_regime_rare")
        if abs(bucket_share - expected) > tolerance:
            failing.append("bucket_share_off")
    off = _off_profile(taken, profile, observation)
    if off:
        failing.append("off_profile_trades")
    return DistributionCheck(
        signals=len(signals),
        focus_signals=len(focus),
        focus_share=focus_share,
        bucket_share=bucket_share,
        expected_bucket_share=expected,
        tolerance=tolerance,
        off_profile_trades=off,
        failing=tuple(failing),
    )
