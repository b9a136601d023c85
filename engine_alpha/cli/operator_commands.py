"""The handlers of the operator's subcommands (`cli_ops` registers them and imports this lazily).

Reading commands never write the reports; enable/disable edit the paper config atomically and
say how to apply the change. docs/rollout.md describes each command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import structlog
from rich.console import Console
from rich.table import Table

from engine_alpha.cli import folders
from engine_alpha.config.config_edit import set_asset_state
from engine_alpha.config.config_loader import ChloeConfig, ConfigError, load_config
from engine_alpha.core.exit_codes import EXIT_CONFIG, EXIT_FAILED, EXIT_JOURNAL_DAMAGED, EXIT_OK
from engine_alpha.core.formatting import fmt_num, fmt_risk, fmt_usd
from engine_alpha.dashboard.multi_asset_panel import PanelData, gather, status_dict
from engine_alpha.ledger.journal import JournalError
from engine_alpha.market.bars import Bar
from engine_alpha.ops.blockers import Blocker
from engine_alpha.ops.events import EVENTS_FILE, errors_by_symbol
from engine_alpha.ops.gates import enable_blockers
from engine_alpha.ops.log_setup import configure_logging
from engine_alpha.ops.operator_log import (
    ACK_EVENT,
    ENABLE_EVENT,
    EventAppender,
    operator_record,
)
from engine_alpha.ops.reports_reader import SIGNALS_FILE, load_bars, read_jsonl
from engine_alpha.risk.multi_asset_risk_engine import RiskReport

__all__ = ["HANDLERS", "run_command"]

APPLY_HINT = "apply it: sudo systemctl reload chloe  (or restart chloe.service)"

Handler = Callable[[argparse.Namespace], int]


class _CommandError(Exception):
    """A command stops with a message on stderr and an exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _dirs(args: argparse.Namespace) -> tuple[Path, Path]:
    return folders.config_dir(args), folders.reports_dir(args)


def _config(config_dir: Path) -> ChloeConfig:
    try:
        return load_config(config_dir)
    except ConfigError as exc:
        raise _CommandError(EXIT_CONFIG, f"config rejected:\n{exc}") from None


def _bars(config: ChloeConfig, data: str | None) -> dict[str, list[Bar]]:
    feed = config.paper.feed
    return load_bars(Path(data or feed.data_dir), config.paper.activation_order, feed.timeframe)


def _gather(args: argparse.Namespace) -> PanelData:
    config_dir, reports_dir = _dirs(args)
    config = _config(config_dir)
    try:
        data = gather(config, reports_dir, _bars(config, getattr(args, "data", None)))
    except JournalError as exc:
        raise _CommandError(
            EXIT_JOURNAL_DAMAGED, f"journal damaged, cannot read it:\n{exc}"
        ) from None
    for name, skipped in sorted(data.snapshot.skipped_lines.items()):
        if skipped:
            print(
                f"chloe: {reports_dir / name}: {skipped} line(s) skipped (not a JSON object"
                + (" with an int bar_ts" if name == SIGNALS_FILE else "")
                + "); the figures leave them out",
                file=sys.stderr,
            )
    return data


def _json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _console() -> Console:
    return Console(width=None if sys.stdout.isatty() else 200)


def _cmd_status(args: argparse.Namespace) -> int:
    from engine_alpha.dashboard.multi_asset_panel import panel_renderable

    status = status_dict(_gather(args))
    if args.json:
        _json(status)
    else:
        _console().print(panel_renderable(status))
    return EXIT_OK


def _cmd_panel(args: argparse.Namespace) -> int:
    from engine_alpha.dashboard.live_panel import LivePanel, run_live_panel

    config_dir, reports_dir = _dirs(args)
    _config(config_dir)
    return run_live_panel(
        LivePanel(config_dir, reports_dir), interval_s=args.interval, max_polls=args.polls
    )


