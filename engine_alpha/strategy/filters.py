"""The profile filter (SPEC §3): which signals an asset trades, and a stable code for each refusal.

`FilterRules.from_profile` reads an asset's research profile once (tightened in observation mode,
SPEC §5); `refusal` then answers per signal with None (pass) or the first rule that fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from engine_alpha.config.models import AssetProfile, ObservationSettings

__all__ = [
    "MODES",
    "REFUSAL_CODES",
    "REFUSED_BIAS",
    "REFUSED_BUCKET",
    "REFUSED_MIN_CONF",
    "REFUSED_REGIME",
    "FilterRules",
    "cell_refusal",
    "refusal",
]

REFUSED_REGIME: Final = "regime"
REFUSED_BUCKET: Final = "bucket"
REFUSED_MIN_CONF: Final = "min_conf"
REFUSED_BIAS: Final = "bias"
REFUSAL_CODES: Final = (REFUSED_REGIME, REFUSED_BUCKET, REFUSED_MIN_CONF, REFUSED_BIAS)
MODES: Final = ("paper", "observation")

_BIAS_DIRECTION: Final = {"LONG": "long", "SHORT": "short"}


@dataclass(frozen=True, slots=True)
class FilterRules:
    """One asset's filter, ready to apply: sets for membership, the bias as a signal direction."""

    mode: str
    enabled_regimes: frozenset[str]
    preferred_buckets: frozenset[int]
    avoid_buckets: frozenset[int]
    allowed_cells: frozenset[str]
    min_conf: float
    direction: str | None

    @classmethod
    def from_profile(
        cls, profile: AssetProfile, mode: str, observation: ObservationSettings
    ) -> FilterRules:
        """Build the rules of one asset in `paper` or `observation` mode.

        Observation mode keeps only the profile's selective buckets (its preferred buckets, or its
        best bucket when that list is empty). A min_conf the profile sets stands in either mode
        (SPEC §5: XRP's 0.2); one it leaves unset is 0 in paper mode and the observation floor in
        observation mode.
        """
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {MODES}")
        conf = profile.confidence_filters
        preferred = frozenset(conf.preferred_buckets)
        min_conf = 0.0 if conf.min_conf is None else conf.min_conf
        if mode == "observation":
            if not preferred and profile.best_bucket is not None:
                preferred = frozenset((profile.best_bucket,))
            if conf.min_conf is None:
                min_conf = observation.min_conf
        bias = profile.directional_bias
        return cls(
            mode=mode,
            enabled_regimes=frozenset(profile.regime_filters.enabled_regimes),
            preferred_buckets=preferred,
            avoid_buckets=frozenset(conf.avoid_buckets),
            allowed_cells=frozenset(profile.allowed_cells),
            min_conf=min_conf,
            direction=None if bias is None else _BIAS_DIRECTION[bias],
        )


def refusal(
    rules: FilterRules,
    regime: str | None,
    direction: str | None,
    confidence: float | None,
    bucket: int | None,
) -> str | None:
    """None when the signal passes, else the first failing code: regime, bucket, min_conf, bias.

    A missing input cannot be decided and refuses with the code of the rule that needed it.
    """
    cell = cell_refusal(rules, regime, bucket)
    if cell is not None:
        return cell
    if confidence is None or confidence < rules.min_conf:
        return REFUSED_MIN_CONF
    if direction is None or (rules.direction is not None and direction != rules.direction):
        return REFUSED_BIAS
    return None


def cell_refusal(rules: FilterRules, regime: str | None, bucket: int | None) -> str | None:
    """The regime/bucket part of `refusal`, which checks it first: enabled regime and bucket, or
    an allowed cell."""
    if regime is None:
        return REFUSED_REGIME
    if bucket is not None and f"{regime}|{bucket}" in rules.allowed_cells:
        return None
    if regime not in rules.enabled_regimes:
        return REFUSED_REGIME
    preferred = rules.preferred_buckets
    if bucket is None or (preferred and bucket not in preferred) or bucket in rules.avoid_buckets:
        return REFUSED_BUCKET
    return None
