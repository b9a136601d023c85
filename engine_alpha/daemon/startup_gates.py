"""At start: which enabled assets run although their gate is not met (SPEC §5: log a warning).

The config is the operator's last word, so nothing is refused here; the daemon only logs
`gate_unmet_at_start` for each such asset with the failing codes.
"""

from __future__ import annotations

from pathlib import Path

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.ops.blockers import Blocker
from engine_alpha.ops.gates import evaluate_rollout
from engine_alpha.ops.history import fold_history
from engine_alpha.ops.reports_reader import load_reports, load_research_distributions
from engine_alpha.risk.multi_asset_risk_engine import assess_risk

__all__ = ["unmet_gates"]


def unmet_gates(config: ChloeConfig, reports_dir: Path) -> dict[str, tuple[Blocker, ...]]:
    """Enabled assets whose enable gate fails now, with the failing criteria (activation order).

    Volatility is left unknown (no bar files are read), so this stays cheap at start.
    """
    snapshot = load_reports(reports_dir)
    history = fold_history(snapshot.lines)
    risk = assess_risk(
        config,
        history,
        signals=snapshot.signals,
        events=snapshot.events,
        bars={},
        as_of_bar_ts=history.last_bar_ts,
    )
    research = load_research_distributions(reports_dir, config.paper.activation_order)
    state = evaluate_rollout(
        config,
        history,
        snapshot.signals,
        snapshot.events,
        risk.portfolio.blockers,
        research=research,
    )
    return dict(state.ahead)