def _risk_table(report: RiskReport) -> Table:
    table = Table(title="Chloe risk engine")
    cols = ["asset", "enabled", "mode", "cap USD", "edge bps", "open USD", "ATR % now/EWMA-500"]
    cols += ["vol mult", "trades/day", "max DD %", "risk"]
    for col in cols:
        table.add_column(col, justify="left" if col in ("asset", "enabled", "mode") else "right")
    for a in report.assets.values():
        vol = a.volatility
        mult = fmt_num(vol.multiplier) + (" (applied)" if a.applies_vol_multiplier else "")
        table.add_row(
            a.symbol,
            "yes" if a.enabled else "no",
            a.mode,
            fmt_usd(a.per_trade_cap_usd),
            fmt_num(a.edge_bps, 1),
            fmt_usd(a.open_exposure_usd),
            f"{fmt_num(vol.recent_pct, 3)}/{fmt_num(vol.baseline_pct, 3)}",
            mult,
            f"{fmt_num(a.expected_trades_per_day, 3)} ({a.expected_trades_source})",
            fmt_num(a.max_drawdown_pct),
            fmt_risk(a.risk_score, a.risk_level),
        )
    return table


def _cmd_risk(args: argparse.Namespace) -> int:
    report = _gather(args).risk
    if args.json:
        _json(report.as_dict())
        return EXIT_OK
    p = report.portfolio
    console = _console()
    console.print(_risk_table(report))
    console.print(
        f"portfolio ({', '.join(p.enabled_assets) or 'nothing enabled'}): weighted edge "
        f"{fmt_num(p.weighted_edge_bps)} bps, expected {fmt_num(p.expected_trades_per_day, 2)} "
        f"trades/day, exposure {fmt_usd(p.open_exposure_usd)} / "
        f"{fmt_usd(p.max_portfolio_exposure_usd)} USD ({fmt_num(p.exposure_used_pct, 1)}%), "
        f"max DD {fmt_num(p.max_drawdown_pct)}%, risk {fmt_risk(p.risk_score, p.risk_level)}, "
        + ("stable" if p.stable else "not stable: " + "; ".join(b.text() for b in p.blockers))
    )
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from engine_alpha.dashboard.html_report import curves, heatmaps, render_html, write_html
    from engine_alpha.dashboard.trades_view import trades_section_html
    from engine_alpha.research.html import read_summary, read_sweep, research_section_html

    data = _gather(args)
    path = Path(args.html)
    reports = data.snapshot.reports_dir
    research = research_section_html(read_summary(reports), read_sweep(reports))
    status = status_dict(data)
    trades = trades_section_html(status["trades"], data.trips, data.bars)
    write_html(path, render_html(status, curves(data), heatmaps(data), research, trades))
    print(f"wrote {path}")
    return EXIT_OK


def _symbol(config: ChloeConfig, raw: str) -> str:
    symbol = raw.upper()
    if symbol not in config.profiler.assets:
        known = ", ".join(sorted(config.profiler.assets))
        raise _CommandError(EXIT_CONFIG, f"unknown symbol {raw!r} (known: {known})")
    return symbol


def _print_blockers(blockers: Sequence[Blocker]) -> None:
    for blocker in blockers:
        print(f"  - {blocker.text()}")


def _edit(config_dir: Path, symbol: str, enabled: bool, mode: str | None) -> None:
    try:
        result = set_asset_state(config_dir, symbol, enabled=enabled, mode=mode)
    except ConfigError as exc:
        raise _CommandError(
            EXIT_CONFIG, f"edit refused, the config would be invalid:\n{exc}"
        ) from None
    if result.reformatted:
        print(f"note: {result.path} was rewritten with the standard 2-space JSON formatting")


def _appender(reports_dir: Path) -> EventAppender:
    path = reports_dir / EVENTS_FILE
    try:
        return EventAppender(path)
    except OSError as exc:
        raise _CommandError(
            EXIT_FAILED, f"cannot record the change in {path}: {exc.strerror}; nothing changed"
        ) from None


def _record(appender: EventAppender, record: Mapping[str, Any], done: str) -> None:
    try:
        appender.write(record)
    except OSError as exc:
        raise _CommandError(
            EXIT_FAILED, f"{done}, but recording it in {appender.path} failed: {exc.strerror}"
        ) from None


def _refuse_or_force(symbol: str, blockers: Sequence[Blocker], mode: str, force: bool) -> bool:
    """Print why the gate refuses (False), or the forced override (True); True when met."""
    if blockers and not force:
        print(f"refused: the gate for {symbol} is not met:", file=sys.stderr)
        for b in blockers:
            print(f"  - {b.text()}", file=sys.stderr)
        print("enable anyway with --force (it is recorded as forced)", file=sys.stderr)
        return False
    if blockers:
        print(f"FORCED: enabling {symbol} although its gate is not met:")
        _print_blockers(blockers)
        if not structlog.is_configured():
            configure_logging()
        structlog.get_logger("chloe.ops").warning(
            "forced_enable",
            symbol=symbol,
            mode=mode,
            blockers=[b.code + (f":{b.symbol}" if b.symbol else "") for b in blockers],
        )
    return True


