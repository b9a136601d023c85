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
from engine_alpha.research.significance import GroupTest, SearchTest
from engine_alpha.research.split import HALVES
from engine_alpha.research.walk_forward import FoldResult, WalkForward

__all__ = ["asset_report", "headline", "iso_utc", "summary_report", "write_json"]


def iso_utc(ts_ms: int) -> str:
    """A bar time as ISO 8601 UTC."""
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _num(value: float) -> float | None:
    """Full precision (people's rounding is the formatter's job, engine_alpha/dashboard)."""
    return None if math.isnan(value) else value + 0.0


def summary_json(
    s: Summary,
    cost_bps: float | None = None,
    test: GroupTest | None = None,
    q_value: float | None = None,
) -> dict[str, Any]:
    """One group: samples, net edge, hit rate, 95% t interval (and the gross figures if a
    cost; the block-bootstrap interval, p-value and q-value where tested)."""
    out: dict[str, Any] = {
        "samples": s.samples,
        "edge_bps": _num(s.mean),
        "hit_rate": _num(s.hit_rate),
        "ci95_bps": None if math.isnan(s.ci_low) else [_num(s.ci_low), _num(s.ci_high)],
    }
    if test is not None:
        out["ci95_block_bps"] = [_num(test.ci_low), _num(test.ci_high)]
        out["p_value"] = test.p_value
    if q_value is not None and not math.isnan(q_value):
        out["q_value"] = q_value
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
        "bootstrap": {
            "scheme": "stationary",
            "mean_block_bars": "max(horizon_bars, round(bars ** (1/3))) per half",
            "replicates": settings.replicates,
            "seed": settings.seed,
        },
        "alpha": settings.alpha,
        "q_values": "Benjamini-Yekutieli over the cells with >= min_samples in sample",
        "snooping_test": "Hansen SPA (and White's Reality Check) over the candidates searched",
        "walk_forward": None
        if not settings.walk_forward
        else {"folds": settings.walk_forward, "scheme": settings.fold_scheme},
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
        regime = summary_json(table.regimes[focus], None, *_tested(table, focus, None))
        out["asset_edge"] = {"regime": REGIMES[focus], **regime}
    if focus is not None and sel.best_bucket is not None:
        key = focus * N_BUCKETS + sel.best_bucket
        cell = summary_json(table.cells[key], None, *_tested(table, None, key))
        out["best_bucket"] = {"bucket": sel.best_bucket, **cell}
    if sel.best_cell is not None:
        cell = summary_json(table.cells[sel.best_cell], None, *_tested(table, None, sel.best_cell))
        out["best_selective_cell"] = {"cell": cell_name(sel.best_cell), **cell}
    return out


def _tested(
    table: HalfTable, regime: int | None, cell: int | None
) -> tuple[GroupTest | None, float | None]:
    """A regime's or a cell's test in `table` and the cell's q-value (None where untested)."""
    tests = table.tests
    if tests is None:
        return None, None
    if regime is not None:
        return tests.regimes[regime], None
    assert cell is not None
    return tests.cells[cell], float(tests.cell_q[cell])


def search_json(search: Mapping[str, SearchTest]) -> dict[str, Any]:
    """Each in-sample choice's data-snooping test."""
    return {
        name: {
            "candidates": t.candidates,
            "spa_p": t.spa_p,
            "reality_check_p": t.reality_check_p,
        }
        for name, t in search.items()
    }


def _fold_json(f: FoldResult) -> dict[str, Any]:
    focus = f.focus_regime
    return {
        **f.fold.describe(),
        "test_overall": summary_json(f.test_overall),
        "focus_regime": None if focus is None else REGIMES[focus],
        "focus_train": None if f.regime_train is None else summary_json(f.regime_train),
        "focus_test": None if f.regime_test is None else summary_json(f.regime_test),
        "best_cell": None if f.best_cell is None else cell_name(f.best_cell),
        "best_cell_train": None if f.cell_train is None else summary_json(f.cell_train),
        "best_cell_test": None if f.cell_test is None else summary_json(f.cell_test),
    }


def walk_forward_json(wf: WalkForward | None) -> dict[str, Any] | None:
    """The folds and the pooled out-of-sample edges of each fold's choices."""
    if wf is None:
        return None
    return {
        "scheme": wf.scheme,
        "folds": [_fold_json(f) for f in wf.folds],
        "pooled_focus_oos": summary_json(wf.pooled_regime),
        "pooled_best_cell_oos": summary_json(wf.pooled_cell),
        "positive_folds": wf.positive_folds,
        "deciding_folds": wf.deciding_folds,
        "holds": wf.holds,
    }


def _half_json(result: AssetResult, half: str, cost_bps: float) -> dict[str, Any]:
    table: HalfTable = result.halves[half]
    cells = {
        cell_name(key): {
            "forward": summary_json(fwd, cost_bps, *_tested(table, None, key)),
            "trades": summary_json(table.trades.cells[key]),
        }
        for key, fwd in enumerate(table.cells)
        if fwd.samples or table.trades.cells[key].samples
    }
    return {
        **headline(result, half, cost_bps),
        "regimes": {
            name: summary_json(s, cost_bps, *_tested(table, r, None))
            for r, (name, s) in enumerate(zip(REGIMES, table.regimes, strict=True))
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
        "search": search_json(result.search),
        "edges": [cell_name(key) for key in result.edges],
        "walk_forward": walk_forward_json(result.walk_forward),
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
            "search": search_json(result.search),
            "edges": [cell_name(key) for key in result.edges],
            "walk_forward": None
            if result.walk_forward is None
            else {
                "pooled_focus_oos": summary_json(result.walk_forward.pooled_regime),
                "positive_folds": result.walk_forward.positive_folds,
                "deciding_folds": result.walk_forward.deciding_folds,
                "holds": result.walk_forward.holds,
            },
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
