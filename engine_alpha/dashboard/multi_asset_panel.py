"""The multi-asset panel (SPEC §7): per asset tier, edge, PF, trades, drawdown, status and gate.

`gather` reads config and reports (never writes), `status_dict` is `chloe status --json`, and
the table, the live panel and the HTML report all render from that one dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.core.formatting import (
    fmt_bool,
    fmt_num,
    fmt_pf,
    fmt_risk,
    fmt_ts,
    fmt_usd,
    fmt_wall_utc,
)
from engine_alpha.ledger.metrics import summarize
from engine_alpha.ledger.round_trips import RoundTrip, trades_summary
from engine_alpha.market.bars import Bar
from engine_alpha.ops.gates import AssetGate, RolloutState, evaluate_rollout
from engine_alpha.ops.history import LedgerHistory, fold_history
from engine_alpha.ops.operator_log import forced_enables
from engine_alpha.ops.reports_lock import lock_holder_pid
from engine_alpha.ops.reports_reader import (
    ReportsSnapshot,
    load_bars,
    load_reports,
    load_research_counts,
    load_research_distributions,
)
from engine_alpha.ops.signal_digest import SignalDigest
from engine_alpha.ops.trades import snapshot_round_trips
from engine_alpha.risk.multi_asset_risk_engine import RiskReport, VolatilityMemo, assess_risk

__all__ = [
    "COLUMNS",
    "LEFT_COLUMNS",
    "PanelData",
    "blocker_lines",
    "gather",
    "panel_renderable",
    "portfolio_cells",
    "rollout_lines",
    "status_dict",
    "table_cells",
]

STATUS_VERSION = 1


@dataclass(frozen=True, slots=True)
class PanelData:
    """Everything the panel shows, computed from one read of config and reports."""

    config: ChloeConfig
    snapshot: ReportsSnapshot
    history: LedgerHistory
    risk: RiskReport
    rollout: RolloutState
    as_of_bar_ts: int | None
    daemon_running: bool = False
    trips: list[RoundTrip] = field(default_factory=list)
    bars: Mapping[str, Sequence[Bar]] = field(default_factory=dict)


def _as_of(history: LedgerHistory, snapshot: ReportsSnapshot) -> int | None:
    """The last bar the daemon acted on: the latest of journal, signals and the daemon's reports."""
    # every record has an int bar_ts: load_reports skips the others (is_signal_record)
    candidates = [history.last_bar_ts, max((s["bar_ts"] for s in snapshot.signals), default=None)]
    for report in (snapshot.pf_local, snapshot.daemon_status):
        key = "as_of_bar_ts" if report is snapshot.pf_local else "last_bar_ts"
        value = (report or {}).get(key)
        candidates.append(value if isinstance(value, int) else None)
    known = [c for c in candidates if c is not None]
    return max(known) if known else None


def gather(
    config: ChloeConfig,
    reports_dir: Path,
    bars: Mapping[str, Sequence[Bar]] | None = None,
    memo: VolatilityMemo | None = None,
) -> PanelData:
    """Read the reports and compute risk and gates; `bars` defaults to `feed.data_dir`'s CSVs.
    `memo`: the volatility memo of a reader that gathers again as the reports grow."""
    snapshot = load_reports(reports_dir)
    history = fold_history(snapshot.lines)
    signals = SignalDigest(snapshot.signals)
    as_of = _as_of(history, snapshot)
    if bars is None:
        feed = config.paper.feed
        bars = load_bars(Path(feed.data_dir), config.paper.activation_order, feed.timeframe)
    risk = assess_risk(
        config,
        history,
        signals=signals,
        events=snapshot.events,
        bars=bars,
        as_of_bar_ts=as_of,
        research=load_research_counts(reports_dir, config.paper.activation_order),
        memo=memo,
    )
    research = load_research_distributions(reports_dir, config.paper.activation_order)
    rollout = evaluate_rollout(
        config,
        history,
        signals,
        snapshot.events,
        risk.portfolio.blockers,
        research=research,
    )
    trips = snapshot_round_trips(config, snapshot, bars)
    return PanelData(
        config, snapshot, history, risk, rollout, as_of, _running(snapshot), trips, bars
    )


def _running(snapshot: ReportsSnapshot) -> bool:
    """The daemon of daemon_status.json runs: its pid holds the reports directory's lock."""
    pid = (snapshot.daemon_status or {}).get("pid")
    return isinstance(pid, int) and lock_holder_pid(snapshot.reports_dir) == pid


def _gate_word(gate: AssetGate) -> str:
    if gate.tier == 3:
        return "research_only"
    return "stable" if gate.stable else "not_stable"


