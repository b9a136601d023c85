"""systemd's STATUS= line from a real daemon: the last bar in UTC ISO, never `None` or raw ms."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import SAMPLE_DATA
from tests.daemon_runs import REPO, child_env, chloe_command

ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"


def test_status_text_writes_the_last_bar_in_utc_and_leaves_out_an_unknown_one() -> None:
    from engine_alpha.daemon.service import status_text

    expected = datetime(2023, 7, 2, 5, 0, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ts_ms = int(datetime(2023, 7, 2, 5, 0, tzinfo=UTC).timestamp() * 1000)
    line = status_text(tasks=3, trading=["ETHUSDT"], last_bar_ts=ts_ms, fills=4)
    assert line == f"tasks=3 trading=ETHUSDT last_bar={expected} fills=4"
    assert status_text(tasks=3, trading=[], last_bar_ts=None, fills=0) == (
        "tasks=3 trading=none fills=0"
    )


def _collect(sock: socket.socket, into: list[str]) -> None:
    """Read datagrams as they come (the kernel queues only ~10) until the socket is closed."""
    sock.settimeout(0.2)
    while sock.fileno() != -1:
        try:
            into.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
        except OSError:
            return


def test_a_running_daemon_sends_readable_status_lines(config_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    head = (SAMPLE_DATA / "ETHUSDT-1h.csv").read_text().splitlines()[:600]
    (data / "ETHUSDT-1h.csv").write_text("\n".join(head) + "\n")
    # 599 hourly bars at 2,000,000 x real time: about a second of watchdog pings (20 a second)
    cmd = chloe_command(config_dir, tmp_path / "reports", "--data", str(data), "--speed", "2e6")
    address = tmp_path / "notify"
    datagrams: list[str] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(address))
        reader = threading.Thread(target=_collect, args=(sock, datagrams))
        reader.start()
        env = {**child_env(), "NOTIFY_SOCKET": str(address), "WATCHDOG_USEC": "100000"}
        proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, timeout=120, check=False)
        sock.close()
        reader.join()
    assert proc.returncode == 0, proc.stderr
    statuses = [f[7:] for d in datagrams for f in d.split("\n") if f.startswith("STATUS=")]
    assert statuses
    assert not [s for s in statuses if "None" in s or re.search(r"\d{13}", s)]
    bars = [m.group(1) for s in statuses if (m := re.search(r"last_bar=(\S+)", s))]
    assert bars and all(re.fullmatch(ISO, b) for b in bars)
