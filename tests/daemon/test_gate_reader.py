"""The gate reader beside the daemon: its readings equal a full read of the reports as they
grow and after a reload, and when its child dies the daemon reads the gates itself."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import PAPER_FILE, ChloeConfig, load_config
from engine_alpha.daemon.gate_reader import GateReader
from engine_alpha.daemon.notifications import DaemonNotifications
from engine_alpha.daemon.startup_gates import rollout_now
from engine_alpha.ledger.reports_dir import SIGNALS_FILE, TRADES_FILE
from engine_alpha.notify.daily import DailyTally
from engine_alpha.notify.delivery import Delivery
from engine_alpha.notify.notifier import Notifier
from engine_alpha.notify.secrets import NotifyTarget
from engine_alpha.ops.events import EVENTS_FILE
from tests.conftest import FILES, EditConfig, Files
from tests.notify.test_delivery import Log
from tests.notify_receiver import Receiver


def _write(reports: Path, files: Files, share: float) -> None:
    reports.mkdir(exist_ok=True)
    for name in FILES:
        data = files[name]
        upto = len(data) if share >= 1 else data.index(b"\n", int(len(data) * share)) + 1
        (reports / name).write_bytes(data[:upto])


def _config(config_dir: Path, edit_config: EditConfig, min_trades: int) -> ChloeConfig:
    def change(d: dict[str, Any]) -> None:
        for asset in d["enabled_assets"].values():
            asset["enabled"] = True
        d["activation_criteria"]["min_trades_for_stability"] = min_trades

    edit_config(PAPER_FILE, change)
    return load_config(config_dir)


def test_readings_equal_a_full_read_as_the_reports_grow_and_after_a_reload(
    replayed_reports: Files, config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    config = _config(config_dir, edit_config, min_trades=5)
    reports = tmp_path / "reports"
    _write(reports, replayed_reports, 0.4)
    reader = GateReader(config, reports)
    try:
        first = reader.read(60)
        assert repr(first) == repr(rollout_now(config, reports))
        _write(reports, replayed_reports, 1.0)
        grown = reader.read(60)
        assert repr(grown) == repr(rollout_now(config, reports))
        assert repr(grown) != repr(first)
        stricter = _config(config_dir, edit_config, min_trades=10_000)
        reader.reconfigure(stricter)
        reloaded = reader.read(60)
        assert repr(reloaded) == repr(rollout_now(stricter, reports))
        assert repr(reloaded) != repr(grown)
    finally:
        reader.close()


def test_when_the_child_dies_the_daemon_reads_the_gates_itself(
    replayed_reports: Files, config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    config = _config(config_dir, edit_config, min_trades=5)
    reports = tmp_path / "reports"
    _write(reports, replayed_reports, 1.0)
    log = Log()
    with Receiver() as receiver:
        delivery = Delivery(
            [NotifyTarget(receiver.url, "json#1")],
            origin="test",
            queue_size=10,
            timeout_s=2,
            retries=0,
            min_interval_s=0,
            log=log,
        )
        tally = DailyTally({}, [], starting_equity_usd=1.0, asset_equity_usd={}, day_ms=None)
        notifier = Notifier(config.paper.notifications, delivery, tally)
        notifications = DaemonNotifications(notifier, config, reports, log)
        notifications._reader = reader = GateReader(config, reports)
        try:
            assert repr(notifications._read_gates()) == repr(rollout_now(config, reports))
            pid = reader._child.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            state = notifications._read_gates()
            assert repr(state) == repr(rollout_now(config, reports))
            assert notifications._reader is None  # the next readings are the daemon's
        finally:
            reader.close()
            delivery.close(0)
    failed = [kw for level, event, kw in log.lines if event == "gate_reader_failed"]
    assert len(failed) == 1 and failed[0]["fallback"] == "in the daemon"


@pytest.mark.parametrize("name", [TRADES_FILE, SIGNALS_FILE, EVENTS_FILE])
def test_a_reading_of_reports_without_one_file_still_equals_a_full_read(
    replayed_reports: Files, config_dir: Path, edit_config: EditConfig, tmp_path: Path, name: str
) -> None:
    config = _config(config_dir, edit_config, min_trades=5)
    reports = tmp_path / "reports"
    _write(reports, replayed_reports, 1.0)
    (reports / name).unlink()
    reader = GateReader(config, reports)
    try:
        assert repr(reader.read(60)) == repr(rollout_now(config, reports))
    finally:
        reader.close()
