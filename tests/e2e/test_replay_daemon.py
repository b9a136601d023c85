"""The daemon end to end: a replay subprocess on the bundled sample, judged by its own outputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import PAPER_FILE, load_config
from engine_alpha.ledger.reports_dir import recompute_pf_local
from engine_alpha.ops.journal_audit import audit_journal
from tests.conftest import EditConfig
from tests.daemon_runs import RunResult

pytestmark = pytest.mark.slow  # end-to-end: subprocess daemons (quick set: -m 'not slow')

WALL = ("wall_ts",)
TIER3 = {"BNBUSDT", "DOTUSDT", "ADAUSDT", "LINKUSDT", "ATOMUSDT"}


def _without_wall_time(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in line.items() if k not in WALL} for line in lines]


def _enable_all(edit_config: EditConfig, exposure_usd: float | None = None) -> None:
    def change(d: dict[str, Any]) -> None:
        for asset in d["enabled_assets"].values():
            asset["enabled"] = True
        if exposure_usd is not None:
            d["position_limits"]["max_portfolio_exposure_usd"] = exposure_usd

    edit_config(PAPER_FILE, change)


def _assert_report_matches_journal(result: RunResult, config_dir: Path) -> None:
    config = load_config(config_dir)
    written = result.pf_local()
    recomputed = recompute_pf_local(result.reports, config, written["as_of_bar_ts"])
    written.pop("generated_at")
    recomputed.pop("generated_at")
    assert written == recomputed


def test_shipped_config_replay_trades_eth_and_nothing_else(
    run_chloe: Callable[..., RunResult], config_dir: Path, tmp_path: Path
) -> None:
    result = run_chloe(config_dir, tmp_path / "reports")
    assert result.returncode == 0, result.stderr
    journal = result.journal()
    assert len(journal) >= 20
    assert {line["symbol"] for line in journal} == {"ETHUSDT"}
    assert audit_journal(journal, load_config(config_dir)) == []
    _assert_report_matches_journal(result, config_dir)
    events = result.log_events()
    assert events and all({"event", "level", "timestamp"} <= e.keys() for e in events)
    fills = [e for e in events if e["event"] == "fill"]
    assert len(fills) == len(journal)
    assert all(e["symbol"] == "ETHUSDT" for e in fills)
    research = [s for s in result.signals() if s["symbol"] in TIER3]
    assert research and all(s["reason"] == "research_only" for s in research)


def test_every_asset_enabled_keeps_caps_filters_and_tiers(
    run_chloe: Callable[..., RunResult], config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    _enable_all(edit_config, exposure_usd=700)
    result = run_chloe(config_dir, tmp_path / "reports")
    assert result.returncode == 0, result.stderr
    journal = result.journal()
    symbols = {line["symbol"] for line in journal}
    assert not symbols & TIER3
    assert len(symbols) >= 5
    assert audit_journal(journal, load_config(config_dir)) == []
    assert {line["mode"] for line in journal if line["symbol"] == "XRPUSDT"} <= {"observation"}
    reasons = {s["reason"] for s in result.signals() if s["outcome"] == "refused"}
    assert {"regime", "bucket", "exposure_cap", "position_open"} <= reasons
    _assert_report_matches_journal(result, config_dir)


def test_two_replays_write_the_same_journal(
    run_chloe: Callable[..., RunResult], config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    _enable_all(edit_config)
    first = run_chloe(config_dir, tmp_path / "one")
    second = run_chloe(config_dir, tmp_path / "two")
    assert first.returncode == second.returncode == 0
    assert first.journal()
    assert _without_wall_time(first.journal()) == _without_wall_time(second.journal())


def test_a_replay_started_again_resumes_and_adds_nothing(
    run_chloe: Callable[..., RunResult], config_dir: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    first = run_chloe(config_dir, reports)
    before = (reports / "trades.jsonl").read_bytes()
    again = run_chloe(config_dir, reports)
    assert first.returncode == again.returncode == 0
    assert (reports / "trades.jsonl").read_bytes() == before
    recovered = [e for e in again.log_events() if e["event"] == "recovered"]
    assert recovered[0]["journal_lines"] == len(first.journal())


def test_a_bad_config_exits_2_naming_the_problem_without_a_traceback(
    run_chloe: Callable[..., RunResult], config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    edit_config(PAPER_FILE, lambda d: d["position_limits"].update(max_portfolio_exposure_usd=0))
    result = run_chloe(config_dir, tmp_path / "reports")
    assert result.returncode == 2
    assert "position_limits.max_portfolio_exposure_usd" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "reports" / "trades.jsonl").exists()


def test_bad_bars_are_refused_and_logged_and_the_rest_still_trades(
    run_chloe: Callable[..., RunResult], config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    source = json.loads((config_dir / PAPER_FILE).read_text())["feed"]["data_dir"]
    for csv in Path(source).glob("*.csv"):
        rows = csv.read_text().splitlines()
        if csv.name.startswith("ETHUSDT"):
            rows.insert(500, rows[499])  # a duplicate bar
            rows.insert(900, "1690000000000,abc,1,1,1,1")  # a malformed row
        (data / csv.name).write_text("\n".join(rows) + "\n")
    result = run_chloe(config_dir, tmp_path / "reports", "--data", str(data))
    assert result.returncode == 0, result.stderr
    refused = [e for e in result.log_events() if e["event"] == "bar_refused"]
    assert {e.get("code") for e in refused} >= {"duplicate"}
    assert any(e.get("line") == 901 for e in refused)
    assert result.journal()
