"""The gate readings behind gate met / gate lost: after the first, a daemon reads no journal or
signal log again, it uses what it made durable (each commit's lines, the signal log's flushed
records). Each reading must equal one of the files themselves, across a restart that continues
the journal, with readings at every day's end."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import PAPER_FILE, load_config
from engine_alpha.core.atomic_files import WriteFailedError
from engine_alpha.daemon import notifications
from engine_alpha.daemon.runner import Runner
from engine_alpha.daemon.service import Daemon, RunOptions, run_daemon
from engine_alpha.daemon.startup_gates import rollout_now, rollout_of
from engine_alpha.ledger.reports_dir import SIGNALS_FILE
from engine_alpha.ledger.signal_log import SignalLog
from engine_alpha.ops.gates import RolloutState
from engine_alpha.ops.history import LedgerHistory
from engine_alpha.ops.reports_reader import read_jsonl
from tests.conftest import SAMPLE_DATA, EditConfig
from tests.live.test_parity import _cut_sample
from tests.notify_receiver import Receiver

pytestmark = pytest.mark.slow  # two replays in this process


def _readings_everywhere(d: dict[str, Any]) -> None:
    for symbol in ("ETHUSDT", "BTCUSDT", "MATICUSDT", "DOGEUSDT"):
        d["enabled_assets"][symbol]["enabled"] = True
    d["notifications"] = {"gate_check_interval_s": 0, "queue_size": 100_000, "flush_s": 30}


def test_each_run_ends_with_the_reading_the_files_give(
    config_dir: Path, edit_config: EditConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit_config(PAPER_FILE, _readings_everywhere)
    config = load_config(config_dir)
    reports = tmp_path / "reports"
    _cut_sample(tmp_path / "cut", 2000)
    with Receiver() as receiver:
        monkeypatch.setenv("CHLOE_NOTIFY_URLS", receiver.url)
        for data in (tmp_path / "cut" / "ohlcv", SAMPLE_DATA):  # the second run continues
            options = RunOptions(config_dir, reports, replay=True, data_dir=data)
            code, daemon = run_daemon(options)
            assert code == 0 and daemon is not None and daemon.notify is not None
            assert daemon.trader.fills_acked > 0
            files = rollout_now(config, reports)
            assert daemon.notify.last_reading == files
            assert daemon.notify.last_reading is not daemon.notify.first_reading
    signals, skipped = read_jsonl(reports / SIGNALS_FILE)
    assert skipped == 0 and len(signals) > 1000


def test_the_signal_log_hands_over_only_what_is_durable(tmp_path: Path) -> None:
    path = tmp_path / SIGNALS_FILE
    log = SignalLog(path)
    log.record({"bar_ts": 1, "reason": "before"})  # queued before keeping began: not handed
    with pytest.raises(RuntimeError, match="waiting for a flush"):
        log.keep([].extend)
    log.flush()
    kept: list[dict[str, Any]] = []
    log.keep(kept.extend)
    log.record({"bar_ts": 2, "reason": "a"})
    log.record({"bar_ts": 3, "reason": "b"})
    assert kept == []  # not durable yet
    log.flush()
    assert kept == read_jsonl(path)[0][1:]
    log.record({"bar_ts": 4, "reason": "c"})
    log.keep(None)  # stopping to keep never fails, records queued or not
    log.flush()
    log.close()
    assert [r["bar_ts"] for r in read_jsonl(path)[0]] == [1, 2, 3, 4]
    assert [r["bar_ts"] for r in kept] == [2, 3]


def test_records_whose_flush_failed_are_not_handed_over(tmp_path: Path) -> None:
    log = SignalLog(tmp_path / SIGNALS_FILE)
    kept: list[dict[str, Any]] = []
    log.keep(kept.extend)
    log.record({"bar_ts": 1})
    log.flush()
    full = os.open("/dev/full", os.O_WRONLY)
    try:
        os.dup2(full, log._fd)  # type: ignore[arg-type]  # the disk fills up under the log
    finally:
        os.close(full)
    log.record({"bar_ts": 2})
    with pytest.raises(WriteFailedError):
        log.flush()
    log.close(flush=False)
    assert kept == [{"bar_ts": 1}]


def _notified_replay(config_dir: Path, reports: Path, monkeypatch: pytest.MonkeyPatch) -> Daemon:
    """The sample replay with notifications to a loopback receiver; it must end cleanly."""
    with Receiver() as receiver:
        monkeypatch.setenv("CHLOE_NOTIFY_URLS", receiver.url)
        code, daemon = run_daemon(
            RunOptions(config_dir, reports, replay=True, data_dir=SAMPLE_DATA)
        )
    assert code == 0 and daemon is not None and daemon.notify is not None
    return daemon


def test_after_a_failed_reading_the_reports_are_read_in_full(
    config_dir: Path, edit_config: EditConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reading that fails mid-fold may leave the folded history half done: it is dropped and
    every later reading reads the files, so the last one still equals them."""
    edit_config(PAPER_FILE, _readings_everywhere)
    config = load_config(config_dir)
    reports = tmp_path / "reports"
    histories: list[LedgerHistory] = []

    def failing_third(*args: Any) -> RolloutState:
        histories.append(args[2])
        if len(histories) == 3:
            raise OSError("the disk went away for a moment")
        return rollout_of(*args)

    monkeypatch.setattr(notifications, "rollout_of", failing_third)
    daemon = _notified_replay(config_dir, reports, monkeypatch)
    assert daemon.notify is not None and len(histories) > 5
    assert histories[1] is histories[0]  # folded: the same history carried forward
    after = histories[3:]
    assert len({id(h) for h in after}) == len(after)  # each read afresh from the files
    assert daemon.notify.last_reading == rollout_now(config, reports)


