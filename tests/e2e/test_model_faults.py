"""A bad model never costs the journal: real daemons running models that fail on purpose.

The models come from a package of their own (tests/plugins/chloe-fault-models), pip-installed
into a directory that only these daemons have on their path, as a user's package would be
installed: `faulty` is the breakout until a given bar and then raises or breaks the decision
contract; `slow` is the breakout sleeping 50 ms a bar. ETHUSDT runs the misbehaving model, the
other assets the breakout; the portfolio cap is lifted so that no asset's fills depend on
another's and the other assets' journal can be compared line for line.
"""

from __future__ import annotations

import signal
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine_alpha.config.config_loader import PROFILER_FILE
from engine_alpha.testing.fake_binance import FakeBinance, FakeClock
from tests.conftest import REPO, EditConfig
from tests.daemon_runs import RunResult
from tests.e2e.daemon_process import DaemonProcess
from tests.e2e.test_replay_daemon import _assert_report_matches_journal, _enable_all
from tests.live.test_live_restarts import _run_until
from tests.live.test_parity import HOUR_MS, _cut_sample, _journal, go_live, go_replay
from tests.plugin_packages import install_into

pytestmark = pytest.mark.slow  # end-to-end: subprocess daemons (quick set: -m 'not slow')

FAULT_PACKAGE = REPO / "tests" / "plugins" / "chloe-fault-models"
SYMBOL = "ETHUSDT"
BARS = 1500
FAULT_BAR = 1000  # past the breakout's 480-bar warm-up, after ETHUSDT has traded
EXPECTED_PROBLEM = {
    "raise": "raised ZeroDivisionError('float division by zero')",
    "confidence_nan": "confidence nan",
    "regime": "unknown regime 'sideways'",
}


@pytest.fixture(scope="module")
def fault_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fault-model package, installed where only the daemons given this path find it."""
    return install_into(FAULT_PACKAGE, tmp_path_factory.mktemp("fault-models"))


@pytest.fixture
def bars(tmp_path: Path, edit_config: EditConfig) -> list[int]:
    """Every asset enabled on the first BARS bars of the sample; returns the bar open times."""
    _cut_sample(tmp_path / "data", BARS)
    _enable_all(edit_config, exposure_usd=1e12)
    go_replay(edit_config, tmp_path / "data" / "ohlcv")
    rows = (tmp_path / "data" / "ohlcv" / f"{SYMBOL}-1h.csv").read_text().splitlines()[1:]
    return [int(row.split(",")[0]) for row in rows]


def _model(edit_config: EditConfig, choice: dict[str, Any] | None) -> None:
    """ETHUSDT's profile names `choice` (None: no signal_model field, today's breakout)."""

    def change(d: dict[str, Any]) -> None:
        d["assets"][SYMBOL].pop("signal_model", None)
        if choice is not None:
            d["assets"][SYMBOL]["signal_model"] = choice

    edit_config(PROFILER_FILE, change)


def _faulty(edit_config: EditConfig, fault: str, fail_at_ms: int) -> None:
    _model(edit_config, {"name": "faulty", "params": {"fault": fault, "fail_at_ms": fail_at_ms}})


def _split(journal: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(ETHUSDT's lines, every other asset's lines) in journal order, without the journal-wide
    sequence numbers (`seq`, `group_end_seq`), which count every asset's lines."""
    lines = [
        {k: v for k, v in line.items() if k not in ("seq", "group_end_seq")} for line in journal
    ]
    mine = [line for line in lines if line["symbol"] == SYMBOL]
    return mine, [line for line in lines if line["symbol"] != SYMBOL]


def _failures(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("event") == "model_failed"]


