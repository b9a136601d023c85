"""Pydantic models of the two config files; field names are the operator's interface (SPEC §2)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from engine_alpha.config.signal_models import DEFAULT_MODEL, check_params
from engine_alpha.core.units import DAY_MS, HOUR_MS, MINUTE_MS

DEFAULT_MAX_PRICE_JUMP = 10.0  # feed.max_price_jump: a bar beyond 10x / 0.1x of the last close


REGIMES: tuple[str, ...] = ("trend_up", "trend_down", "high_vol", "chop")
TIER1_MIN_EDGE_BPS = 5.0

Regime = Literal["trend_up", "trend_down", "high_vol", "chop"]
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,20}USDT$")]
Bucket = Annotated[int, Field(ge=0, le=9)]
Cell = Annotated[str, StringConstraints(pattern=r"^(trend_up|trend_down|high_vol|chop)\|[0-9]$")]
Mode = Literal["paper", "observation"]
PositiveUsd = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]

_TIMEFRAME = re.compile(r"^([1-9][0-9]*)([mhd])$")
_UNIT_MS = {"m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS}


def timeframe_ms(timeframe: str) -> int:
    """Length of a timeframe such as `1h` or `15m` in milliseconds."""
    match = _TIMEFRAME.match(timeframe)
    if match is None:
        raise ValueError(f"timeframe {timeframe!r} is not like 1m, 15m, 1h, 4h or 1d")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def tier_for_edge(edge_bps: float) -> int:
    """The tier an edge earns: 1 above 5 bps, 2 in (0, 5], 3 at or below 0 (SPEC §1)."""
    if edge_bps > TIER1_MIN_EDGE_BPS:
        return 1
    return 2 if edge_bps > 0 else 3


class _Model(BaseModel):
    """Strict: no string-to-bool or string-to-number coercion, no NaN or infinity, no extras."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, strict=True, allow_inf_nan=False
    )


class _File(_Model):
    schema_ref: str | None = Field(default=None, alias="$schema")


# ---------------------------------------------------------------- strategy profiler


class ConfidenceFilters(_Model):
    """Which confidence buckets an asset trades."""

    min_conf: Fraction | None = None
    """None (or absent): the profile leaves it to the mode (0 in paper, the observation floor)."""
    preferred_buckets: list[Bucket] = Field(default_factory=list)
    avoid_buckets: list[Bucket] = Field(default_factory=list)


class RegimeFilters(_Model):
    """Which regimes an asset trades in."""

    enabled_regimes: list[Regime] = Field(default_factory=list)


class PositionSizing(_Model):
    """How an asset's order notional is scaled from its per-trade cap."""

    base_size_factor: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    confidence_multiplier: bool = False
    volatility_multiplier: bool = False
    max_notional_per_trade_usd: Annotated[float, Field(ge=0.0)] = 0.0


class SignalModelChoice(_Model):
    """Which signal model an asset runs, and its parameters (docs/signal-models.md).

    The name must be an installed model (`chloe models`) and the parameters valid for it;
    parameters left out take the model's defaults.
    """

    name: Annotated[str, StringConstraints(min_length=1)] = DEFAULT_MODEL
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _installed_and_valid(self) -> SignalModelChoice:
        check_params(self.name, self.params)
        return self


