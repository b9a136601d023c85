"""The reports directory: its file names, and the config figures its reports are computed with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.ledger.pf_report import recompute_report

TRADES_FILE = "trades.jsonl"
SIGNALS_FILE = "signals.jsonl"
PF_FILE = "pf_local.json"
STATUS_FILE = "daemon_status.json"
RESEARCH_DIR = "research"  # research/<SYMBOL>/edge.json, summary.json, compare/<model>/...


def report_inputs(config: ChloeConfig) -> dict[str, Any]:
    """Keyword arguments of the pf_local.json builders: symbols, portfolio and asset equity
    (`ChloeConfig.asset_equity_usd`, the one definition).
    """
    symbols = config.run_order()
    return {
        "symbols": symbols,
        "starting_equity_usd": config.paper.position_limits.starting_equity_usd,
        "asset_equity_usd": {s: config.asset_equity_usd(s) for s in symbols},
    }


def recompute_pf_local(
    reports_dir: Path, config: ChloeConfig, as_of_bar_ts: int | None
) -> dict[str, Any]:
    """pf_local.json as a recomputation from trades.jsonl alone would write it."""
    return recompute_report(
        reports_dir / TRADES_FILE,
        as_of_bar_ts=as_of_bar_ts,
        generated_at="",
        **report_inputs(config),
    )