def _cmd_enable(args: argparse.Namespace) -> int:
    config_dir, reports_dir = _dirs(args)
    config = _config(config_dir)
    symbol = _symbol(config, args.symbol)
    profile = config.profiler.assets[symbol]
    entry = config.paper.enabled_assets.get(symbol)
    if profile.tier == 3 or entry is None:
        print(
            f"refused: {symbol} is tier 3 (edge {profile.edge_bps} bps): research only, never "
            "tradeable; --force does not override this",
            file=sys.stderr,
        )
        return EXIT_FAILED
    mode = args.mode or entry.mode
    if entry.enabled and mode == entry.mode:
        print(f"{symbol} is already enabled ({mode}); nothing changed")
        return EXIT_OK
    if entry.enabled:
        _edit(config_dir, symbol, True, mode)
        print(f"set {symbol} to {mode} in {config_dir}; {APPLY_HINT}")
        return EXIT_OK
    blockers = enable_blockers(config, _gather(args).rollout, symbol)
    if not _refuse_or_force(symbol, blockers, mode, args.force):
        return EXIT_FAILED
    appender = _appender(reports_dir)
    try:
        _edit(config_dir, symbol, True, mode)
        record = operator_record(
            ENABLE_EVENT,
            "warning" if blockers else "info",
            datetime.now(UTC),
            symbol=symbol,
            mode=mode,
            forced=bool(blockers),
            overridden=[b.as_dict() for b in blockers],
            config_dir=str(config_dir),
        )
        _record(appender, record, "the config was changed")
    finally:
        appender.close()
    print(f"enabled {symbol} ({mode}) in {config_dir}; {APPLY_HINT}")
    return EXIT_OK


def _cmd_disable(args: argparse.Namespace) -> int:
    config_dir, _ = _dirs(args)
    config = _config(config_dir)
    symbol = _symbol(config, args.symbol)
    entry = config.paper.enabled_assets.get(symbol)
    if entry is None or not entry.enabled:
        print(f"{symbol} is not enabled; nothing changed")
        return EXIT_OK
    holds = _gather(args).history.asset(symbol).open_notional_usd > 0
    _edit(config_dir, symbol, False, None)
    print(f"disabled {symbol} in {config_dir}; {APPLY_HINT}")
    if holds:
        print(f"note: {symbol} holds an open position: it runs exit-only until it is flat")
    return EXIT_OK


def _cmd_ack(args: argparse.Namespace) -> int:
    config_dir, reports_dir = _dirs(args)
    config = _config(config_dir)
    symbol = None if args.symbol is None else _symbol(config, args.symbol)
    path = reports_dir / EVENTS_FILE
    counts = errors_by_symbol(read_jsonl(path)[0])
    pending = {
        key or "portfolio": n for key, n in counts.items() if symbol is None or key == symbol
    }
    if not pending:
        print(f"no error events to acknowledge{f' for {symbol}' if symbol else ''} in {path}")
        return EXIT_OK
    appender = _appender(reports_dir)
    try:
        record = operator_record(
            ACK_EVENT,
            "info",
            datetime.now(UTC),
            symbol=symbol,
            acknowledged=pending,
            note=args.note,
        )
        _record(appender, record, "nothing was acknowledged")
    finally:
        appender.close()
    what = ", ".join(f"{key} {n}" for key, n in pending.items())
    print(f"acknowledged {sum(pending.values())} error events ({what}) in {path}")
    return EXIT_OK


def _wrap(handler: Handler) -> Handler:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except _CommandError as exc:
            print(f"chloe: {exc}", file=sys.stderr)
            return exc.code

    return run


HANDLERS: Mapping[str, Handler] = {
    "status": _wrap(_cmd_status),
    "panel": _wrap(_cmd_panel),
    "enable": _wrap(_cmd_enable),
    "disable": _wrap(_cmd_disable),
    "risk": _wrap(_cmd_risk),
    "report": _wrap(_cmd_report),
    "ack": _wrap(_cmd_ack),
}


def run_command(name: str, args: argparse.Namespace) -> int:
    """Run subcommand `name`; a refusal or a bad input becomes a message and an exit code."""
    return HANDLERS[name](args)
