"""The opt-in metrics endpoint: a real Prometheus (the Debian package) scrapes a live daemon and
its HTTP API returns the journal's fill count; off, nothing listens; a taken port costs only a
warning; a non-loopback address is refused by the config."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import PAPER_FILE, ConfigError, load_config
from engine_alpha.notify.secrets import NOTIFY_FILE
from engine_alpha.testing.fake_binance import FakeBinance, FakeClock
from tests.conftest import EditConfig
from tests.daemon_runs import RunResult
from tests.e2e.daemon_process import DaemonProcess
from tests.live.test_parity import HOUR_MS, _cut_sample, go_live
from tests.notify_receiver import Receiver

pytestmark = pytest.mark.slow  # daemons and a Prometheus server (quick set: -m 'not slow')

PROMETHEUS = shutil.which("prometheus")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _metrics_on(edit_config: EditConfig, port: int) -> None:
    edit_config(PAPER_FILE, lambda d: d.update(metrics={"enabled": True, "port": port}))


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[int], str]]:
    """Start a Prometheus on 127.0.0.1 scraping a target port every second; yields a function
    that takes the target port and returns the Prometheus base URL."""
    if PROMETHEUS is None:
        if os.environ.get("CHLOE_REQUIRE_PROMETHEUS"):
            pytest.fail("prometheus is required (CHLOE_REQUIRE_PROMETHEUS) but not installed")
        pytest.skip("no prometheus binary: apt-get install prometheus (CI installs it)")
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Any] = []

    def start(target: int) -> str:
        web = _free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: chloe\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n"
        )
        assert PROMETHEUS is not None
        log = (tmp_path / "prometheus.log").open("wb")
        logs.append(log)
        procs.append(
            subprocess.Popen(
                [
                    PROMETHEUS,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{web}",
                ],
                stdout=log,
                stderr=log,
            )
        )
        base = f"http://127.0.0.1:{web}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return base
            except OSError:
                time.sleep(0.2)
        raise AssertionError((tmp_path / "prometheus.log").read_text()[-2000:])

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    for log in logs:
        log.close()


def _query(base: str, expr: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.loads(r.read())
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _until(base: str, expr: str, want: float, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        result = _query(base, expr)
        if result:
            value = float(result[0]["value"][1])
            if value == want:
                return value
        time.sleep(0.5)
    raise AssertionError(f"{expr} = {value}, wanted {want}")


def test_prometheus_scrapes_a_live_daemon_and_returns_the_journals_fill_count(
    config_dir: Path, edit_config: EditConfig, tmp_path: Path, prometheus: Any
) -> None:
    port = _free_port()
    base = prometheus(port)
    first_ts, last_ts = _cut_sample(tmp_path / "data")
    clock = FakeClock.manual(first_ts + 2 * HOUR_MS)
    reports = tmp_path / "reports"
    with FakeBinance(tmp_path / "data" / "ohlcv", clock=clock) as server, Receiver() as receiver:
        go_live(edit_config, server.start())
        _metrics_on(edit_config, port)
        notify = config_dir / NOTIFY_FILE
        notify.write_text(json.dumps({"urls": [receiver.url]}))
        notify.chmod(0o600)
        edit_config(PAPER_FILE, lambda d: d.update(notifications={"min_interval_s": 0}))
        daemon = DaemonProcess(config_dir, reports, replay=False)
        try:
            daemon.wait_for("metrics_serving", timeout=60)
            while clock.now_ms() <= last_ts + HOUR_MS:
                clock.advance(HOUR_MS)
                time.sleep(0.01)
            daemon.wait_for("bars_processed", timeout=120, last_bar_ts=last_ts)
            journal = (reports / "trades.jsonl").read_bytes().splitlines()
            assert len(journal) >= 10
            _until(base, "chloe_journal_fills", float(len(journal)))
            _until(base, "sum(chloe_fills_total)", float(len(journal)))
            closes = sum(1 for x in journal if b'"action":"close"' in x)
            _until(base, 'sum(chloe_fills_total{action="close"})', float(closes))
            bars = _query(base, 'chloe_bars_processed_total{symbol="ETHUSDT"}')
            assert bars and float(bars[0]["value"][1]) >= 900
            _until(base, "chloe_last_bar_timestamp_seconds", last_ts / 1000)
            commits = _query(base, "chloe_journal_commit_seconds_count")
            assert commits and float(commits[0]["value"][1]) > 0
            # every close was told (and the start): sent as the receiver counts, none dropped
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                sent = _query(base, "chloe_notifications_sent_total")
                if sent and float(sent[0]["value"][1]) == len(receiver.messages):
                    break
                time.sleep(0.5)
            else:
                raise AssertionError(f"sent {sent}, received {len(receiver.messages)}")
            assert len(receiver.messages) >= closes + 1
            _until(base, "chloe_notifications_dropped_total", 0.0)
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(timeout=10) == 0
        finally:
            daemon.kill()


def test_metrics_off_listens_on_nothing_and_a_taken_port_only_warns(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    edit_config: EditConfig,
    tmp_path: Path,
) -> None:
    reference = run_chloe(config_dir, tmp_path / "off")
    assert reference.returncode == 0, reference.stderr
    assert not [e for e in reference.log_events() if e["event"].startswith("metrics")]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _metrics_on(edit_config, port)
        result = run_chloe(config_dir, tmp_path / "taken")
    assert result.returncode == 0, result.stderr
    (warning,) = [e for e in result.log_events() if e["event"] == "metrics_unavailable"]
    assert warning["level"] == "warning" and warning["port"] == port

    def lines(r: RunResult) -> list[dict[str, Any]]:
        return [{k: v for k, v in x.items() if k != "wall_ts"} for x in r.journal()]

    assert lines(result) == lines(reference)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "example.com"])
def test_a_non_loopback_metrics_address_is_refused_by_the_config(
    config_dir: Path, edit_config: EditConfig, host: str
) -> None:
    edit_config(PAPER_FILE, lambda d: d.update(metrics={"enabled": True, "host": host}))
    with pytest.raises(ConfigError, match=r"metrics.*not a loopback address"):
        load_config(config_dir)


def test_a_stopped_endpoint_closes_its_port_and_a_second_stop_is_harmless() -> None:
    """The stop hands the server's shutdown to a thread of its own (the daemon never waits
    out the server's half-second poll); the port is still closed soon after."""
    from engine_alpha.daemon.metrics import DaemonMetrics

    metrics = DaemonMetrics("127.0.0.1", 0)  # the port the system gives: no other test's
    metrics.start()
    port = metrics.port
    assert port != 0
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert b"chloe_journal_fills 0.0" in r.read()
    metrics.stop()
    metrics.stop()
    deadline = time.monotonic() + 10.0
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
        except ConnectionRefusedError:
            break
        except ConnectionResetError:
            pass  # the listener closed during this handshake: the next try is refused
        assert time.monotonic() < deadline, "the endpoint still accepts connections 10 s on"
        time.sleep(0.05)