@pytest.mark.parametrize("fault", sorted(EXPECTED_PROBLEM))
def test_a_failing_model_stops_its_asset_with_one_critical_event_and_the_others_carry_on(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    edit_config: EditConfig,
    bars: list[int],
    fault_models: Path,
    tmp_path: Path,
    fault: str,
) -> None:
    healthy = run_chloe(config_dir, tmp_path / "healthy")
    assert healthy.returncode == 0, healthy.stderr
    fail_at = bars[FAULT_BAR]
    _faulty(edit_config, fault, fail_at)
    broken = run_chloe(config_dir, tmp_path / "broken", extra_path=fault_models)
    assert broken.returncode == 0, broken.stderr

    failures = _failures(broken.log_events())
    assert len(failures) == 1, failures
    failed = failures[0]
    assert failed["level"] == "critical" and failed["symbol"] == SYMBOL
    assert failed["model"] == "faulty" and failed["bar_ts"] == fail_at
    assert EXPECTED_PROBLEM[fault] in failed["problem"]
    recorded = [
        orjson.loads(line)
        for line in (broken.reports / "events.jsonl").read_bytes().splitlines()
        if b'"model_failed"' in line
    ]
    assert [(e["symbol"], e["bar_ts"], e["problem"]) for e in recorded] == [
        (SYMBOL, fail_at, failed["problem"])
    ]

    # Until the fault the faulty model is the breakout: ETHUSDT's journal is the healthy run's.
    mine, others = _split(_journal(broken.reports))
    healthy_mine, healthy_others = _split(_journal(healthy.reports))
    before = [line for line in healthy_mine if line["bar_ts"] < fail_at]
    assert len(before) >= 2, "ETHUSDT must trade before the fault for this test to mean much"
    assert mine[: len(before)] == before
    # From the fault on it opens nothing; a position open at the fault still exits.
    assert all(line["action"] == "exit" for line in mine[len(before) :])
    # The other assets carry on exactly as in the healthy run.
    assert len(others) >= 10
    assert others == healthy_others
    # pf_local.json is the journal's, recomputed here (this process has no `faulty` installed,
    # and the recomputation reads no model, so the profile goes back to the breakout for it).
    _model(edit_config, None)
    _assert_report_matches_journal(broken, config_dir)


def test_a_restart_after_a_kill_9_reproduces_the_same_stop_and_journal(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    edit_config: EditConfig,
    bars: list[int],
    fault_models: Path,
    tmp_path: Path,
) -> None:
    fail_at = bars[FAULT_BAR]
    _faulty(edit_config, "confidence_nan", fail_at)
    reference = run_chloe(config_dir, tmp_path / "reference", extra_path=fault_models)
    assert reference.returncode == 0, reference.stderr
    (stop,) = _failures(reference.log_events())

    reports = tmp_path / "reports"
    daemon = DaemonProcess(config_dir, reports, "--speed=360000", extra_path=fault_models)
    try:
        daemon.wait_for("model_failed", timeout=120)
        daemon.wait_for("fill", timeout=60)  # a later fill of another asset: the stop is committed
        daemon.signal(signal.SIGKILL)
        assert daemon.wait(timeout=10) == -signal.SIGKILL
        daemon.drain()
    finally:
        daemon.kill()
    assert len(_journal(reports)) < len(_journal(reference.reports)), "killed mid-replay"

    finish = run_chloe(config_dir, reports, extra_path=fault_models)
    assert finish.returncode == 0, finish.stderr
    assert _journal(reports) == _journal(reference.reports)
    # The restart meets the stop again: restored with the saved state (`restored`), or decided
    # again from an earlier checkpoint; either way the same model, bar and problem.
    (again,) = _failures(finish.log_events())
    assert (again["symbol"], again["model"], again["bar_ts"], again["problem"]) == (
        stop["symbol"],
        stop["model"],
        stop["bar_ts"],
        stop["problem"],
    )


@pytest.mark.parametrize(
    ("choice", "named"),
    [
        (
            {"name": "no_such_model"},
            ["unknown signal model 'no_such_model'", "breakout", "faulty", "slow"],
        ),
        ({"name": "faulty", "params": {"fault": "melt"}}, ["params.fault"]),
        ({"name": "slow", "params": {"delay_ms": "fast"}}, ["params.delay_ms"]),
    ],
)
def test_an_unknown_model_or_bad_parameters_exit_2_and_leave_the_reports_as_they_were(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    edit_config: EditConfig,
    bars: list[int],
    fault_models: Path,
    tmp_path: Path,
    choice: dict[str, Any],
    named: list[str],
) -> None:
    reports = tmp_path / "reports"
    first = run_chloe(config_dir, reports)
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in reports.iterdir() if p.is_file()}
    _model(edit_config, choice)
    refused = run_chloe(config_dir, reports, extra_path=fault_models)
    assert refused.returncode == 2
    assert PROFILER_FILE in refused.stderr and f"assets.{SYMBOL}.signal_model" in refused.stderr
    for word in named:
        assert word in refused.stderr
    after = {p.name: p.read_bytes() for p in reports.iterdir() if p.is_file()}
    assert {"trades.jsonl", "trades.jsonl.checkpoint", "signals.jsonl"} <= set(before)
    for name, data in before.items():  # the event log may only grow; every other file is kept
        assert after[name].startswith(data) if name == "events.jsonl" else after[name] == data


