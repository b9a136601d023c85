"""A proposed `multi_asset_strategy_profiler.json` from research results, and its field diff.

Only measured fields change; bias, min_conf, avoided buckets, allowed cells, sizing stay as set.
The measured figures hold for the model research ran, so an asset whose profile names another
model (or other parameters) gets `signal_model` set to the researched one, written short: the
parameters that differ from the model's defaults, and no field at all for the default breakout.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from engine_alpha.config.config_loader import (
    PAPER_FILE,
    PROFILER_FILE,
    ConfigError,
    format_validation_error,
    load_config,
)
from engine_alpha.config.models import REGIMES, PaperConfig, SignalModelChoice, StrategyProfiler
from engine_alpha.config.signal_models import DEFAULT_MODEL
from engine_alpha.research.analysis import AssetResult
from engine_alpha.research.edge import N_BUCKETS, best_key, cell_name
from engine_alpha.research.report import write_json
from engine_alpha.signals.catalog import ChosenModel, json_identity

__all__ = ["ABSENT", "check_with_paper_config", "profile_diff", "propose_profiler"]

ABSENT: Final = "(absent)"
_TAG = "chloe research"


def propose_profiler(
    current: Mapping[str, Any],
    results: Mapping[str, AssetResult],
    paper: PaperConfig,
    source: Path,
    models: Mapping[str, ChosenModel] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(proposed file content, validated; a note per asset left as it was and why);
    `models`: the model each asset was researched on (absent: the default breakout)."""
    proposed = copy.deepcopy(dict(current))
    assets: dict[str, Any] = proposed.setdefault("assets", {})
    kept: dict[str, str] = {}
    for symbol, result in results.items():
        if result.selection.focus_regime is None:
            kept[symbol] = "no regime with enough samples in sample: profile kept"
            continue
        assets[symbol] = _asset(assets.get(symbol), result, paper, symbol)
        model = (models or {}).get(symbol)
        _set_model(assets[symbol], model.identity if model else json_identity(None))
    try:
        StrategyProfiler.model_validate(proposed)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from None
    return proposed, kept


def _asset(
    old: dict[str, Any] | None, result: AssetResult, paper: PaperConfig, symbol: str
) -> dict[str, Any]:
    """One asset's proposed profile."""
    new: dict[str, Any] = copy.deepcopy(old) if old else {}
    conf = new.setdefault("confidence_filters", {})
    sizing = new.setdefault("position_sizing", {})
    sel = result.selection
    assert sel.focus_regime is not None
    cells = result.halves["in_sample"].cells
    new["tier"] = result.tier
    new["edge_bps"] = result.edge_bps
    if result.tier < 3:
        focus = REGIMES[sel.focus_regime]
        bucket = sel.best_bucket
        bucket_edge = None if bucket is None else cells[sel.focus_regime * N_BUCKETS + bucket].mean
        new["regime"] = focus
        new["best_bucket"] = bucket
        new["best_bucket_edge_bps"] = None if bucket_edge is None else round(bucket_edge, 1)
        new["regime_filters"] = {"enabled_regimes": [focus]}
        conf["preferred_buckets"] = list(sel.preferred_buckets)
        new.pop("best_selective_cell", None)
        new.pop("best_selective_cell_edge_bps", None)
        if not sizing.get("max_notional_per_trade_usd"):
            sizing["max_notional_per_trade_usd"] = _default_cap(paper, symbol, result.tier)
        focus_text = f"{focus} signals, buckets {list(sel.preferred_buckets) or 'all'}"
    else:
        cell = sel.best_cell if sel.best_cell is not None else best_key(cells, 2)
        new["regime"] = None
        new["best_bucket"] = None
        new["best_bucket_edge_bps"] = None
        new["regime_filters"] = {"enabled_regimes": []}
        conf["preferred_buckets"] = []
        if cell is not None:
            new["best_selective_cell"] = cell_name(cell)
            new["best_selective_cell_edge_bps"] = round(cells[cell].mean, 1)
        focus_text = "research only"
    if old is None or old.get("tier") != new["tier"] or old.get("regime") != new["regime"]:
        new["strategy_focus"] = f"{focus_text} ({_TAG}: {result.tier_reason})"
    return new


def _set_model(profile: dict[str, Any], identity: Mapping[str, Any]) -> None:
    """Name the researched model in `profile`, unless it already runs exactly that model."""
    try:
        now = json_identity(SignalModelChoice.model_validate(profile.get("signal_model") or {}))
    except ValueError:
        now = None
    if now == identity:
        return
    name = str(identity["name"])
    defaults = json_identity(SignalModelChoice(name=name))["params"]
    params = {k: v for k, v in identity["params"].items() if defaults.get(k) != v}
    if name == DEFAULT_MODEL and not params:
        profile.pop("signal_model", None)
    else:
        profile["signal_model"] = {"name": name, "params": params}


def _default_cap(paper: PaperConfig, symbol: str, tier: int) -> float:
    """Per-trade cap for an asset that becomes tradeable: its paper cap, else its tier's."""
    enabled = paper.enabled_assets.get(symbol)
    if enabled is not None:
        return enabled.max_notional_per_trade_usd
    if tier == 1:
        return paper.position_limits.max_notional_per_trade_usd
    return paper.observation.max_notional_per_trade_usd


def check_with_paper_config(proposed: Mapping[str, Any], config_dir: Path) -> None:
    """Raise ConfigError if the daemon's loader rejects the proposal beside the paper config
    (e.g. an enabled asset proposed as tier 3); checked in a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="chloe-research-") as scratch:
        scratch_dir = Path(scratch)
        shutil.copyfile(config_dir / PAPER_FILE, scratch_dir / PAPER_FILE)
        write_json(scratch_dir / PROFILER_FILE, proposed)
        try:
            load_config(scratch_dir)
        except ConfigError as exc:
            text = str(exc).replace(str(scratch_dir), str(config_dir))
            raise ConfigError(text) from None


def profile_diff(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Every changed leaf as (dotted path, old value, new value); a missing key is ABSENT."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in [*old, *(k for k in new if k not in old)]:
            sub = f"{path}.{key}" if path else str(key)
            out.extend(profile_diff(old.get(key, ABSENT), new.get(key, ABSENT), sub))
        return out
    return [] if old == new else [(path, old, new)]