_UNSCRAPED = """
import socket, sys, threading, urllib.request
from engine_alpha.daemon.metrics import DaemonMetrics

metrics = DaemonMetrics("127.0.0.1", 0)
metrics.start()
print("bound", metrics.port != 0)
print("imported before a scrape", "prometheus_client" in sys.modules)
metrics.stop()
threads = [t for t in threading.enumerate() if t.name == "chloe-metrics"]
for t in threads:
    t.join(timeout=10)
print("thread ended", not any(t.is_alive() for t in threads))
try:
    socket.create_connection(("127.0.0.1", metrics.port), timeout=2).close()
    print("port closed", False)
except ConnectionRefusedError:
    print("port closed", True)
scraped = DaemonMetrics("127.0.0.1", 0)
scraped.start()
with urllib.request.urlopen(f"http://127.0.0.1:{scraped.port}/metrics", timeout=10) as r:
    print("scraped", b"chloe_journal_fills 0.0" in r.read())
print("imported after a scrape", "prometheus_client" in sys.modules)
"""


def test_until_the_first_scrape_only_the_port_is_held_and_a_stop_then_frees_it() -> None:
    """A run nobody scrapes never imports prometheus-client (its ~12 ms at start); the port is
    bound at start all the same, so a taken one is known at once (the test above)."""
    proc = subprocess.run(
        [sys.executable, "-c", _UNSCRAPED], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "bound True",
        "imported before a scrape False",
        "thread ended True",
        "port closed True",
        "scraped True",
        "imported after a scrape True",
    ]