def _market_regimes(signals: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each asset's regime at its latest signal in signals.jsonl (the market's, not a profile's)."""
    latest: dict[str, dict[str, Any]] = {}
    for record in signals:
        symbol, ts, regime = record.get("symbol"), record.get("bar_ts"), record.get("regime")
        if not (isinstance(symbol, str) and isinstance(ts, int) and isinstance(regime, str)):
            continue
        seen = latest.get(symbol)
        if seen is None or ts >= seen["bar_ts"]:
            latest[symbol] = {"regime": regime, "bar_ts": ts}
    return latest


def _asset_row(
    data: PanelData, gate: AssetGate, market: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    profile = data.config.profiler.assets[gate.symbol]
    entry = data.config.paper.enabled_assets.get(gate.symbol)
    risk = data.risk.assets.get(gate.symbol)
    stats = gate.stats
    return {
        "symbol": gate.symbol,
        "tier": gate.tier,
        "edge_bps": profile.edge_bps,
        "regime": profile.regime,
        "market_regime": market.get(gate.symbol),
        "best_bucket": profile.best_bucket,
        "best_selective_cell": profile.best_selective_cell,
        "enabled": gate.enabled,
        "mode": gate.mode,
        "priority": entry.priority if entry is not None else None,
        "phase": gate.phase,
        "trades": stats.trades,
        "wins": stats.wins,
        "losses": stats.losses,
        "pf": stats.pf,
        "max_drawdown_pct": stats.max_drawdown_pct,
        "net_pnl_usd": stats.net_pnl_usd,
        "open_exposure_usd": gate.open_exposure_usd,
        "days_monitored": gate.days_monitored,
        "critical_errors": gate.critical_errors,
        "distribution": gate.distribution.as_dict() if gate.distribution else None,
        "gate": _gate_word(gate),
        "stable": gate.stable,
        "failing": [b.as_dict() for b in gate.failing],
        "risk_score": risk.risk_score if risk else None,
        "risk_level": risk.risk_level if risk else None,
    }


def _portfolio(data: PanelData) -> dict[str, Any]:
    paper = data.config.paper
    risk = data.risk.portfolio
    total = summarize(data.history.portfolio_pnls, paper.position_limits.starting_equity_usd)
    return {
        "trades": total.trades,
        "wins": total.wins,
        "losses": total.losses,
        "pf": total.pf,
        "max_drawdown_pct": total.max_drawdown_pct,
        "net_pnl_usd": total.net_pnl_usd,
        "starting_equity_usd": paper.position_limits.starting_equity_usd,
        "open_positions": data.history.open_positions(),
        "open_exposure_usd": risk.open_exposure_usd,
        "max_portfolio_exposure_usd": risk.max_portfolio_exposure_usd,
        "exposure_used_pct": risk.exposure_used_pct,
        "weighted_edge_bps": risk.weighted_edge_bps,
        "expected_trades_per_day": risk.expected_trades_per_day,
        "risk_score": risk.risk_score,
        "risk_level": risk.risk_level,
        "risk_stable": risk.stable,
        "critical_errors": risk.critical_errors,
    }


def _rollout(data: PanelData) -> dict[str, Any]:
    state = data.rollout
    nxt = state.next_symbol
    next_mode = None
    if nxt is not None:
        next_mode = data.config.paper.enabled_assets[nxt].mode
    return {
        "phase": state.phase,
        "order": list(state.order),
        "done": list(state.done),
        "next": nxt,
        "next_mode": next_mode,
        "next_can_enable": nxt is not None and not state.next_blockers,
        "blocked_by": [b.as_dict() for b in state.next_blockers],
        "forced_enables": forced_enables(data.snapshot.events),
        "config_ahead_of_gates": {
            symbol: [b.as_dict() for b in blockers] for symbol, blockers in state.ahead.items()
        },
        "phases": {
            name: {"met": p.met, "failing": [b.as_dict() for b in p.failing]}
            for name, p in state.phases.items()
        },
    }


def status_dict(data: PanelData) -> dict[str, Any]:
    """`chloe status --json`: portfolio, assets (run order) and rollout progress."""
    snap = data.snapshot
    market = _market_regimes(snap.signals)
    return {
        "version": STATUS_VERSION,
        "as_of_bar_ts": data.as_of_bar_ts,
        "reports_dir": str(snap.reports_dir),
        "files": dict(snap.present),
        "journal_fills": len(snap.lines),
        "signal_records": len(snap.signals),
        "daemon": snap.daemon_status,
        "daemon_running": data.daemon_running,
        "portfolio": _portfolio(data),
        "assets": {s: _asset_row(data, g, market) for s, g in data.rollout.assets.items()},
        "rollout": _rollout(data),
        "trades": trades_summary(data.trips),
    }


COLUMNS = (
    "asset",
    "tier",
    "edge bps",
    "focus regime",
    "best",
    "market regime",
    "enabled",
    "mode",
    "trades",
    "PF",
    "max DD %",
    "net USD",
    "days",
    "errors",
    "distrib",
    "gate",
    "risk",
)
# The terminal shows the columns as two tables that fit 100 columns: the profile, then results.
PROFILE_COLUMNS = (
    "asset",
    "tier",
    "edge bps",
    "focus regime",
    "best",
    "market regime",
    "enabled",
    "mode",
    "risk",
)
RESULT_COLUMNS = (
    "asset",
    "trades",
    "PF",
    "max DD %",
    "net USD",
    "days",
    "errors",
    "distrib",
    "gate",
)
# Terminal headers on two lines, and the columns whose cells are one word (never wrapped, never
# cut: the table wraps the others instead).
_TERMINAL_HEADERS = {
    "edge bps": "edge\nbps",
    "focus regime": "focus\nregime",
    "market regime": "market\nregime",
    "max DD %": "max\nDD %",
    "net USD": "net\nUSD",
}
_WRAPPED_COLUMNS = frozenset({"PF", "gate", "risk"})
LEFT_COLUMNS = frozenset(
    {"asset", "focus regime", "market regime", "mode", "gate", "risk", "enabled", "distrib"}
)
LEGEND = (
    "focus regime: the profile's regime; best: its best bucket (tier 3: best selective cell); "
    "market regime: the asset's regime at its latest signal"
)


def _gate_cell(row: Mapping[str, Any]) -> str:
    if row["gate"] == "research_only":
        return "research"
    if row["gate"] == "stable":
        return "stable"
    return f"blocked ({len(row['failing'])})"


def table_cells(row: Mapping[str, Any]) -> list[str]:
    """The text of one asset's table row, in COLUMNS order (the HTML report uses it too)."""
    dist = row["distribution"]
    best = row["best_bucket"] if row["best_bucket"] is not None else row["best_selective_cell"]
    market = row.get("market_regime")
    return [
        row["symbol"],
        str(row["tier"]),
        fmt_num(row["edge_bps"], 1),
        row["regime"] or "-",
        "-" if best is None else str(best),
        market["regime"] if market else "-",
        fmt_bool(row["enabled"]),
        row["mode"] or "-",
        str(row["trades"]),
        fmt_pf(row["pf"], row["wins"], row["trades"]),
        fmt_num(row["max_drawdown_pct"]),
        fmt_usd(row["net_pnl_usd"]),
        fmt_num(row["days_monitored"], 1),
        str(row["critical_errors"]),
        "-" if dist is None else ("unknown" if dist["unknown"] else fmt_bool(dist["matches"])),
        _gate_cell(row),
        fmt_risk(row["risk_score"], row["risk_level"]),
    ]


def portfolio_cells(portfolio: Mapping[str, Any]) -> list[str]:
    """The text of the portfolio row, in COLUMNS order."""
    cells = dict.fromkeys(COLUMNS, "")
    cells["asset"] = "PORTFOLIO"
    cells["edge bps"] = fmt_num(portfolio["weighted_edge_bps"], 1)
    cells["trades"] = str(portfolio["trades"])
    cells["PF"] = fmt_pf(portfolio["pf"], portfolio["wins"], portfolio["trades"])
    cells["max DD %"] = fmt_num(portfolio["max_drawdown_pct"])
    cells["net USD"] = fmt_usd(portfolio["net_pnl_usd"])
    cells["errors"] = str(portfolio["critical_errors"])
    cells["gate"] = "risk stable" if portfolio["risk_stable"] else "risk not stable"
    cells["risk"] = fmt_risk(portfolio["risk_score"], portfolio["risk_level"])
    return [cells[c] for c in COLUMNS]


def blocker_lines(status: Mapping[str, Any]) -> list[str]:
    """What blocks each asset's gate (codes; the JSON has the text), assets alike on one line."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for symbol, row in status["assets"].items():
        if row["gate"] == "not_stable" and row["failing"]:
            groups.setdefault(tuple(b["code"] for b in row["failing"]), []).append(symbol)
    return [f"{', '.join(s)} blocked by {', '.join(codes)}" for codes, s in groups.items()]


def _daemon_line(daemon: Mapping[str, Any] | None, running: bool) -> str:
    if not daemon:
        return "daemon: no daemon_status.json (not started yet, or an older daemon)"
    seen = fmt_wall_utc(daemon.get("updated_at"))
    if not running:
        return f"daemon: not running (last seen {seen}, pid {daemon.get('pid')})"
    feed = daemon.get("feed") or {}
    degraded = ", ".join(feed.get("degraded") or []) or "none"
    return (
        f"daemon: running, pid {daemon.get('pid')}, feed {feed.get('source')}, "
        f"degraded {degraded}, status updated {seen}"
    )


def _ahead_words(ahead: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """`BTCUSDT enabled, gate not met (ETHUSDT pf_below_min, ...)` per asset ahead."""
    out = []
    for symbol, blockers in ahead.items():
        why = ", ".join(f"{b['symbol'] or 'portfolio'} {b['code']}" for b in blockers)
        out.append(f"{symbol} enabled, gate not met ({why})")
    return out


def _forced_words(forced: Mapping[str, Any]) -> str:
    """`forced enable: BTCUSDT (paper) by alice at ... over ETHUSDT pf_below_min, ...`."""
    who = str(forced.get("user"))
    if forced.get("sudo_user"):
        who += f" (sudo from {forced['sudo_user']})"
    over = ", ".join(
        f"{b.get('symbol') or 'portfolio'} {b.get('code')}" for b in forced.get("overridden") or ()
    )
    return (
        f"forced enable: {forced.get('symbol')} ({forced.get('mode')}) by {who} at "
        f"{forced.get('timestamp')} over {over or 'nothing'}"
    )


def rollout_lines(status: Mapping[str, Any]) -> list[str]:
    """Rollout progress as lines of text: phase, done, next, what blocks it, prerequisites."""
    ro = status["rollout"]
    pf = status["portfolio"]
    lines = [
        f"as of bar {fmt_ts(status['as_of_bar_ts'])} UTC; journal fills {status['journal_fills']}",
        _daemon_line(status.get("daemon"), bool(status.get("daemon_running"))),
        f"exposure {fmt_usd(pf['open_exposure_usd'])} / {fmt_usd(pf['max_portfolio_exposure_usd'])}"
        f" USD ({fmt_num(pf['exposure_used_pct'], 1)}%), open positions {pf['open_positions']}",
        f"phase {ro['phase']}; done: {', '.join(ro['done']) or 'none'}",
    ]
    ahead = ro.get("config_ahead_of_gates") or {}
    if ahead:
        lines.append("config ahead of gates: " + "; ".join(_ahead_words(ahead)))
    if ro["next"] is None:
        lines.append("next: none, every tradeable asset is enabled")
    elif ro["next_can_enable"]:
        lines.append(
            f"next: {ro['next']} ({ro['next_mode']}): gate met, run `chloe enable {ro['next']}`"
        )
    else:
        lines.append(f"next: {ro['next']} ({ro['next_mode']}): blocked by")
        lines += [f"  - {b['text']}" for b in ro["blocked_by"]]
    lines += [_forced_words(f) for f in ro.get("forced_enables") or ()]
    for name, phase in ro["phases"].items():
        word = "met" if phase["met"] else f"not met ({len(phase['failing'])} failing)"
        lines.append(f"phase {name} prerequisite: {word}")
    return lines


def _sub_table(
    status: Mapping[str, Any], columns: Sequence[str], title: str | None, caption: str | None
) -> Table:
    index = [COLUMNS.index(c) for c in columns]
    table = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, show_edge=False)
    for column in columns:
        table.add_column(
            _TERMINAL_HEADERS.get(column, column),
            justify="left" if column in LEFT_COLUMNS else "right",
            no_wrap=column not in _WRAPPED_COLUMNS,
        )
    for row in status["assets"].values():
        style = "dim" if row["tier"] == 3 else ("green" if row["stable"] else None)
        cells = table_cells(row)
        table.add_row(*(cells[i] for i in index), style=style)
    cells = portfolio_cells(status["portfolio"])
    table.add_row(*(cells[i] for i in index), style="bold")
    return table


def panel_renderable(status: Mapping[str, Any], title: str = "Chloe multi-asset panel") -> Group:
    """The title and rollout lines, two rich tables (profile, then results and gates) that fit
    100 columns, and what blocks each asset."""
    parts: list[RenderableType] = [Text(title, style="bold")]
    parts += [Text(line) for line in rollout_lines(status)]
    parts += [
        _sub_table(status, PROFILE_COLUMNS, None, LEGEND),
        _sub_table(status, RESULT_COLUMNS, None, None),
    ]
    parts += [Text(line) for line in blocker_lines(status)]
    return Group(*parts)
