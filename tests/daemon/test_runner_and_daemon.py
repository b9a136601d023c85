"""The runner's batching and the daemon's start and stop, in process (no subprocess).

A feed hands out chunks of bar times; every asset decides a whole chunk at once, the trader steps
its bar times in order and the journal commits once per chunk. The daemon built from the shipped
config on the bundled data runs to the end in process and leaves sound reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from engine_alpha.config.config_loader import load_config
from engine_alpha.daemon.runner import Runner, RunStats, TradingWindow
from engine_alpha.daemon.service import Daemon, RunOptions
from engine_alpha.market.bars import Bar, BarTime
from engine_alpha.ops.journal_verify import check_reports
from engine_alpha.strategy.task import StrategyTask
from tests.execution.test_trader_scenarios import HOUR, T0, _trader


class _ListFeed:
    """Chunks given in advance (the Feed protocol: replay and live hand chunks the same way)."""

    def __init__(self, chunks: list[list[BarTime]]) -> None:
        self._chunks = chunks

    async def chunks(self) -> AsyncIterator[list[BarTime]]:
        for chunk in self._chunks:
            yield chunk


def _bar_times(symbols: list[str], hours: range) -> list[BarTime]:
    return [
        BarTime(T0 + h * HOUR, [Bar(s, T0 + h * HOUR, 100, 101, 99, 100, 10.0) for s in symbols])
        for h in hours
    ]


def _runner(tmp: Path, chunks: list[list[BarTime]]) -> tuple[Runner, list[bool]]:
    symbols = ["ETHUSDT", "BTCUSDT"]
    commits: list[bool] = []
    runner = Runner(
        feed=_ListFeed(chunks),
        trader=_trader(tmp, symbols),
        tasks={s: StrategyTask(symbol=s, rules=None) for s in symbols},
        window=TradingWindow(resume_after_ms=None),
        on_commit=commits.append,
    )
    return runner, commits


async def _run(runner: Runner) -> RunStats:
    """Start the strategy tasks, drive the feed to its end (or a stop), stop the tasks."""
    runner.start_tasks()
    try:
        return await runner.run()
    finally:
        await runner.stop_tasks()


def test_each_chunk_is_decided_at_once_stepped_in_order_and_committed_once(tmp_path: Path) -> None:
    times = _bar_times(["ETHUSDT", "BTCUSDT"], range(5))
    runner, commits = _runner(tmp_path, [times[:3], times[3:]])

    stats = asyncio.run(_run(runner))
    assert (stats.chunks, stats.bar_times, stats.bars) == (2, 5, 10)
    assert stats.last_bar_ts == times[-1].ts_ms
    assert commits == [True, True]
    assert all(task.model.bars_seen == 5 for task in runner.tasks.values())


def test_a_stop_requested_between_chunks_leaves_the_rest_unread(tmp_path: Path) -> None:
    times = _bar_times(["ETHUSDT", "BTCUSDT"], range(6))
    runner, commits = _runner(tmp_path, [times[:2], times[2:4], times[4:]])
    runner.on_progress = lambda stats: runner.stop_requested.set()

    stats = asyncio.run(_run(runner))
    assert (stats.chunks, stats.bar_times, stats.last_bar_ts) == (1, 2, times[1].ts_ms)
    assert commits == [True]


def test_the_daemon_runs_the_bundled_replay_in_process_and_stops_with_sound_reports(
    config_dir: Path, tmp_path: Path
) -> None:
    config = load_config(config_dir)
    reports = tmp_path / "reports"
    daemon = Daemon(RunOptions(config_dir=config_dir, reports_dir=reports, replay=True), config)
    stats = asyncio.run(daemon.run())
    assert stats.bar_times > 4_000 and daemon.trader.fills_acked > 0
    assert daemon.book.lines == daemon.trader.fills_acked
    check = check_reports(reports, config)
    assert check.ok, check.render()
    again = Daemon(RunOptions(config_dir=config_dir, reports_dir=reports, replay=True), config)
    assert asyncio.run(again.run()).bar_times > 0
    assert again.trader.fills_acked == 0  # resumed at the journal's end: nothing to redo


def test_the_daemon_constructor_does_no_io_and_start_recovers_and_plans(
    config_dir: Path, tmp_path: Path
) -> None:
    config = load_config(config_dir)
    reports = tmp_path / "not-yet" / "reports"
    daemon = Daemon(RunOptions(config_dir=config_dir, reports_dir=reports, replay=True), config)
    assert not reports.parent.exists()  # nothing opened, created or read
    daemon.start()
    assert reports.is_dir() and daemon.book.lines == 0
    # one plan and one task per asset the profiler names, trading exactly the enabled ones
    assert list(daemon.plans) == list(daemon.runner.tasks) == config.run_order()
    assert {s for s, p in daemon.plans.items() if p.trades} == set(config.trading_symbols())
    assert asyncio.run(daemon.run()).bar_times > 0  # run() after start() does not start again
    assert daemon.book.lines == daemon.trader.fills_acked
