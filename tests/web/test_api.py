"""`chloe web`'s JSON API against the commands and the files it reads: the same numbers as
`chloe status --json` and `chloe trades --json`, the signal log's records, research as written;
GET only; loopback unless a token guards it, and then nothing without the token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import REPO
from tests.daemon_runs import child_env
from tests.dashboard.conftest import Replay
from tests.web.conftest import WebProcess, start_web, stop

pytestmark = pytest.mark.slow  # a replay and `chloe web` subprocesses

TOKEN = "tok-" + "9f3Kq2Lx7Vb1Zr8Wm4Tn6Yp0"


def _cli(replay: Replay, *args: str) -> Any:
    cmd = [sys.executable, "-m", "engine_alpha", *args]
    cmd += ["--config-dir", str(replay.config_dir), "--reports-dir", str(replay.reports)]
    proc = subprocess.run(cmd, capture_output=True, cwd=REPO, env=child_env(), check=True)
    return json.loads(proc.stdout)


def test_status_is_chloe_status_json(web: WebProcess, web_replay: Replay) -> None:
    status, body, headers = web.get("/api/status")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body == _cli(web_replay, "status", "--json")
    assert body["journal_fills"] == len(
        (web_replay.reports / "trades.jsonl").read_bytes().splitlines()
    )


@pytest.mark.parametrize(
    ("query", "args"),
    [
        ("", ()),
        ("?symbol=btcusdt", ("--symbol", "btcusdt")),
        ("?symbol=ETHUSDT&since=2023-10-01", ("--symbol", "ETHUSDT", "--since", "2023-10-01")),
        ("?open=true", ("--open",)),
    ],
)
def test_trades_are_chloe_trades_json_with_the_same_filters(
    web: WebProcess, web_replay: Replay, query: str, args: tuple[str, ...]
) -> None:
    status, body, _ = web.get(f"/api/trades{query}")
    assert status == 200
    assert body == _cli(web_replay, "trades", "--json", *args)


def test_trades_match_the_journal_round_trip_for_round_trip(
    web: WebProcess, web_replay: Replay
) -> None:
    _, body, _ = web.get("/api/trades")
    lines = [
        orjson.loads(x) for x in (web_replay.reports / "trades.jsonl").read_bytes().splitlines()
    ]
    closes = [x for x in lines if x["action"] == "close"]
    closed = [t for t in body["round_trips"] if t["exit_time"] is not None]
    assert sorted((t["trade_id"], t["pnl_usd"]) for t in closed) == sorted(
        (x["trade_id"], x["pnl_usd"]) for x in closes
    )
    assert body["portfolio"]["trades"] == len(closes)


def test_signals_are_the_logs_records_filtered(web: WebProcess, web_replay: Replay) -> None:
    records = [
        orjson.loads(x) for x in (web_replay.reports / "signals.jsonl").read_bytes().splitlines()
    ]
    _, body, _ = web.get("/api/signals?symbol=ETHUSDT&reason=position_open")
    want = [r for r in records if r["symbol"] == "ETHUSDT" and r.get("reason") == "position_open"]
    assert want and body == {"matched": len(want), "returned": len(want), "signals": want}
    _, body, _ = web.get("/api/signals?symbol=BTCUSDT&limit=7")
    want = [r for r in records if r["symbol"] == "BTCUSDT"]
    assert body["matched"] == len(want) and body["signals"] == want[-7:]


def test_research_is_what_research_wrote(web: WebProcess, web_replay: Replay) -> None:
    _, body, _ = web.get("/api/research")
    root = web_replay.reports / "research"
    assert body["summary"] == json.loads((root / "summary.json").read_text())
    assert sorted(body["assets"]) == ["BTCUSDT", "ETHUSDT"]
    assert body["assets"]["ETHUSDT"] == json.loads((root / "ETHUSDT" / "edge.json").read_text())


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/api/trades?since=yesterday", "since: expected a date like 2023-07-01"),
        ("/api/trades?symbol=FOOUSDT", "symbol: unknown 'FOOUSDT'"),
        ("/api/signals?limit=-1", "limit: a whole number"),
        ("/api/signals?limit=999999", "limit: a whole number"),
        ("/nothing/here", "no such page: /nothing/here"),
    ],
)
def test_a_bad_request_is_answered_with_what_is_wrong(
    web: WebProcess, path: str, problem: str
) -> None:
    status, body, _ = web.get(path)
    assert status in (400, 404) and problem in body["error"]


def test_the_page_is_the_report_with_security_headers_and_only_get_is_served(
    web: WebProcess,
) -> None:
    status, page, headers = web.get("/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "Chloe multi-asset report" in page and "/api/version" in page
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    for method in ("POST", "PUT", "DELETE", "HEAD"):
        proc = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method, web.url],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode == 127:
            pytest.skip("no curl")
        assert proc.stdout == "405", method


def _refused(replay: Replay, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    cmd = [sys.executable, "-m", "engine_alpha", "web", "--port", "0", *args]
    cmd += ["--config-dir", str(replay.config_dir), "--reports-dir", str(replay.reports)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, cwd=REPO, env={**child_env(), **(env or {})},
        timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


def test_a_bind_off_loopback_is_refused_without_a_token_or_with_a_readable_token_file(
    web_replay: Replay, tmp_path: Path
) -> None:
    text = _refused(web_replay, tmp_path, "--host", "0.0.0.0")
    assert "not a loopback address" in text and "CHLOE_WEB_TOKEN" in text
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    os.chmod(token_file, 0o644)
    text = _refused(web_replay, tmp_path, "--host", "0.0.0.0", "--token-file", str(token_file))
    assert "mode 0644" in text and "chmod 600" in text and TOKEN not in text
    text = _refused(web_replay, tmp_path, env={"CHLOE_WEB_TOKEN": "short"})
    assert "shorter than 16 characters" in text


def test_with_a_token_nothing_is_served_without_it_and_it_is_never_logged(
    web_replay: Replay, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    os.chmod(token_file, 0o600)
    web = start_web(web_replay, "--host", "0.0.0.0", "--token-file", str(token_file))
    try:
        web.url = web.url.replace("0.0.0.0", "127.0.0.1")
        for path in ("/", "/api/status", "/api/trades", "/api/signals", "/api/research"):
            assert web.get(path)[0] == 401
            assert web.get(path, {"Authorization": "Bearer " + TOKEN[:-1] + "x"})[0] == 401
            assert web.get(path + "?token=" + TOKEN[:-1])[0] == 401
        status, body, _ = web.get("/api/status", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and body["journal_fills"] > 0
        status, _, headers = web.get(f"/api/status?token={TOKEN}")
        assert status == 303 and headers["Location"] == "/api/status"
        cookie = headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        status, body, _ = web.get("/api/status", {"Cookie": cookie.split(";")[0]})
        assert status == 200
    finally:
        assert stop(web) == 0
    logged = json.dumps(web.lines) + web.stderr
    assert "web_request" in logged and TOKEN not in logged
