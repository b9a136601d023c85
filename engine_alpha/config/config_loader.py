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


class ConfigError(Exception):
    """A config file is missing, malformed or inconsistent; the message names file, field, issue."""


def load_json(path: Path | str) -> Any:
    """Parse one JSON file, turning a missing file or bad JSON into a ConfigError naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None


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


def _cross_check(profiler: StrategyProfiler, paper: PaperConfig, paper_path: Path) -> None:
    problems = []
    for symbol, asset in paper.enabled_assets.items():
        profile = profiler.assets.get(symbol)
        if profile is None:
            problems.append(
                f"{paper_path}: enabled_assets.{symbol}: unknown symbol "
                f"(not in {PROFILER_FILE}; known: {', '.join(sorted(profiler.assets))})"
            )
        elif profile.tier == 3 and asset.enabled:
            problems.append(
                f"{paper_path}: enabled_assets.{symbol}.enabled: {symbol} is tier 3 "
                f"(edge {profile.edge_bps} bps, research only) and can never be enabled"
            )
    for symbol in paper.research_only_assets:
        if symbol not in profiler.assets:
            problems.append(
                f"{paper_path}: research_only_assets.{symbol}: unknown symbol "
                f"(not in {PROFILER_FILE})"
            )
    if problems:
        raise ConfigError("\n".join(problems))


def load_config(config_dir: Path | str = "config") -> ChloeConfig:
    """Load, validate and cross-check both files of a config directory."""
    config_dir = Path(config_dir)
    profiler = load_model(config_dir / PROFILER_FILE, StrategyProfiler)
    paper_path = config_dir / PAPER_FILE
    paper = load_model(paper_path, PaperConfig)
    _cross_check(profiler, paper, paper_path)
    return ChloeConfig(profiler=profiler, paper=paper, config_dir=config_dir)
