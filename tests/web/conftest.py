"""A finished replay with research, and `chloe web` processes serving it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from tests.conftest import REPO
from tests.daemon_runs import child_env
from tests.dashboard.conftest import PHASE_2_1, Replay, copy_config


@pytest.fixture(scope="package")
def web_replay(tmp_path_factory: pytest.TempPathFactory) -> Replay:
    """`chloe run --replay` over the sample with ETH and the phase 2.1 assets, and ETH's
    research: the reports the web view serves (copy them before writing to them)."""
    root = tmp_path_factory.mktemp("web-replay")
    config_dir = copy_config(root / "config", *PHASE_2_1)
    reports = root / "reports"
    base = [sys.executable, "-m", "engine_alpha"]
    dirs = ["--config-dir", str(config_dir), "--reports-dir", str(reports)]
    for cmd in (
        [*base, "run", "--replay", "--summary=never", *dirs],
        [*base, "research", "--assets", "ETHUSDT", "BTCUSDT", *dirs],
    ):
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=300, cwd=REPO, env=child_env(), check=False
        )
        assert proc.returncode == 0, proc.stderr
    return Replay(config_dir, reports)


@dataclass
class WebProcess:
    """A running `chloe web`; `url` once it serves."""

    proc: subprocess.Popen[bytes]
    url: str = ""
    lines: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
        """GET `path`: (status, parsed JSON or text, headers); errors are answers too."""
        request = urllib.request.Request(self.url.rstrip("/") + path, headers=headers or {})
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=60) as r:
                return r.status, _body(r.read(), r.headers), r.headers
        except urllib.error.HTTPError as e:
            return e.code, _body(e.read(), e.headers), e.headers


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _body(raw: bytes, headers: Any) -> Any:
    if "json" in headers.get("Content-Type", ""):
        return json.loads(raw) if raw else None
    return raw.decode()


def _pump(stream: IO[bytes], into: list[dict[str, Any]]) -> None:
    for raw in stream:
        if raw.startswith(b"{"):
            into.append(json.loads(raw))


def start_web(
    replay: Replay, *args: str, env: dict[str, str] | None = None, reports: Path | None = None
) -> WebProcess:
    """Start `chloe web --port 0` on `replay`'s reports; wait until it serves."""
    cmd = [sys.executable, "-m", "engine_alpha", "web", "--port", "0", *args]
    cmd += ["--config-dir", str(replay.config_dir)]
    cmd += ["--reports-dir", str(reports or replay.reports)]
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env={**child_env(), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    web = WebProcess(proc)
    assert proc.stdout is not None
    threading.Thread(target=_pump, args=(proc.stdout, web.lines), daemon=True).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        serving = [e for e in web.lines if e.get("event") == "web_serving"]
        if serving:
            web.url = serving[0]["url"]
            return web
        time.sleep(0.05)
    stop(web)
    raise AssertionError(web.stderr or "no web_serving")


@pytest.fixture
def web(web_replay: Replay) -> Iterator[WebProcess]:
    """`chloe web` on the shared replay, loopback, no token."""
    served = start_web(web_replay)
    yield served
    stop(served)


def stop(web: WebProcess) -> int:
    """SIGTERM, and the exit status; keeps what it wrote on stderr."""
    web.proc.terminate()
    try:
        return web.proc.wait(timeout=20)
    finally:
        if web.proc.poll() is None:
            web.proc.kill()
            web.proc.wait()
        if web.proc.stderr is not None:
            web.stderr = web.proc.stderr.read().decode()
            web.proc.stderr.close()
        if web.proc.stdout is not None:
            web.proc.stdout.close()


def copy_reports(replay: Replay, target: Path) -> Path:
    """A writable copy of the replay's reports."""
    shutil.copytree(replay.reports, target)
    os.chmod(target, 0o755)
    return target