STEPPED_BARS = 40
LIVE_BARS = 1100


def test_a_slow_model_in_live_delays_no_commit_beyond_one_bar_and_changes_no_decision(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    edit_config: EditConfig,
    fault_models: Path,
    tmp_path: Path,
) -> None:
    first_ts, last_ts = _cut_sample(tmp_path / "data", LIVE_BARS)
    slow_from = last_ts - (STEPPED_BARS - 1) * HOUR_MS
    _model(edit_config, {"name": "slow", "params": {"delay_ms": 50.0, "slow_from_ms": slow_from}})
    clock = FakeClock.manual(first_ts + 2 * HOUR_MS)
    reports = tmp_path / "live-reports"
    lags: list[float] = []
    with FakeBinance(tmp_path / "data" / "ohlcv", clock=clock) as server:
        go_live(edit_config, server.start())
        daemon = DaemonProcess(config_dir, reports, replay=False, extra_path=fault_models)
        try:
            daemon.wait_for("started", timeout=60)
            _run_until(daemon, clock, slow_from - HOUR_MS)
            for bar_ts in range(slow_from, last_ts + 1, HOUR_MS):
                closed = time.monotonic()
                clock.advance(HOUR_MS)  # bar `bar_ts` closes
                daemon.wait_for("bars_processed", timeout=30, last_bar_ts=bar_ts)
                lags.append(time.monotonic() - closed)
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(timeout=10) == 0
            events = daemon.drain()
        finally:
            daemon.kill()
    assert len(lags) == STEPPED_BARS and not _failures(events)
    # Each slow bar costs its 50 ms, and every asset's bar is committed well inside one bar
    # time: here the test's own pace (a bar a second would already leave room).
    assert statistics.median(lags) >= 0.05, lags
    assert max(lags) < 1.0, lags

    # The slow model decides as the breakout: the live journal is a replay's with the breakout.
    _model(edit_config, None)
    go_replay(edit_config, tmp_path / "data" / "ohlcv")
    replayed = run_chloe(config_dir, tmp_path / "replay-reports")
    assert replayed.returncode == 0, replayed.stderr
    journal = _journal(reports)
    assert len(journal) >= 4 and journal == _journal(replayed.reports)


def test_a_model_changed_by_sighup_restarts_cold_on_its_asset_only(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    edit_config: EditConfig,
    bars: list[int],
    tmp_path: Path,
) -> None:
    reference = run_chloe(config_dir, tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr
    reports = tmp_path / "reports"
    daemon = DaemonProcess(config_dir, reports, "--speed=180000")  # ~50 bar times a second
    try:
        for _ in range(3):
            daemon.wait_for("fill", timeout=60)
        _model(edit_config, {"name": "mean_reversion", "params": {"entry_z": 2.5}})
        daemon.signal(signal.SIGHUP)
        changed = daemon.wait_for("reload_model_changed", timeout=30)
        applied = daemon.wait_for("reload_applied", timeout=30)
        assert daemon.wait(timeout=120) == 0  # the replay runs to its end
        events = daemon.drain()
    finally:
        daemon.kill()
    assert changed["symbol"] == SYMBOL and changed["model"]["name"] == "mean_reversion"
    assert changed["model"]["params"]["entry_z"] == 2.5 and changed["warmup_bars"] == 480
    assert applied["changed"] == [SYMBOL]
    assert [e["symbol"] for e in events if e["event"] == "reload_model_changed"] == [SYMBOL]
    at = applied["last_bar_ts"]
    assert at < bars[-1] - 500 * HOUR_MS, "reloaded early enough to see the warm-up"

    # Cold start: no ETHUSDT signal for the new model's 480 warm-up bars after the reload.
    signals = [orjson.loads(x) for x in (reports / "signals.jsonl").read_bytes().splitlines()]
    mine = [s["bar_ts"] for s in signals if s["symbol"] == SYMBOL and s["bar_ts"] > at]
    assert all(ts > at + 480 * HOUR_MS for ts in mine)
    # The other assets never noticed; ETHUSDT's journal up to the reload is the reference's.
    mine_lines, others = _split(_journal(reports))
    ref_mine, ref_others = _split(_journal(reference.reports))
    assert others == ref_others
    kept = [line for line in ref_mine if line.get("signal_bar_ts", line["bar_ts"]) <= at]
    assert mine_lines[: len(kept)] == kept
