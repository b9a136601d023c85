"""`chloe run`: build the daemon from config and journal, run it, stop it cleanly.

Start: validate config (exit 2 on a bad file), recover the book from the journal (exit 3 on a
damaged journal), start one task per asset, READY. SIGTERM/SIGINT: stop between bar times,
commit, write pf_local.json, exit 0. A write that fails (journal, signal log, reports,
checkpoint, events) is fail-stop: one critical `write_failed` line, exit 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from engine_alpha.config.config_loader import ChloeConfig, ConfigError, config_record, load_config
from engine_alpha.config.models import SignalModelChoice
from engine_alpha.core.atomic_files import WriteFailedError
from engine_alpha.core.exit_codes import EXIT_CONFIG, EXIT_FAILED, EXIT_JOURNAL_DAMAGED, EXIT_OK
from engine_alpha.core.formatting import fmt_iso_utc
from engine_alpha.daemon.live_state import LiveStateKeeper, Restored, restore_live_state
from engine_alpha.daemon.runner import Feed, Runner, RunStats, TradingWindow
from engine_alpha.daemon.sd_notify import SdNotifier
from engine_alpha.daemon.startup_gates import reports_too_large, unmet_gates
from engine_alpha.execution.book import Book
from engine_alpha.execution.plans import build_plans, filter_rules, run_symbols
from engine_alpha.execution.trader import AssetPlan, Trader
from engine_alpha.ledger.checkpoint import Checkpointer, recover
from engine_alpha.ledger.journal import Journal, JournalError
from engine_alpha.ledger.pf_report import report_from_book, write_report_atomic
from engine_alpha.ledger.reports_dir import (
    PF_FILE,
    SIGNALS_FILE,
    STATUS_FILE,
    TRADES_FILE,
    report_inputs,
)
from engine_alpha.ledger.signal_log import SignalLog, cut_back
from engine_alpha.market.bars import BarTime
from engine_alpha.market.exchange_errors import FeedError
from engine_alpha.market.replay import NoReplayDataError, ReplayFeed
from engine_alpha.market.rules import MarketRules, MarketRulesError, load_market_rules
from engine_alpha.signals.catalog import identity, model_factory, model_name
from engine_alpha.strategy.filters import FilterRules
from engine_alpha.strategy.task import StrategyTask

if TYPE_CHECKING:
    from engine_alpha.daemon.early_signals import EarlySignals
    from engine_alpha.daemon.metrics import DaemonMetrics
    from engine_alpha.daemon.notifications import DaemonNotifications
    from engine_alpha.market.ccxt_feed import CcxtFeed
    from engine_alpha.notify.apprise_process import AppriseProcess
    from engine_alpha.notify.delivery import Delivery
    from engine_alpha.ops.events import EventFileSink

REPORT_INTERVAL_S = 1.0
METRICS_INTERVAL_S = 0.5  # a replay's metrics snapshot is at most this old (seconds)


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What `chloe run` was asked to do."""

    config_dir: Path
    reports_dir: Path
    replay: bool = False
    data_dir: Path | None = None
    speed: float | None = None
    progress: bool = False


