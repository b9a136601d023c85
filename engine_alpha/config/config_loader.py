"""Load and validate the two config files; every problem becomes one clear ConfigError."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from engine_alpha.config.models import PaperConfig, StrategyProfiler, timeframe_ms

PROFILER_FILE = "multi_asset_strategy_profiler.json"
PAPER_FILE = "multi_asset_paper_config.json"

_M = TypeVar("_M", bound=BaseModel)

MAX_CONFIG_BYTES = 1 << 20
"""A config file is a few kilobytes; anything past 1 MiB is refused before parsing."""


class ConfigError(Exception):
    """A config file is missing, malformed or inconsistent; the message names file, field, issue."""


class _Object(dict[str, Any]):
    """A parsed JSON object that remembers the keys its text named more than once."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        keys = [key for key, _ in pairs]
        obj.duplicates = tuple(sorted({key for key in keys if keys.count(key) > 1}))
    return obj


def _duplicate_paths(value: Any, path: str = "") -> list[str]:
    """Dotted paths of every key named twice in one object (JSON parsers disagree on the winner)."""
    found: list[str] = []
    if isinstance(value, _Object):
        found += [f"{path}{key}" for key in value.duplicates]
        for key, item in value.items():
            found += _duplicate_paths(item, f"{path}{key}.")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _duplicate_paths(item, f"{path}{i}.")
    return found


def load_json(path: Path | str) -> Any:
    """Parse one JSON file: a missing file, bad JSON, a duplicate key, a file over 1 MiB or
    nesting too deep each become a ConfigError naming the file."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes; not a config file")
    try:
        # NaN and Infinity parse as floats here; the strict models refuse them by field path.
        data = json.loads(text, object_pairs_hook=_object)
        duplicates = _duplicate_paths(data)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a config file") from None
    if duplicates:
        raise ConfigError(
            "\n".join(
                f"{path}: {key}: duplicate key (each key may appear once)" for key in duplicates
            )
        )
    return data


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc if part not in ("function-after",)) or "(top level)"


def format_validation_error(path: Path, exc: ValidationError) -> str:
    """One message for all of a file's problems: `file: field.path: problem` per line."""
    lines = []
    for err in exc.errors(include_url=False):
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (not part of this file's schema)"
        lines.append(f"{path}: {_field_path(tuple(err['loc']))}: {msg}")
    return "\n".join(lines)


def load_model(path: Path, model: type[_M]) -> _M:
    """Parse and validate one file against its model."""
    data = load_json(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from None


@dataclass(frozen=True, slots=True)
class ChloeConfig:
    """Both files, validated together; the one config object the daemon passes around."""

    profiler: StrategyProfiler
    paper: PaperConfig
    config_dir: Path

    @property
    def timeframe_ms(self) -> int:
        """Length of one bar in milliseconds."""
        return timeframe_ms(self.paper.feed.timeframe)

    def asset_equity_usd(self, symbol: str) -> float:
        """An asset's equity base (its PF and drawdown figures): its daily cap (SPEC §3) when it
        is listed in the paper config, else the portfolio's `starting_equity_usd`. Every surface
        (pf_local.json, status, gates, risk, summary, HTML) uses this one definition.
        """
        listed = self.paper.enabled_assets.get(symbol)
        if listed is not None:
            return listed.max_daily_notional_usd
        return self.paper.position_limits.starting_equity_usd

    def trading_symbols(self) -> list[str]:
        """Enabled assets in activation-priority order: the ones that trade."""
        enabled = [s for s, a in self.paper.enabled_assets.items() if a.enabled]
        return sorted(enabled, key=lambda s: self.paper.enabled_assets[s].priority)

    def run_order(self) -> list[str]:
        """Every asset the daemon watches, in the order bars of one time are decided (SPEC §7).

        Tradeable assets by priority, then the research-only ones by symbol.
        """
        tradeable = sorted(
            self.paper.enabled_assets, key=lambda s: self.paper.enabled_assets[s].priority
        )
        rest = sorted(s for s in self.profiler.assets if s not in self.paper.enabled_assets)
        return tradeable + rest


def _tier3_enabled(profiler: StrategyProfiler, paper_data: Any, paper_path: Path) -> list[str]:
    """Tier-3 assets the paper file enables, read from its raw JSON so that this error is named
    whatever else is wrong in the file (SPEC §1: rejected whatever else it says)."""
    enabled = paper_data.get("enabled_assets") if isinstance(paper_data, dict) else None
    if not isinstance(enabled, dict):
        return []
    problems = []
    for symbol, asset in enabled.items():
        profile = profiler.assets.get(symbol)
        tier3 = profile is not None and profile.tier == 3
        if tier3 and isinstance(asset, dict) and asset.get("enabled") is True:
            assert profile is not None
            problems.append(
                f"{paper_path}: enabled_assets.{symbol}.enabled: {symbol} is tier 3 "
                f"(edge {profile.edge_bps} bps, research only) and can never be enabled"
            )
    return problems


def _cross_check(profiler: StrategyProfiler, paper: PaperConfig, paper_path: Path) -> list[str]:
    problems = []
    for symbol in paper.enabled_assets:
        if symbol not in profiler.assets:
            problems.append(
                f"{paper_path}: enabled_assets.{symbol}: unknown symbol "
                f"(not in {PROFILER_FILE}; known: {', '.join(sorted(profiler.assets))})"
            )
    for symbol in paper.research_only_assets:
        if symbol not in profiler.assets:
            problems.append(
                f"{paper_path}: research_only_assets.{symbol}: unknown symbol "
                f"(not in {PROFILER_FILE})"
            )
    listed = set(paper.enabled_assets) | set(paper.research_only_assets)
    profiler_path = paper_path.with_name(PROFILER_FILE)
    for symbol in profiler.assets:
        if symbol not in listed:
            problems.append(
                f"{profiler_path}: assets.{symbol}: unknown symbol (the paper config "
                f"{PAPER_FILE} lists it neither in enabled_assets nor in research_only_assets)"
            )
    return problems


def load_config(config_dir: Path | str = "config") -> ChloeConfig:
    """Load, validate and cross-check both files of a config directory."""
    config_dir = Path(config_dir)
    profiler = load_model(config_dir / PROFILER_FILE, StrategyProfiler)
    paper_path = config_dir / PAPER_FILE
    paper_data = load_json(paper_path)
    tier3 = _tier3_enabled(profiler, paper_data, paper_path)
    try:
        paper = PaperConfig.model_validate(paper_data)
    except ValidationError as exc:
        raise ConfigError("\n".join([*tier3, format_validation_error(paper_path, exc)])) from None
    problems = tier3 + _cross_check(profiler, paper, paper_path)
    if problems:
        raise ConfigError("\n".join(problems))
    return ChloeConfig(profiler=profiler, paper=paper, config_dir=config_dir)


def config_record(config: ChloeConfig) -> dict[str, Any]:
    """Both files as validated (every default filled in), as JSON data: what
    `daemon_status.json` records so that two runs can be compared (`chloe compare`)."""
    return {
        "paper": config.paper.model_dump(mode="json"),
        "profiler": config.profiler.model_dump(mode="json"),
    }