class AssetProfile(_Model):
    """One asset's research profile: its tier, edge and the filters that follow from them."""

    tier: Literal[1, 2, 3]
    regime: Regime | None = None
    edge_bps: float
    best_bucket: Bucket | None = None
    best_bucket_edge_bps: float | None = None
    strategy_focus: str = ""
    confidence_filters: ConfidenceFilters = Field(default_factory=ConfidenceFilters)
    regime_filters: RegimeFilters = Field(default_factory=RegimeFilters)
    allowed_cells: list[Cell] = Field(default_factory=list)
    directional_bias: Literal["LONG", "SHORT"] | None = None
    position_sizing: PositionSizing = Field(default_factory=PositionSizing)
    best_selective_cell: Cell | None = None
    best_selective_cell_edge_bps: float | None = None
    signal_model: SignalModelChoice | None = None
    """None (or absent): the breakout model with its defaults."""

    @model_validator(mode="after")
    def _tier_matches_edge(self) -> AssetProfile:
        expected = tier_for_edge(self.edge_bps)
        if expected != self.tier:
            raise ValueError(
                f"tier {self.tier} does not match edge_bps {self.edge_bps} "
                f"(tier 1: edge > 5, tier 2: 0 < edge <= 5, tier 3: edge <= 0; expected {expected})"
            )
        if self.tier == 3 and self.best_selective_cell is None:
            raise ValueError("a tier-3 profile needs best_selective_cell (its best regime|bucket)")
        if self.tier < 3 and self.position_sizing.max_notional_per_trade_usd <= 0:
            raise ValueError(
                "position_sizing.max_notional_per_trade_usd must be > 0 for a tradeable tier"
            )
        return self


class StrategyProfiler(_File):
    """`config/multi_asset_strategy_profiler.json`: the research profile of every asset."""

    version: int = 1
    description: str = ""
    assets: dict[Symbol, AssetProfile]


# ---------------------------------------------------------------- paper config


class EnabledAsset(_Model):
    """One tradeable asset's activation status and caps."""

    enabled: bool
    mode: Mode = "paper"
    priority: Annotated[int, Field(ge=0)]
    max_notional_per_trade_usd: PositiveUsd
    max_daily_notional_usd: PositiveUsd
    notes: str = ""


class ResearchOnlyAsset(_Model):
    """A tier-3 asset: it collects data and research output, and never trades."""

    collect_data: bool = True
    reason: str = ""


class ActivationCriteria(_Model):
    """The stability gate an asset must pass before the next one is enabled (SPEC §5)."""

    min_trades_for_stability: Annotated[int, Field(ge=1)] = 10
    min_pf_for_activation: Annotated[float, Field(gt=0.0)] = 0.90
    max_drawdown_threshold: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.25
    min_observation_period_days: Annotated[float, Field(ge=0.0)] = 7.0
    phase_2_2_min_trades_per_tier1: Annotated[int, Field(ge=1)] = 20


class PositionLimits(_Model):
    """Ceilings over every asset, and the portfolio's exposure cap and starting equity."""

    max_notional_per_trade_usd: PositiveUsd = 500.0
    max_daily_notional_usd: PositiveUsd = 5000.0
    max_portfolio_exposure_usd: PositiveUsd = 2000.0
    starting_equity_usd: PositiveUsd = 10_000.0


class ExecutionSettings(_Model):
    """Paper-fill assumptions and exit rules; every fill records the ones it used."""

    fee_bps: Annotated[float, Field(ge=0.0, le=100.0)] = 10.0
    slippage_bps: Annotated[float, Field(ge=0.0, le=100.0)] = 2.0
    stop_atr: Annotated[float, Field(gt=0.0)] = 1.5
    target_atr: Annotated[float, Field(gt=0.0)] = 2.5
    max_hold_bars: Annotated[int, Field(ge=1)] = 12


class ObservationSettings(_Model):
    """What observation mode tightens: tier-2 caps and a higher confidence floor (SPEC §5)."""

    max_notional_per_trade_usd: PositiveUsd = 250.0
    max_daily_notional_usd: PositiveUsd = 2500.0
    min_conf: Fraction = 0.3


class FeedSettings(_Model):
    """Where bars come from: replay CSVs or the exchange through ccxt."""

    source: Literal["replay", "ccxt"] = "replay"
    exchange: Literal["binance"] = "binance"
    timeframe: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*[mhd]$")] = "1h"
    data_dir: str = "data/ohlcv"
    markets_file: str = "data/binance/exchangeInfo.json"
    api_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    poll_interval_s: Annotated[float, Field(gt=0.0)] = 10.0
    max_catchup_bars: Annotated[int, Field(ge=0)] = 48
    # A bar whose high exceeds this many times the previous close, or whose low is under its
    # 1/this, is refused (`price_jump`): a misprint, not a market (docs/decisions.md).
    max_price_jump: Annotated[float, Field(gt=1.0)] = DEFAULT_MAX_PRICE_JUMP