def utc_now_iso() -> str:
    """Wall time for journal lines and reports (ISO 8601, UTC)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class _NoFeed:
    """The feed slot before `run()` opens the real one (a ccxt client needs the event loop)."""

    async def chunks(self) -> AsyncIterator[list[BarTime]]:
        return
        yield


class Daemon:
    """One run of the daemon: its config, book, trader and runner.

    The constructor only records what it was given; `start()` does the I/O (reports directory,
    journal recovery, market rules, live state, the signal log's cut-back) before `run()`.
    """

    book: Book
    journal: Journal
    markets: dict[str, MarketRules]
    symbols: list[str]
    plans: dict[str, AssetPlan]
    restored: Restored
    trader: Trader
    checkpoints: Checkpointer
    runner: Runner

    def __init__(
        self,
        options: RunOptions,
        config: ChloeConfig,
        events: EventFileSink | None = None,
        apprise: AppriseProcess | None = None,
    ) -> None:
        self.options = options
        self.config = config
        self.events = events
        self._apprise = apprise
        self.failed: WriteFailedError | None = None
        self.log = structlog.get_logger("chloe")
        self.notifier = SdNotifier.from_env()
        self.reports_dir = options.reports_dir
        self.live = not options.replay and config.paper.feed.source == "ccxt"
        self.started = False
        self._reload_requested = False
        self._last_report = 0.0
        self._last_status = 0.0
        self._ccxt: CcxtFeed | None = None
        self._config_record = config_record(config)
        self.metrics: DaemonMetrics | None = None
        self._fills_by: dict[tuple[str, str], int] = {}
        self._metrics_published = 0.0
        self.notify: DaemonNotifications | None = None

    def start(self) -> None:
        """Open the reports directory, recover the book from the journal (via its checkpoint),
        load the market rules, build the plans and tasks, restore live model state and cut the
        signal log back to the resume point: everything before the first bar.
        """
        config = self.config
        # A bad notification secrets source is a ConfigError (exit 2), named but never quoted,
        # and refused before anything is written.
        delivery = self._notify_delivery()
        self.reports_dir.mkdir(parents=True, exist_ok=True)
        equity = report_inputs(config)
        self.book = Book(equity["starting_equity_usd"], equity["asset_equity_usd"])
        # Recovery from the journal, via its checkpoint when that matches (ledger/checkpoint.py).
        recovery = recover(self.reports_dir / TRADES_FILE, self.book)
        self.journal, warning = recovery.journal, recovery.torn_warning
        if recovery.checkpoint_problem is not None:
            self.log.warning(
                "checkpoint_ignored",
                path=str(self.journal.path),
                reason=recovery.checkpoint_problem,
            )
        if warning is not None:
            self.log.warning(
                "journal_torn_line_quarantined", path=str(self.journal.path), detail=warning
            )
        self.markets = load_market_rules(Path(config.paper.feed.markets_file))
        self.symbols = run_symbols(config, list(self.book.positions))
        self.plans, rules = self._plan(config, self.markets)
        tasks = {
            symbol: StrategyTask(
                symbol=symbol,
                rules=rules[symbol],
                new_model=model_factory(choice := _model_choice(config, symbol)),
                model_name=model_name(choice),
            )
            for symbol in self.plans
        }
        # Live: continue each model from the checkpoint's live state (live_state.py).
        self.restored = restore_live_state(
            recovery.live_state if self.live else None, tasks, self.book.last_bar_ts
        )
        if self.live:
            self._log_restored(fresh=self.book.lines == 0 and recovery.live_state is None)
        for task in tasks.values():
            task.log_failure(restored=True)  # a stop saved with the state stays a stop
        resume_after = self.restored.resume_after_ms
        signals_path = self.reports_dir / SIGNALS_FILE
        removed = cut_back(signals_path, resume_after)
        if removed:
            self.log.info(
                "signals_cut_back",
                path=str(signals_path),
                bytes_removed=removed,
                resume_after_ms=resume_after,
                note="records of bar times after the resume point; they are re-executed",
            )
        self.trader = Trader(
            book=self.book,
            journal=self.journal,
            signal_log=SignalLog(signals_path),
            plans=self.plans,
            execution=config.paper.execution,
            timeframe=config.paper.feed.timeframe,
            timeframe_ms=config.timeframe_ms,
            max_exposure_usd=config.paper.position_limits.max_portfolio_exposure_usd,
            wall_clock=utc_now_iso,
        )
        self.trader.pending.update(self.restored.pending)
        keeper = LiveStateKeeper(tasks, self.restored) if self.live else None
        self.checkpoints = Checkpointer(
            self.journal,
            self.book,
            saved_lines=recovery.resumed_lines,
            clock=time.monotonic,
            live_state=(
                (lambda: keeper.capture(self.trader.last_bar_ts, self.trader.pending))
                if keeper is not None
                else None
            ),
        )
        if not self.live:
            self.checkpoints.save_if_due()  # a long full recovery
        self.runner = Runner(
            feed=_NoFeed(),
            trader=self.trader,
            tasks=tasks,
            window=TradingWindow(
                resume_after_ms=resume_after,
                max_catchup_bars=config.paper.feed.max_catchup_bars,
                timeframe_ms=config.timeframe_ms,
            ),
            on_commit=self._on_commit,
            after_chunk=self._after_chunk,
        )
        self._build_notifications(delivery)
        self.started = True
        self.log.info(
            "recovered",
            journal_lines=self.book.lines,
            from_checkpoint_lines=recovery.resumed_lines,
            open_positions=sorted(self.book.positions),
            resume_after_ms=resume_after,
        )

    def _notify_delivery(self) -> Delivery | None:
        from engine_alpha.notify.secrets import source_given

        if self._apprise is None and not source_given(self.options.config_dir):
            return None  # no URLs given: nothing of the notifications is imported or started
        from engine_alpha.notify.notifier import delivery_for

        delivery = delivery_for(
            self.config,
            self.options.config_dir,
            structlog.get_logger("chloe.notify"),
            apprise=self._apprise,
        )
        if delivery is None and self._apprise is not None:
            self._apprise.close()  # started early for URLs every event turned off: not needed
        return delivery

    def _build_notifications(self, delivery: Delivery | None) -> None:
        """The notifier when the operator gave apprise URLs (docs/operations.md)."""
        if delivery is None:
            return
        from engine_alpha.notify.notifier import build_notifier

        closed = self.book.closed
        notifier = build_notifier(
            self.config,
            delivery,
            past={s: closed.pnls(s) for s in closed.symbols()},
            portfolio_past=closed.pnls(),
            journal=self.journal.path,
            resume_after_ms=self.restored.resume_after_ms,
            equity=report_inputs(self.config),
        )
        from engine_alpha.daemon.notifications import DaemonNotifications

        self.notify = DaemonNotifications(
            notifier,
            self.config,
            self.reports_dir,
            structlog.get_logger("chloe.notify"),
            self.trader.signal_log,
        )
        self.runner.metered = True

    def _plan(
        self, config: ChloeConfig, markets: dict[str, MarketRules]
    ) -> tuple[dict[str, AssetPlan], dict[str, FilterRules | None]]:
        """The one place plans are built: each asset's plan and profile filter under `config`."""
        plans = build_plans(config, self.symbols, markets)
        return plans, {symbol: filter_rules(config, plan) for symbol, plan in plans.items()}

    def _apply_plans(self, config: ChloeConfig, plans: dict[str, AssetPlan]) -> None:
        """Hand new plans to the trader (caps, execution, exposure limit) and keep them."""
        self.trader.reconfigure(
            plans=plans,
            execution=config.paper.execution,
            max_exposure_usd=config.paper.position_limits.max_portfolio_exposure_usd,
        )
        self.plans = plans
        self.config = config
        self._config_record = config_record(config)
        if self.notify is not None:
            self.notify.reconfigure(config)

    def warmup_bars(self) -> int:
        """The longest warm-up among the assets' models: what the live feed backfills."""
        return max(task.model.warmup_bars for task in self.runner.tasks.values())

    def _log_restored(self, *, fresh: bool) -> None:
        """Say which models continue from saved state, and which warm up and what that changes."""
        restored = self.restored
        if restored.models:
            self.log.info(
                "model_state_restored",
                symbols=sorted(restored.models),
                bar_ts=restored.models,
                pending_orders=sorted(restored.pending),
                resume_after_ms=restored.resume_after_ms,
            )
        if restored.problems and not fresh:
            self.log.warning(
                "model_state_warmup",
                symbols=sorted(restored.problems),
                reasons=restored.problems,
                warmup_bars=self.warmup_bars(),
                effect="these models start from a backfill warm-up: their confidence ranks and "
                "slow averages, and so their next decisions, can differ from an uninterrupted "
                "run's until those windows turn over (about 500 bars)",
            )

    async def _open_feed(self) -> Feed:
        """The replay feed, or the live ccxt feed with the exchange's market rules."""
        feed = self.config.paper.feed
        log = structlog.get_logger("chloe.feed")
        if not self.live:
            data_dir = self.options.data_dir or Path(feed.data_dir)
            replay = ReplayFeed(
                data_dir,
                self.symbols,
                feed.timeframe,
                speed=self.options.speed,
                log=log,
                start_after_ms=self.book.last_bar_ts,
                max_price_jump=feed.max_price_jump,
            )
            replay.require_data()
            self.runner.stats.total_bar_times = replay.total_bar_times
            return replay
        from engine_alpha.market.ccxt_feed import CcxtFeed

        self._ccxt = CcxtFeed(
            feed,
            self.symbols,
            warmup_bars=self.warmup_bars(),
            resume_from=self.restored.models,
            resume_closes=self.restored.closes,
            log=log,
            jitter_s=min(1.0, feed.poll_interval_s / 4),
            settle_s=min(2.0, feed.poll_interval_s),
        )
        try:
            markets = await self._ccxt.load_markets()
        except (FeedError, MarketRulesError) as exc:
            self.log.warning("markets_from_file", reason=str(exc), file=feed.markets_file)
        else:
            known = {s: r for s, r in markets.items() if s in self.plans}
            self.markets = {**self.markets, **known}
            self._apply_plans(self.config, self._plan(self.config, self.markets)[0])
            self.log.info("markets_from_exchange", symbols=sorted(known))
        return self._ccxt

    def write_status(self) -> None:
        """`reports/daemon_status.json`: what the panel shows beside the journal (feed health)."""
        degraded = sorted(self._ccxt.degraded_symbols()) if self._ccxt is not None else []
        status = {
            "updated_at": utc_now_iso(),
            "pid": os.getpid(),
            "feed": {"source": "ccxt" if self.live else "replay", "degraded": degraded},
            "trading": self.config.trading_symbols(),
            "last_bar_ts": self.trader.last_bar_ts,
            "fills_this_run": self.trader.fills_acked,
            "config": self._config_record,
        }
        _write(write_report_atomic, self.reports_dir / STATUS_FILE, status)
        self._last_status = time.monotonic()

    def write_report(self) -> None:
        """Rewrite pf_local.json from the book (atomic replace)."""
        report = report_from_book(
            self.book,
            as_of_bar_ts=self.trader.last_bar_ts,
            generated_at=utc_now_iso(),
            **report_inputs(self.config),
        )
        _write(write_report_atomic, self.reports_dir / PF_FILE, report)
        self._last_report = time.monotonic()

    def check_events(self) -> None:
        """Fail-stop when `events.jsonl` could not be written (the sink cannot raise itself)."""
        if self.events is not None and self.events.failure is not None:
            raise WriteFailedError(self.events.path, self.events.failure)

    def _on_commit(self, traded: bool) -> None:
        if self.live:
            self.log.info(
                "bars_processed",
                last_bar_ts=self.trader.last_bar_ts,
                fills_this_run=self.trader.fills_acked,
                degraded=sorted(self._ccxt.degraded_symbols()) if self._ccxt else [],
            )
        now = time.monotonic()
        if traded and (self.live or now - self._last_report >= REPORT_INTERVAL_S):
            self.write_report()
        if self.live or now - self._last_status >= REPORT_INTERVAL_S:
            self.write_status()
        self.checkpoints.save_if_due()
        self.check_events()
        stats = self.runner.stats
        committed, stats.last_committed = stats.last_committed, []
        if self.metrics is not None:
            self._count_metrics(now, committed)
        if self.notify is not None:
            self.notify.committed(committed, self.trader.last_bar_ts, now, stats.first_bar_ts)

    def _count_metrics(self, now: float, committed: list[dict[str, Any]]) -> None:
        """Every commit: its latency and its fills. The other figures are re-read into a new
        snapshot after each live bar, and at most every METRICS_INTERVAL_S in a replay, whose
        commits come thousands a second."""
        assert self.metrics is not None
        self.metrics.observe_commit(self.runner.stats.last_commit_s)
        for line in committed:
            key = (line["symbol"], line["action"])
            self._fills_by[key] = self._fills_by.get(key, 0) + 1
        if self.live or now - self._metrics_published >= METRICS_INTERVAL_S:
            self._publish_metrics()
            self._metrics_published = now

    def _start_metrics(self) -> None:
        """The opt-in Prometheus endpoint (daemon/metrics.py); a port already taken is logged
        and the daemon trades on without it (metrics never stop a journal)."""
        settings = self.config.paper.metrics
        if not settings.enabled:
            return
        from engine_alpha.daemon.metrics import DaemonMetrics

        metrics = DaemonMetrics(settings.host, settings.port)
        try:
            metrics.start()
        except OSError as exc:
            self.log.warning(
                "metrics_unavailable", host=settings.host, port=settings.port, problem=str(exc)
            )
            return
        self.metrics = metrics
        self.runner.metered = True
        if self.notify is not None:
            metrics.notification_counts = self._notification_counts
        self.log.info("metrics_serving", url=f"http://{settings.host}:{settings.port}/metrics")
        self._publish_metrics()

    def _publish_metrics(self) -> None:
        """Hand the endpoint a fresh snapshot of the figures (after each commit)."""
        from engine_alpha.daemon.metrics import DaemonMetrics
        from engine_alpha.daemon.metrics_snapshot import MetricsSnapshot

        assert self.metrics is not None
        stats = self.runner.stats
        feed = self.runner.feed
        refused: dict[str, int] = dict(getattr(feed, "refused", None) or {})
        equity = report_inputs(self.config)["asset_equity_usd"]
        per_asset = {s: self.book.asset_stats(s, equity[s]) for s in self.book.closed_symbols()}
        snapshot = MetricsSnapshot(
            bars=dict(stats.bars_by_symbol),
            refused=refused,
            fills=dict(self._fills_by),
            journal_fills=self.book.lines,
            exposure_usd={s: p.notional_usd for s, p in self.book.positions.items()},
            profit_factor={s: st.pf for s, st in per_asset.items() if st.pf is not None},
            max_drawdown_pct={s: st.max_drawdown_pct for s, st in per_asset.items()},
            last_bar_ts=self.trader.last_bar_ts,
            feed_lag_s=DaemonMetrics.lag_s(self.trader.last_bar_ts, self.config.timeframe_ms)
            if self.live
            else None,
            degraded=frozenset(self._ccxt.degraded_symbols()) if self._ccxt else frozenset(),
            symbols=tuple(self.symbols),
        )
        self.metrics.snapshot = snapshot

    def _notification_counts(self) -> tuple[int, int]:
        assert self.notify is not None
        counts = self.notify.notifier.delivery.counts
        return counts.sent, counts.dropped

    def status_line(self) -> str:
        """One line for systemd's STATUS=."""
        return status_text(
            tasks=len(self.runner.tasks),
            trading=self.config.trading_symbols(),
            last_bar_ts=self.runner.stats.last_bar_ts,
            fills=self.trader.fills_acked,
        )

    async def _watchdog(self, interval_s: float) -> None:
        while True:
            self.notifier.watchdog()
            self.notifier.status(self.status_line())
            await asyncio.sleep(interval_s)

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        def stop(signame: str) -> None:
            self.log.info("stop_requested", signal=signame)
            self.notifier.stopping()
            self.runner.stop_requested.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop, sig.name)
        loop.add_signal_handler(signal.SIGHUP, self._request_reload)

    def _request_reload(self) -> None:
        self.log.info("reload_requested")
        self._reload_requested = True
        if not self.runner.in_chunk:
            self._after_chunk()

    def _after_chunk(self) -> None:
        if self._reload_requested:
            self._reload_requested = False
            self.notifier.reloading()
            self.reload()
            self.notifier.ready(self.status_line())

    def reload(self) -> bool:
        """Re-read both files; apply what changed per asset, or keep the old config on an error."""
        try:
            new = load_config(self.options.config_dir)
            plans, new_rules = self._plan(new, self.markets)
        except ConfigError as exc:
            self.log.error("reload_rejected", problem=str(exc))
            return False
        if new.paper.feed != self.config.paper.feed:
            self.log.warning("reload_feed_change_needs_restart", field="feed")
        changed = []
        for symbol, plan in plans.items():
            rules = new_rules[symbol]
            task = self.runner.tasks[symbol]
            if self._replace_model(
                task, _model_choice(self.config, symbol), _model_choice(new, symbol)
            ):
                changed.append(symbol)
            if plan != self.plans[symbol] or rules != task.rules:
                if symbol not in changed:
                    changed.append(symbol)
                task.rules = rules
                if not plan.trades:
                    self.trader.pending.pop(symbol, None)
        self._apply_plans(new, plans)
        for symbol in changed:
            plan = plans[symbol]
            self.log.info(
                "reload_asset_changed",
                symbol=symbol,
                trades=plan.trades,
                mode=plan.mode,
                per_trade_usd=plan.caps.per_trade_usd if plan.caps else None,
                daily_usd=plan.caps.daily_usd if plan.caps else None,
                open_position=symbol in self.book.positions,
            )
        self.log.info(
            "reload_applied",
            changed=changed,
            trading=new.trading_symbols(),
            last_bar_ts=self.trader.last_bar_ts,
        )
        return True

    def _replace_model(
        self, task: StrategyTask, old: SignalModelChoice | None, new: SignalModelChoice | None
    ) -> bool:
        """At a reload: a changed model or parameters start cold on this asset only."""
        if identity(old) == identity(new):
            return False
        task.replace_model(model_factory(new), model_name(new))
        self.log.warning(
            "reload_model_changed",
            symbol=task.symbol,
            model=identity(new),
            warmup_bars=task.model.warmup_bars,
            effect="the new model starts cold from the next bar: this asset takes no new "
            "signal until it has seen its warm-up bars; open positions keep their exits",
        )
        return True

    async def _warn_unmet_gates(self) -> None:
        """SPEC §5: an enabled asset whose gate is unmet runs, with a warning at start.

        The gates read the reports in full, so they run in a thread after READY, and not at all
        on reports too large to read at start (`chloe status` shows them); the notifications'
        first gate reading, when there is one, serves instead of a second.
        """
        size = reports_too_large(self.reports_dir)
        if size is not None:
            self.log.info("gate_check_skipped", reports_bytes=size, hint="run chloe status")
            return
        first = self.notify.first_reading if self.notify is not None else None
        if first is not None:
            unmet = dict(first.ahead)
        else:
            unmet = await asyncio.to_thread(unmet_gates, self.config, self.reports_dir)
        for symbol, blockers in unmet.items():
            self.log.warning(
                "gate_unmet_at_start",
                symbol=symbol,
                blockers=[f"{b.code}:{b.symbol}" for b in blockers],
                note="enabled in the config, which is the operator's last word: it runs",
            )

    async def run(
        self,
        on_progress: Callable[[RunStats], None] | None = None,
        early: EarlySignals | None = None,
    ) -> RunStats:
        """Run until the feed ends or a stop signal; always commit and write the report."""
        if not self.started:
            self.start()
        loop = asyncio.get_running_loop()
        self._install_signals(loop)
        if early is not None and early.stop is not None:  # sent while starting: honour it now
            self.log.info("stop_requested", signal=early.stop, while_starting=True)
            self.runner.stop_requested.set()
        if early is not None and early.reload:
            self.log.info("reload_requested", while_starting=True)
            self._reload_requested = True
        self.runner.on_progress = on_progress
        self.runner.feed = await self._open_feed()
        self._start_metrics()
        self.runner.start_tasks()
        # The hot path makes short-lived acyclic objects (bars, decisions): move what start-up
        # built out of the collector's way and collect young objects less often.
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        if self.notify is not None:
            await self.notify.start(
                self.events,
                feed="ccxt" if self.live else "replay",
                trading=self.config.trading_symbols(),
                lines=self.book.lines,
            )
        self.notifier.ready(self.status_line())
        self.log.info(
            "started",
            symbols=self.symbols,
            trading=self.config.trading_symbols(),
            feed="ccxt" if self.live else "replay",
            reports_dir=str(self.reports_dir),
        )
        gate_check = asyncio.create_task(self._warn_unmet_gates(), name="gate-check")
        interval = self.notifier.watchdog_interval_s()
        watchdog = (
            asyncio.create_task(self._watchdog(interval), name="watchdog") if interval else None
        )
        try:
            self.check_events()
            return await self.runner.run()
        except WriteFailedError as exc:
            self.failed = exc
            raise
        finally:
            await self._wind_down(loop, gate_check, watchdog)

    async def _wind_down(
        self,
        loop: asyncio.AbstractEventLoop,
        gate_check: asyncio.Task[None],
        watchdog: asyncio.Task[None] | None,
    ) -> None:
        """Stop the side tasks and the strategy tasks, then the final writes (unless a write
        failed) and close the files."""
        await gate_check
        if self.notify is not None:
            await self.notify.settle()
        if watchdog is not None:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        await self.runner.stop_tasks()
        if self._ccxt is not None:
            await self._ccxt.close()
        if self.metrics is not None:
            self.metrics.stop()
        try:
            if self.failed is None:  # after a failed write, nothing more is written
                self._final_writes()
        finally:
            self.trader.signal_log.close(flush=False)
            self.journal.close()
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    def _final_writes(self) -> None:
        """At a stop: commit the bar times stepped, then the report, status and checkpoint."""
        try:
            committed = self.trader.commit()
            if self.notify is not None:
                self.notify.last_commit(committed, self.trader.last_bar_ts)
            self.write_report()
            self.write_status()
            self.checkpoints.save()
            self.check_events()
        except WriteFailedError as exc:
            self.failed = exc
            raise


