"""At start: which enabled assets run although their gate is not met (SPEC §5: log a warning).

The config is the operator's last word, so nothing is refused here; the daemon only logs
`gate_unmet_at_start` for each such asset with the failing codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.ledger.reports_dir import SIGNALS_FILE, TRADES_FILE
from engine_alpha.ops.blockers import Blocker
from engine_alpha.ops.gates import RolloutState, evaluate_rollout
from engine_alpha.ops.history import LedgerHistory, fold_history
from engine_alpha.ops.reports_reader import load_reports, load_research_distributions
from engine_alpha.ops.signal_digest import SignalDigest
from engine_alpha.risk.multi_asset_risk_engine import assess_risk

__all__ = [
    "GATE_CHECK_MAX_BYTES",
    "reports_too_large",
    "rollout_now",
    "rollout_of",
    "unmet_gates",
]

GATE_CHECK_MAX_BYTES = 64 * 1024 * 1024


def reports_too_large(reports_dir: Path) -> int | None:
    """The size of the journal and the signal log when over GATE_CHECK_MAX_BYTES (too large
    to read in full while the daemon runs: `chloe status` shows the gates), else None."""
    paths = (reports_dir / TRADES_FILE, reports_dir / SIGNALS_FILE)
    size = sum(p.stat().st_size for p in paths if p.exists())
    return size if size > GATE_CHECK_MAX_BYTES else None


def unmet_gates(config: ChloeConfig, reports_dir: Path) -> dict[str, tuple[Blocker, ...]]:
    """Enabled assets whose enable gate fails now, with the failing criteria (activation order)."""
    return dict(rollout_now(config, reports_dir).ahead)


def rollout_now(config: ChloeConfig, reports_dir: Path) -> RolloutState:
    """The rollout gates read from the reports as they are now (start-up, notifications).

    Volatility is left unknown (no bar files are read), so this stays cheap.
    """
    snapshot = load_reports(reports_dir)
    history, signals = fold_history(snapshot.lines), SignalDigest(snapshot.signals)
    return rollout_of(config, reports_dir, history, signals, snapshot.events)


def rollout_of(
    config: ChloeConfig,
    reports_dir: Path,
    history: LedgerHistory,
    signals: SignalDigest,
    events: Sequence[Mapping[str, Any]],
) -> RolloutState:
    """The rollout gates of this journal history, these signal records and events (what the
    reports hold: a daemon that folds what it wrote passes its own) and of research under
    `reports_dir`."""
    risk = assess_risk(
        config,
        history,
        signals=signals,
        events=events,
        bars={},
        as_of_bar_ts=history.last_bar_ts,
    )
    research = load_research_distributions(reports_dir, config.paper.activation_order)
    return evaluate_rollout(
        config, history, signals, events, risk.portfolio.blockers, research=research
    )
