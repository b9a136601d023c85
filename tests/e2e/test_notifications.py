"""Notifications end to end: real daemons deliver through real apprise to a loopback receiver.

Every event kind arrives with the figures of an independent recomputation from the journal; a
stalled or failing service leaves the journal exactly as a run without notifications, with the
drops counted; no URL or token reaches a log line or a file under reports/.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine_alpha.config.config_loader import PAPER_FILE, PROFILER_FILE
from engine_alpha.core.units import DAY_MS
from engine_alpha.notify.secrets import NOTIFY_FILE
from engine_alpha.testing.fake_binance import FakeBinance, FakeClock
from tests.conftest import REPO, SAMPLE_DATA, EditConfig
from tests.daemon_runs import RunResult, child_env
from tests.e2e.daemon_process import DaemonProcess
from tests.e2e.test_model_faults import FAULT_PACKAGE
from tests.live.test_parity import HOUR_MS, _cut_sample, go_live
from tests.notify.test_daily import _pf_dd
from tests.notify_receiver import TOKEN, Receiver
from tests.plugin_packages import install_into

pytestmark = pytest.mark.slow  # daemons as subprocesses (quick set: -m 'not slow')

SYMBOL = "ETHUSDT"
CUT_BARS = 2520  # the last bar opens at 23:00 UTC: its close ends the day
_ROW = re.compile(r"^(\w+): (\d+) trades, ([+-][\d,]+\.\d\d) USD; PF (.+?); max DD ([\d.]+)%$")


@pytest.fixture(scope="module")
def fault_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_into(FAULT_PACKAGE, tmp_path_factory.mktemp("fault-models"))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def _notify(config_dir: Path, url: str, **settings: Any) -> None:
    path = config_dir / NOTIFY_FILE
    path.write_text(orjson.dumps({"urls": [url]}).decode())
    os.chmod(path, 0o600)
    options = {"min_interval_s": 0, "queue_size": 100_000, "flush_s": 30, **settings}

    def change(d: dict[str, Any]) -> None:
        d["notifications"] = options
        d["activation_criteria"]["min_pf_for_activation"] = 0.05

    _edit(config_dir, PAPER_FILE, change)


def _edit(config_dir: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = config_dir / name
    data = orjson.loads(path.read_bytes())
    change(data)
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))


def _faulty(config_dir: Path, fail_at_ms: int) -> None:
    choice = {"name": "faulty", "params": {"fault": "raise", "fail_at_ms": fail_at_ms}}
    _edit(config_dir, PROFILER_FILE, lambda d: d["assets"][SYMBOL].update(signal_model=choice))


def _run(config_dir: Path, reports: Path, data: Path, extra_path: Path | None = None) -> RunResult:
    proc = subprocess.run(
        [
            sys.executable, "-m", "engine_alpha", "run", "--replay", "--data", str(data),
            "--config-dir", str(config_dir), "--reports-dir", str(reports), "--summary=never",
        ],
        capture_output=True, text=True, timeout=180, env=child_env(extra_path), cwd=REPO,
        check=False,
    )  # fmt: skip
    return RunResult(proc.returncode, proc.stdout, proc.stderr, reports)


def _research(config_dir: Path, reports: Path, data: Path, extra_path: Path) -> None:
    """ETHUSDT's research (its model's expected signal distribution, which the gate checks)."""
    proc = subprocess.run(
        [
            sys.executable, "-m", "engine_alpha", "research", "--assets", SYMBOL,
            "--data", str(data), "--config-dir", str(config_dir),
            "--reports-dir", str(reports),
        ],
        capture_output=True, text=True, timeout=180, env=child_env(extra_path), cwd=REPO,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def _titled(receiver: Receiver, prefix: str) -> list[dict[str, Any]]:
    return receiver.by_event(prefix)


def _usd(value: float) -> str:
    return f"{value:+,.2f} USD"


def _closes(journal: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in journal if line["action"] == "close"]


def _check_closes(receiver: Receiver, closes: list[dict[str, Any]]) -> None:
    got = [m for m in receiver.messages if " closed " in m["title"]]
    assert len(got) == len(closes)
    for message, line in zip(got, closes, strict=True):
        assert message["title"] == f"Chloe: {line['symbol']} closed {_usd(line['pnl_usd'])}"
        assert f"trade {line['trade_id']}" in message["message"]
        fees = line["entry_fee_usd"] + line["fee_usd"]
        assert f"fees {fees:,.2f} USD" in message["message"]
        assert f"entry {line['entry_price']} -> exit {line['price']}" in message["message"]


def _check_days(
    receiver: Receiver, journal: list[dict[str, Any]], first_day: int, last_day: int
) -> None:
    """Each UTC day's summary against a recomputation from the journal's closes."""
    summaries = [m for m in receiver.messages if m["title"].startswith("Chloe: day ")]
    assert len(summaries) == last_day - first_day
    closes = _closes(journal)
    equity = {"portfolio": 10_000.0, "ETHUSDT": 5000.0}
    for offset, message in enumerate(summaries):
        day = first_day + offset
        upto = [c for c in closes if c["bar_ts"] // DAY_MS <= day]
        today = [c for c in closes if c["bar_ts"] // DAY_MS == day]
        lines = message["message"].splitlines()
        assert lines[0] == f"UTC day {time.strftime('%Y-%m-%d', time.gmtime(day * 86400))}"
        rows = {m.group(1): m.groups()[1:] for m in map(_ROW.match, lines[1:]) if m}
        assert len(rows) == len(lines) - 1, lines
        want_rows = {"portfolio"} | ({SYMBOL} if upto else set())
        assert set(rows) == want_rows
        for name, (trades, pnl, pf_text, dd) in rows.items():
            mine = [c for c in upto if name == "portfolio" or c["symbol"] == name]
            pf, drawdown = _pf_dd([c["pnl_usd"] for c in mine], equity[name])
            day_pnls = [c["pnl_usd"] for c in today if name == "portfolio" or c["symbol"] == name]
            assert int(trades) == len(day_pnls)
            assert abs(float(pnl.replace(",", "")) - sum(day_pnls)) < 0.0051
            assert abs(float(dd) - drawdown) < 0.0051
            if pf is None:
                assert pf_text.startswith("n/a")
            else:
                assert abs(float(pf_text) - pf) < 0.0051


def _no_secret(result: RunResult) -> None:
    assert TOKEN not in result.stdout and TOKEN not in result.stderr
    for path in result.reports.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def _closed_counts(result: RunResult) -> dict[str, Any]:
    (closed,) = [e for e in result.log_events() if e["event"] == "notifications_closed"]
    return closed


def test_every_replay_event_arrives_with_the_journals_figures_and_gates_met_then_lost(
    config_dir: Path, receiver: Receiver, fault_models: Path, tmp_path: Path
) -> None:
    cut = tmp_path / "cut"
    first_ts, last_ts = _cut_sample(cut, CUT_BARS)
    reports = tmp_path / "reports"
    _notify(config_dir, receiver.url)
    # ETHUSDT runs the breakout until a bar after the cut, where it raises (second run)
    rows = (SAMPLE_DATA / f"{SYMBOL}-1h.csv").read_text().splitlines()[1:]
    _faulty(config_dir, int(rows[CUT_BARS + 200].split(",")[0]))
    _research(config_dir, reports, cut / "ohlcv", fault_models)

    first = _run(config_dir, reports, cut / "ohlcv", fault_models)
    assert first.returncode == 0, first.stderr
    journal = first.journal()
    assert len(_closes(journal)) >= 20
    (started,) = _titled(receiver, "Chloe started")
    assert started["message"] == f"feed replay; trading {SYMBOL}; journal 0 lines recovered"
    _check_closes(receiver, _closes(journal))
    # a day is told once its last bar closed (the 23:00 bar, at 00:00)
    _check_days(receiver, journal, first_ts // DAY_MS, (last_ts + HOUR_MS) // DAY_MS)
    (met,) = _titled(receiver, "Chloe: BTCUSDT ready to enable")
    assert "run: chloe enable BTCUSDT" in met["message"] and met["type"] == "success"
    status = subprocess.run(
        [sys.executable, "-m", "engine_alpha", "status", "--json", "--config-dir",
         str(config_dir), "--reports-dir", str(reports)],
        capture_output=True, check=True, env=child_env(fault_models), cwd=REPO,
    )  # fmt: skip
    rollout = orjson.loads(status.stdout)["rollout"]
    assert rollout["next"] == "BTCUSDT" and rollout["next_can_enable"] is True
    (stopped,) = _titled(receiver, "Chloe stopped")
    pf, dd = _pf_dd([c["pnl_usd"] for c in _closes(journal)], 10_000.0)
    assert stopped["message"].splitlines() == [
        f"fills this run {len(journal)}; last bar "
        + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last_ts / 1000)),
        f"portfolio: PF {pf:.2f}; max DD {dd:.2f}%; {len(_closes(journal))} trades, net "
        + _usd(sum(c["pnl_usd"] for c in _closes(journal))),
    ]
    assert not _titled(receiver, "Chloe: BTCUSDT gate lost")
    counts = _closed_counts(first)
    assert (counts["sent"], counts["dropped"]) == (len(receiver.messages), 0)
    _no_secret(first)

    # A restart on the whole sample, where ETHUSDT's model raises: a critical error, and the
    # gate the first run met is lost.
    receiver.messages.clear()
    second = _run(config_dir, reports, SAMPLE_DATA, fault_models)
    assert second.returncode == 0, second.stderr
    whole = second.journal()
    (restarted,) = _titled(receiver, "Chloe started")
    assert restarted["message"].endswith(f"journal {len(journal)} lines recovered")
    errors = _titled(receiver, "Chloe critical: model_failed")
    assert len(errors) == 1 and f"symbol: {SYMBOL}" in errors[0]["message"]
    (lost,) = _titled(receiver, "Chloe: BTCUSDT gate lost")
    assert "ready to enable no longer holds" in lost["message"]
    assert "critical" in lost["message"].lower()
    _check_closes(receiver, _closes(whole)[len(_closes(journal)) :])
    last_all = int(rows[-1].split(",")[0])
    _check_days(receiver, whole, journal[-1]["bar_ts"] // DAY_MS, (last_all + HOUR_MS) // DAY_MS)
    _no_secret(second)


def _reference(config_dir: Path, tmp_path: Path) -> RunResult:
    result = _run(config_dir, tmp_path / "plain", SAMPLE_DATA)
    assert result.returncode == 0, result.stderr
    return result


def _same_records(a: RunResult, b: RunResult) -> None:
    def lines(r: RunResult) -> list[dict[str, Any]]:
        return [{k: v for k, v in x.items() if k != "wall_ts"} for x in r.journal()]

    assert lines(a) == lines(b)
    assert (a.reports / "signals.jsonl").read_bytes() == (b.reports / "signals.jsonl").read_bytes()


@pytest.mark.parametrize("mode", ["stall", "500"])
def test_a_stalled_or_failing_service_leaves_the_journal_as_without_notifications(
    config_dir: Path, tmp_path: Path, mode: str
) -> None:
    plain = _reference(config_dir, tmp_path)
    with Receiver(mode, stall_s=30) as receiver:
        _notify(config_dir, receiver.url, queue_size=8, timeout_s=30, retries=2, flush_s=2)
        started = time.monotonic()
        noisy = _run(config_dir, tmp_path / "noisy", SAMPLE_DATA)
        took = time.monotonic() - started
    assert noisy.returncode == 0, noisy.stderr
    assert took < 25  # the 30 s stall is never waited for
    _same_records(plain, noisy)
    journal = noisy.journal()
    bars = (SAMPLE_DATA / f"{SYMBOL}-1h.csv").read_text().splitlines()[1:]
    last, first = int(bars[-1].split(",")[0]), int(bars[0].split(",")[0])
    days = (last + HOUR_MS) // DAY_MS - first // DAY_MS
    emitted = 2 + len(_closes(journal)) + days  # started, stopped, closes, days (no gate met)
    counts = _closed_counts(noisy)
    assert counts["sent"] == 0 and counts["dropped"] == emitted
    dropped = [e for e in noisy.log_events() if e["event"] == "notification_dropped"]
    assert dropped and dropped[0]["reason"] == "queue_full"
    _no_secret(noisy)


def test_the_environment_variable_carries_the_urls_and_a_readable_file_is_refused(
    config_dir: Path, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _notify(config_dir, "json://127.0.0.1:9/never")
    os.chmod(config_dir / NOTIFY_FILE, 0o644)
    refused = _run(config_dir, tmp_path / "refused", SAMPLE_DATA)
    assert refused.returncode == 2
    assert f"{config_dir / NOTIFY_FILE}: mode 0644" in refused.stderr
    assert "chmod 600" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "refused" / "trades.jsonl").exists()

    monkeypatch.setenv("CHLOE_NOTIFY_URLS", receiver.url)  # wins over the file
    result = _run(config_dir, tmp_path / "env", SAMPLE_DATA)
    assert result.returncode == 0, result.stderr
    assert _titled(receiver, "Chloe started") and _titled(receiver, "Chloe stopped")
    _no_secret(result)


def test_a_url_apprise_cannot_use_is_an_error_told_to_the_other_targets_not_a_stop(
    config_dir: Path, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = _reference(config_dir, tmp_path)
    _notify(config_dir, receiver.url)
    monkeypatch.setenv("CHLOE_NOTIFY_URLS", f"{receiver.url} nosuch://{TOKEN}")
    result = _run(config_dir, tmp_path / "run", SAMPLE_DATA)
    assert result.returncode == 0, result.stderr
    _same_records(plain, result)  # trading went on exactly as without notifications
    (error,) = [e for e in result.log_events() if e["event"] == "notify_target_unusable"]
    assert (error["level"], error["target"]) == ("error", "nosuch#2")
    (told,) = _titled(receiver, "Chloe error: notify_target_unusable")
    assert "target: nosuch#2" in told["message"]
    assert _titled(receiver, "Chloe started") and _titled(receiver, "Chloe stopped")
    counts = _closed_counts(result)
    assert counts["dropped"] == counts["sent"] > 0  # each message: sent to one, dropped for one
    _no_secret(result)


def test_a_live_feed_going_degraded_and_recovering_is_told(
    config_dir: Path, edit_config: EditConfig, receiver: Receiver, tmp_path: Path
) -> None:
    first_ts, _ = _cut_sample(tmp_path / "data", 600)
    clock = FakeClock.manual(first_ts + 2 * HOUR_MS)
    reports = tmp_path / "reports"
    with FakeBinance(tmp_path / "data" / "ohlcv", clock=clock) as server:
        go_live(edit_config, server.start())
        _notify(config_dir, receiver.url)
        daemon = DaemonProcess(config_dir, reports, replay=False)
        try:
            daemon.wait_for("notifications_on", timeout=60)
            server.faults.add("http_500", path="/api/v3/klines", symbol="BTCUSDT", times=None)
            for _ in range(3):
                clock.advance(HOUR_MS)
                daemon.wait_for("bars_processed", timeout=60, last_bar_ts=clock.now_ms() - HOUR_MS)
            server.faults.clear()
            clock.advance(HOUR_MS)
            daemon.wait_for("feed_recovered", timeout=60, symbol="BTCUSDT")
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(timeout=30) == 0
        finally:
            daemon.kill()
    (degraded,) = _titled(receiver, "Chloe: BTCUSDT feed degraded")
    assert degraded["type"] == "warning" and "reason=" in degraded["message"]
    (recovered,) = _titled(receiver, "Chloe: BTCUSDT feed recovered")
    assert recovered["type"] == "info"
    assert receiver.messages[0]["message"].startswith("feed ccxt; trading ")
    assert TOKEN not in daemon.stderr_text()


_MODULES_AFTER_RUN = """
import sys
from engine_alpha.cli.app import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.startswith("engine_alpha.notify."))
print("exit", code, "loaded", ",".join(loaded))
"""


def test_without_urls_a_replay_loads_nothing_of_the_notifications_but_where_urls_come_from(
    config_dir: Path, tmp_path: Path
) -> None:
    """Off costs nothing: the daemon looks for URLs (notify/secrets.py) and, finding none,
    neither imports the notifier, its delivery and apprise's process, nor starts them."""
    env = {k: v for k, v in child_env().items() if k != "CHLOE_NOTIFY_URLS"}
    args = ["run", "--replay", "--config-dir", str(config_dir)]
    args += ["--reports-dir", str(tmp_path / "reports"), "--summary=never"]
    proc = subprocess.run(
        [sys.executable, "-c", _MODULES_AFTER_RUN, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("exit ")]
    assert line.split() == [
        "exit",
        "0",
        "loaded",
        "engine_alpha.notify.apprise_plugins,engine_alpha.notify.secrets",
    ]
    assert not (tmp_path / "reports" / "events.jsonl").read_bytes()  # and it ran cleanly