def status_text(*, tasks: int, trading: list[str], last_bar_ts: int | None, fills: int) -> str:
    """systemd's STATUS= for people: the last bar in UTC ISO, left out before the first bar."""
    parts = [f"tasks={tasks}", f"trading={','.join(trading) or 'none'}"]
    if last_bar_ts is not None:
        parts.append(f"last_bar={fmt_iso_utc(last_bar_ts)}")
    parts.append(f"fills={fills}")
    return " ".join(parts)


def _model_choice(config: ChloeConfig, symbol: str) -> SignalModelChoice | None:
    """The model an asset's profile names (None: the default breakout, or no profile)."""
    profile = config.profiler.assets.get(symbol)
    return None if profile is None else profile.signal_model


def _write(write: Callable[[Path, Any], None], path: Path, data: Any) -> None:
    """One of the daemon's report writes; an OSError becomes `WriteFailedError` (fail-stop)."""
    try:
        write(path, data)
    except OSError as exc:
        raise WriteFailedError(path, exc) from exc


def run_daemon(
    options: RunOptions,
    on_progress: Callable[[RunStats], None] | None = None,
    events: EventFileSink | None = None,
    early: EarlySignals | None = None,
    apprise: AppriseProcess | None = None,
) -> tuple[int, Daemon | None]:
    """Start, run and stop the daemon; returns the exit status and the daemon that ran.
    `apprise`: a process started early for the notifications (else one is started when
    needed)."""
    log = structlog.get_logger("chloe")
    try:
        config = load_config(options.config_dir)
    except ConfigError as exc:
        log.error("config_rejected", problem=str(exc))
        print(f"chloe: config rejected:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG, None
    daemon: Daemon | None = None
    try:
        starting = Daemon(options, config, events, apprise)
        starting.start()
        daemon = starting
        asyncio.run(daemon.run(on_progress, early))
    except ConfigError as exc:
        log.error("config_rejected", problem=str(exc))
        print(f"chloe: config rejected:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG, None
    except JournalError as exc:
        log.critical("journal_damaged", problem=str(exc))
        print(f"chloe: journal damaged, refusing to start:\n{exc}", file=sys.stderr)
        return EXIT_JOURNAL_DAMAGED, None
    except WriteFailedError as exc:
        # One path for every file the daemon writes: what was acknowledged is on disk, the
        # unacknowledged rest was rolled back, and nothing more is written (docs/operations.md).
        log.critical("write_failed", path=str(exc.path), file=exc.path.name, error=str(exc.cause))
        print(f"chloe: cannot write {exc.path}: {exc.cause}; stopping", file=sys.stderr)
        if daemon is not None and daemon.notify is not None:
            daemon.notify.finish(stopped=None)
        return EXIT_FAILED, daemon
    except NoReplayDataError as exc:
        log.error("replay_data_missing", data_dir=str(exc.data_dir), problem=str(exc))
        print(f"chloe: {exc}", file=sys.stderr)
        return EXIT_CONFIG, None
    portfolio = daemon.book.portfolio_stats(config.paper.position_limits.starting_equity_usd)
    log.info(
        "stopped",
        fills=daemon.trader.fills_acked,
        bars=daemon.runner.stats.bars,
        last_bar_ts=daemon.runner.stats.last_bar_ts,
        trades=portfolio.trades,
        pf=portfolio.pf,
        max_drawdown_pct=portfolio.max_drawdown_pct,
        net_pnl_usd=portfolio.net_pnl_usd,
        open_positions=sorted(daemon.book.positions),
    )
    if daemon.notify is not None:
        daemon.notify.finish(
            stopped={
                "fills": daemon.trader.fills_acked,
                "last_bar_ts": daemon.runner.stats.last_bar_ts,
                "portfolio": portfolio,
            }
        )
    return EXIT_OK, daemon
