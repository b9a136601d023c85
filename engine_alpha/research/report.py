"""The research results as JSON: `research/<SYMBOL>/edge.json` and `research/summary.json`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from engine_alpha.config.models import REGIMES, AssetProfile
from engine_alpha.core.atomic_files import replace_atomic
from engine_alpha.research.analysis import AssetResult, HalfTable, ResearchSettings
from engine_alpha.research.distribution import distribution_json
from engine_alpha.research.edge import N_BUCKETS, Summary, cell_name
from engine_alpha.research.split import HALVES

__all__ = ["asset_report", "headline", "iso_utc", "summary_report", "write_json"]


def iso_utc(ts_ms: int) -> str:
    """A bar time as ISO 8601 UTC."""
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _num(value: float) -> float | None:
    """Full precision (people's rounding is the formatter's job, engine_alpha/dashboard)."""
    return None if math.isnan(value) else value + 0.0


def summary_json(s: Summary, cost_bps: float | None = None) -> dict[str, Any]:
    """One group: samples, net edge, hit rate, 95% interval (and the gross figures if a cost)."""
    out: dict[str, Any] = {
        "samples": s.samples,
        "edge_bps": _num(s.mean),
        "hit_rate": _num(s.hit_rate),
        "ci95_bps": None if math.isnan(s.ci_low) else [_num(s.ci_low), _num(s.ci_high)],
    }
    if cost_bps is not None:
        gross = s.shifted(cost_bps)
        out["gross_edge_bps"] = _num(gross.mean)
        out["gross_ci95_bps"] = (
            None if math.isnan(gross.ci_low) else [_num(gross.ci_low), _num(gross.ci_high)]
        )
    return out


def params_json(settings: ResearchSettings) -> dict[str, Any]:
    """The assumptions every figure rests on."""
    ex = settings.execution
    return {
        "horizon_bars": settings.horizon_bars,
        "round_trip_cost_bps": settings.cost_bps,
        "fee_bps": ex.fee_bps,
        "slippage_bps": ex.slippage_bps,
        "stop_atr": ex.stop_atr,
        "target_atr": ex.target_atr,
        "max_hold_bars": ex.max_hold_bars,
        "min_samples": settings.min_samples,
        "split": settings.split.describe(),
        "timeframe_ms": settings.timeframe_ms,
    }


def headline(result: AssetResult, half: str, cost_bps: float) -> dict[str, Any]:
    """One half's per-asset figures for the in-sample choices (focus regime, bucket, cell)."""
    table = result.halves[half]
    sel = result.selection
    focus = sel.focus_regime
    out: dict[str, Any] = {
        "bars": table.bars,
        "overall": summary_json(table.overall, cost_bps),
        "asset_edge": None,
        "best_bucket": None,
        "best_selective_cell": None,
        "trades": summary_json(table.trades.overall),
    }
    if focus is not None:
        out["asset_edge"] = {"regime": REGIMES[focus], **summary_json(table.regimes[focus])}
    if focus is not None and sel.best_bucket is not None:
        cell = table.cells[focus * N_BUCKETS + sel.best_bucket]
        out["best_bucket"] = {"bucket": sel.best_bucket, **summary_json(cell)}
    if sel.best_cell is not None:
        cell = table.cells[sel.best_cell]
        out["best_selective_cell"] = {"cell": cell_name(sel.best_cell), **summary_json(cell)}
    return out


def _half_json(result: AssetResult, half: str, cost_bps: float) -> dict[str, Any]:
    table: HalfTable = result.halves[half]
    cells = {
        cell_name(key): {
            "forward": summary_json(fwd, cost_bps),
            "trades": summary_json(table.trades.cells[key]),
        }
        for key, fwd in enumerate(table.cells)
        if fwd.samples or table.trades.cells[key].samples
    }
    return {
        **headline(result, half, cost_bps),
        "regimes": {
            name: summary_json(s, cost_bps) for name, s in zip(REGIMES, table.regimes, strict=True)
        },
        "cells": cells,
        "trade_exits": {**table.trades.exits, "open_at_end": table.trades.open_at_end},
    }


def asset_report(
    result: AssetResult,
    settings: ResearchSettings,
    *,
    source: str,
    generated_at: str,
    model: Mapping[str, Any],
) -> dict[str, Any]:
    """The content of `research/<SYMBOL>/edge.json`; `model` is the signal model's identity."""
    sel = result.selection
    return {
        "symbol": result.symbol,
        "generated_at": generated_at,
        "model": dict(model),
        "params": params_json(settings),
        "data": {
            "file": source,
            "bars": result.bars,
            "first_bar_utc": iso_utc(result.first_ts_ms),
            "last_bar_utc": iso_utc(result.last_ts_ms),
            "refused": result.refused,
            "missing_bars": result.missing_bars,
            "signals": result.signals,
            "out_of_sample_from_utc": iso_utc(result.cutoff_ms),
        },
        "selection": {
            "focus_regime": None if sel.focus_regime is None else REGIMES[sel.focus_regime],
            "best_bucket": sel.best_bucket,
            "preferred_buckets": list(sel.preferred_buckets),
            "best_selective_cell": None if sel.best_cell is None else cell_name(sel.best_cell),
        },
        "proposal": _proposal(result),
        "halves": {half: _half_json(result, half, settings.cost_bps) for half in HALVES},
        "flags": {cell_name(key): list(codes) for key, codes in sorted(result.flags.items())},
        "signal_distribution": distribution_json(result.signal_cells, model),
    }


def _proposal(result: AssetResult) -> dict[str, Any]:
    return {
        "tier": result.tier,
        "edge_bps": result.edge_bps,
        "reason": result.tier_reason,
        "flags": list(result.asset_flags),
    }


def summary_report(
    results: Mapping[str, AssetResult],
    settings: ResearchSettings,
    current: Mapping[str, AssetProfile],
    *,
    generated_at: str,
    problems: Mapping[str, str],
    models: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """The content of `research/summary.json`: each asset's headline figures beside its profile
    (`models`: each asset's signal-model identity)."""
    assets = {}
    for symbol, result in results.items():
        profile = current.get(symbol)
        assets[symbol] = {
            "model": dict(models[symbol]),
            "bars": result.bars,
            "signals": result.signals,
            "out_of_sample_from_utc": iso_utc(result.cutoff_ms),
            "proposal": _proposal(result),
            "current": None
            if profile is None
            else {
                "tier": profile.tier,
                "edge_bps": profile.edge_bps,
                "regime": profile.regime,
                "best_bucket": profile.best_bucket,
                "best_selective_cell": profile.best_selective_cell,
            },
            **{half: headline(result, half, settings.cost_bps) for half in HALVES},
            "flagged_cells": len(result.flags),
        }
    return {
        "generated_at": generated_at,
        "params": params_json(settings),
        "assets": assets,
        "not_researched": dict(problems),
    }


def write_json(path: Path, data: Any) -> None:
    """Replace `path` atomically (temp file in the same directory, then rename)."""
    replace_atomic(path, orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