def test_after_a_flush_the_fold_refused_the_reports_are_read_in_full(
    config_dir: Path,
    edit_config: EditConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The signal log's flushes are folded on the loop as they end; a record the fold refuses
    (here a stamp `int()` refuses, slipped into the third flush) costs the fold, never the
    flush or the commit: the next readings read the files, and the last one equals them."""
    edit_config(PAPER_FILE, _readings_everywhere)
    config = load_config(config_dir)
    reports = tmp_path / "reports"
    histories: list[LedgerHistory] = []
    flushes: list[int] = []
    fold = notifications.DaemonNotifications._flushed

    def third_refused(self: Any, records: list[dict[str, Any]]) -> None:
        flushes.append(len(histories))
        bad = [{"symbol": "BTCUSDT", "bar_ts": "not a time"}] if len(flushes) == 3 else []
        fold(self, records + bad)

    def recorded(*args: Any) -> RolloutState:
        histories.append(args[2])
        return rollout_of(*args)

    monkeypatch.setattr(notifications.DaemonNotifications, "_flushed", third_refused)
    monkeypatch.setattr(notifications, "rollout_of", recorded)
    daemon = _notified_replay(config_dir, reports, monkeypatch)
    assert daemon.notify is not None and "gate_fold_failed" in capsys.readouterr().out
    readings_before = flushes[2]  # readings taken before the refused flush
    assert len(histories) > readings_before + 2
    assert all(h is histories[0] for h in histories[:readings_before])  # folded till then
    after = histories[readings_before:]
    assert len({id(h) for h in after}) == len(after)  # each read afresh from the files
    assert daemon.notify.last_reading == rollout_now(config, reports)
    signals, skipped = read_jsonl(reports / SIGNALS_FILE)
    assert skipped == 0 and len(signals) == daemon.trader.signal_log.records


def test_the_stops_reading_holds_the_stops_own_commit_and_begins_before_the_last_writes(
    config_dir: Path, edit_config: EditConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bar times stepped but not committed when the run ends go out in the stop's commit: the
    last gate reading must hold their fills too. It begins right after that commit, on a thread
    of its own, beside the report, status and checkpoint writes (the stop waits less)."""
    edit_config(PAPER_FILE, _readings_everywhere)
    config = load_config(config_dir)
    reports = tmp_path / "reports"
    commit = Runner._commit

    def only_the_first_three(self: Runner, per_symbol: dict[str, Any]) -> None:
        if self.stats.chunks <= 3:  # the rest waits for the stop's commit
            commit(self, per_symbol)

    order: list[str] = []
    write_report = Daemon.write_report

    def noted_report(self: Daemon) -> None:
        begun = self.notify is not None and self.notify._last_state is not None
        order.append(f"report, last reading begun: {begun}")
        write_report(self)

    gate_state = notifications.DaemonNotifications._gate_state

    def noted_reading(self: Any, *args: Any) -> RolloutState | None:
        order.append(threading.current_thread().name)
        return gate_state(self, *args)

    monkeypatch.setattr(Runner, "_commit", only_the_first_three)
    monkeypatch.setattr(Daemon, "write_report", noted_report)
    monkeypatch.setattr(notifications.DaemonNotifications, "_gate_state", noted_reading)
    daemon = _notified_replay(config_dir, reports, monkeypatch)
    assert daemon.notify is not None
    journal = reports / "trades.jsonl"
    assert daemon.runner.stats.chunks > 3 and journal.read_text().count("\n") > 20
    readings = [o for o in order if not o.startswith("report")]
    assert readings[-1] == "chloe-gates-last"  # the last reading, on a thread of its own
    assert "report, last reading begun: True" in order  # begun before the last writes
    assert daemon.notify.last_reading == rollout_now(config, reports)
