"""`chloe journal verify` beside a running daemon and after it stopped: what is a problem."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import orjson

from engine_alpha.config.config_loader import load_config
from engine_alpha.ledger.pf_report import build_report
from engine_alpha.ledger.reports_dir import report_inputs
from engine_alpha.ops.journal_verify import check_reports
from tests.daemon_runs import RunResult


def test_a_pf_local_behind_the_journal_is_a_problem_only_once_the_daemon_has_stopped(
    run_chloe: Callable[..., RunResult], config_dir: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    result = run_chloe(config_dir, reports)
    assert result.returncode == 0, result.stderr
    lines = result.journal()
    cut = lines[len(lines) // 2]["bar_ts"]
    # pf_local.json as the daemon wrote it at a commit mid-run: as of an earlier bar time.
    covered = [line for line in lines if line["bar_ts"] <= cut]
    assert 0 < len(covered) < len(lines)
    config = load_config(config_dir)
    written = build_report(covered, as_of_bar_ts=cut, generated_at="x", **report_inputs(config))
    (reports / "pf_local.json").write_bytes(orjson.dumps(written))
    stopped = check_reports(reports, config)
    assert not stopped.ok
    assert any("behind the journal" in p for p in stopped.report_problems)
    fd = os.open(reports, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # what a running daemon holds
        running = check_reports(reports, config)
    finally:
        os.close(fd)
    assert running.ok, running.render()
    written["portfolio"]["net_pnl_usd"] += 1.0  # and a real difference is still found
    (reports / "pf_local.json").write_bytes(orjson.dumps(written))
    assert not check_reports(reports, config).ok