_LOOPBACK = ("127.", "::1", "localhost")


class MetricsSettings(_Model):
    """The opt-in Prometheus endpoint (docs/operations.md, Metrics): off unless `enabled`, and
    only on a loopback address (the daemon serves nothing to the network)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 9464

    @model_validator(mode="after")
    def _loopback(self) -> MetricsSettings:
        if not (self.host.startswith(_LOOPBACK) and self.host != "127."):
            raise ValueError(
                f"metrics.host {self.host!r} is not a loopback address: the endpoint is for a "
                "Prometheus on this host (127.0.0.1, ::1 or localhost); scrape it from "
                "elsewhere through that Prometheus or a proxy you control"
            )
        return self


NotifyEvent = Literal[
    "position_closed",
    "daily_summary",
    "gate_met",
    "gate_lost",
    "feed_degraded",
    "feed_recovered",
    "critical_error",
    "daemon_started",
    "daemon_stopped",
]
NOTIFY_EVENTS: tuple[NotifyEvent, ...] = get_args(NotifyEvent)


class NotificationSettings(_Model):
    """Which events reach the operator through apprise (docs/operations.md, Notifications).

    The apprise URLs themselves are secrets and never live here: `CHLOE_NOTIFY_URLS` or a
    mode-0600 `notify.json` beside the config files. Without URLs nothing is sent.
    """

    events: dict[NotifyEvent, bool] = Field(default_factory=dict)
    queue_size: Annotated[int, Field(ge=1, le=100_000)] = 256
    timeout_s: Annotated[float, Field(gt=0.0, le=300.0)] = 10.0
    retries: Annotated[int, Field(ge=0, le=10)] = 3
    min_interval_s: Annotated[float, Field(ge=0.0, le=3600.0)] = 1.0
    flush_s: Annotated[float, Field(ge=0.0, le=600.0)] = 5.0
    gate_check_interval_s: Annotated[float, Field(ge=0.0)] = 60.0

    def wants(self, event: NotifyEvent) -> bool:
        """True when `event` is chosen (an event the file leaves out is on)."""
        return self.events.get(event, True)


class PaperConfig(_File):
    """`config/multi_asset_paper_config.json`: activation status and the rollout plan."""

    version: int = 1
    phase: str = "2.0"
    enabled_assets: dict[Symbol, EnabledAsset]
    research_only_assets: dict[Symbol, ResearchOnlyAsset] = Field(default_factory=dict)
    activation_criteria: ActivationCriteria = Field(default_factory=ActivationCriteria)
    activation_order: list[Symbol]
    position_limits: PositionLimits = Field(default_factory=PositionLimits)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    observation: ObservationSettings = Field(default_factory=ObservationSettings)
    feed: FeedSettings = Field(default_factory=FeedSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)

    @model_validator(mode="after")
    def _consistent(self) -> PaperConfig:
        by_priority = sorted(self.enabled_assets, key=lambda s: self.enabled_assets[s].priority)
        if len({a.priority for a in self.enabled_assets.values()}) != len(self.enabled_assets):
            raise ValueError("enabled_assets: two assets share a priority; priorities must differ")
        if list(self.activation_order) != by_priority:
            raise ValueError(
                f"activation_order {self.activation_order} must list enabled_assets by priority: "
                f"{by_priority}"
            )
        both = sorted(set(self.enabled_assets) & set(self.research_only_assets))
        if both:
            raise ValueError(f"{both} are in both enabled_assets and research_only_assets")
        limits = self.position_limits
        for symbol, asset in self.enabled_assets.items():
            for cap in ("max_notional_per_trade_usd", "max_daily_notional_usd"):
                value, ceiling = getattr(asset, cap), getattr(limits, cap)
                if value > ceiling:
                    raise ValueError(
                        f"enabled_assets.{symbol}.{cap} {value} exceeds "
                        f"position_limits.{cap} {ceiling}"
                    )
        timeframe_ms(self.feed.timeframe)
        return self
