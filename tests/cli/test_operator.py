"""The operator's commands through argparse: status, enable, disable, risk on real files."""

from __future__ import annotations

import argparse
import json
import os
import pwd
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from engine_alpha.cli.operator import main, register
from engine_alpha.config.config_loader import PAPER_FILE, load_config
from engine_alpha.core.exit_codes import EXIT_CONFIG, EXIT_FAILED, EXIT_JOURNAL_DAMAGED, EXIT_OK
from tests.ops.factory import (
    HOUR_MS,
    Journal,
    uniform_cells,
    uniform_signals,
    write_jsonl,
    write_research,
)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _dirs(config_dir: Path, reports: Path) -> tuple[str, ...]:
    return ("--config-dir", str(config_dir), "--reports-dir", str(reports))


def _stable_eth_reports(reports: Path) -> None:
    journal = Journal()
    journal.trades("ETHUSDT", [10.0 if i % 5 else -5.0 for i in range(12)], every_ms=12 * HOUR_MS)
    journal.write(reports)
    write_jsonl(reports / "signals.jsonl", uniform_signals("ETHUSDT"))
    write_research(reports, "ETHUSDT", uniform_cells())


def _status(capsys: pytest.CaptureFixture[str], config_dir: Path, reports: Path) -> Any:
    code, out, _ = _run(capsys, "status", "--json", *_dirs(config_dir, reports))
    assert code == EXIT_OK
    return json.loads(out)


def test_status_works_before_any_report_exists(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    status = _status(capsys, config_dir, tmp_path / "no-reports-yet")
    assert status["journal_fills"] == 0
    assert status["files"] == {"trades.jsonl": False, "signals.jsonl": False, "events.jsonl": False}
    assert len(status["assets"]) == 12
    eth = status["assets"]["ETHUSDT"]
    assert (eth["trades"], eth["pf"], eth["gate"], eth["enabled"]) == (0, None, "not_stable", True)
    assert status["assets"]["BNBUSDT"]["gate"] == "research_only"
    rollout = status["rollout"]
    assert (rollout["phase"], rollout["done"], rollout["next"]) == ("2.1", ["ETHUSDT"], "BTCUSDT")
    assert not rollout["next_can_enable"]
    assert {"code": "trades_below_min", "symbol": "ETHUSDT"}.items() <= rollout["blocked_by"][
        0
    ].items()
    assert not (tmp_path / "no-reports-yet").exists()


def test_status_table_names_the_next_asset_and_why(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    code, out, _ = _run(capsys, "status", *_dirs(config_dir, tmp_path / "reports"))
    assert code == EXIT_OK
    assert "ETHUSDT" in out and "PORTFOLIO" in out
    assert "next: BTCUSDT (paper): blocked by" in out
    assert "ETHUSDT trades_below_min: closed trades 0, needs >= 10" in out
    _stable_eth_reports(tmp_path / "reports")
    _, out, _ = _run(capsys, "status", *_dirs(config_dir, tmp_path / "reports"))
    assert "next: BTCUSDT (paper): gate met, run `chloe enable BTCUSDT`" in out


def test_status_reads_the_directories_from_the_environment(
    capsys: pytest.CaptureFixture[str],
    config_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _stable_eth_reports(tmp_path / "reports")
    monkeypatch.setenv("CHLOE_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("CHLOE_REPORTS_DIR", str(tmp_path / "reports"))
    code, out, _ = _run(capsys, "status", "--json")
    assert code == EXIT_OK
    assert json.loads(out)["assets"]["ETHUSDT"]["trades"] == 12


def test_signal_lines_without_a_bar_time_are_skipped_counted_and_named(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    """A hand-edited or foreign line in signals.jsonl: status reads on and says so, and its
    figures are those of the file without that line."""
    reports = tmp_path / "reports"  # the same path both times: status names its files
    _stable_eth_reports(reports)
    clean = _status(capsys, config_dir, reports)
    with (reports / "signals.jsonl").open("a") as f:
        f.write('{"symbol": "ETHUSDT", "regime": "chop", "bucket": 3}\n')  # no bar_ts
        f.write('{"symbol": "ETHUSDT", "bar_ts": "1700000000000", "regime": "chop"}\n')
        f.write('{"symbol": "ETHUSDT", "bar_ts": true, "regime": "chop"}\n')
    code, out, err = _run(capsys, "status", "--json", *_dirs(config_dir, reports))
    assert code == EXIT_OK
    assert f"{reports / 'signals.jsonl'}: 3 line(s) skipped" in err
    odd = json.loads(out)
    assert odd["assets"] == clean["assets"] and odd["rollout"] == clean["rollout"]


def test_enable_is_refused_while_the_previous_asset_is_not_stable(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    before = (config_dir / PAPER_FILE).read_bytes()
    code, _, err = _run(capsys, "enable", "BTCUSDT", *_dirs(config_dir, tmp_path / "r"))
    assert code == EXIT_FAILED
    assert "the gate for BTCUSDT is not met" in err
    assert "ETHUSDT trades_below_min" in err and "--force" in err
    assert (config_dir / PAPER_FILE).read_bytes() == before


def test_a_forced_enable_is_printed_and_logged_as_forced(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    with capture_logs() as logs:
        code, out, _ = _run(
            capsys, "enable", "btcusdt", "--force", *_dirs(config_dir, tmp_path / "r")
        )
    assert code == EXIT_OK
    assert "FORCED: enabling BTCUSDT although its gate is not met" in out
    assert "systemctl reload chloe" in out
    (forced,) = [e for e in logs if e["event"] == "forced_enable"]
    assert forced["symbol"] == "BTCUSDT" and forced["log_level"] == "warning"
    assert "trades_below_min:ETHUSDT" in forced["blockers"]
    assert load_config(config_dir).trading_symbols() == ["ETHUSDT", "BTCUSDT"]


def test_enable_passes_when_the_previous_asset_is_stable(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    _stable_eth_reports(tmp_path / "reports")
    with capture_logs() as logs:
        code, out, _ = _run(capsys, "enable", "BTCUSDT", *_dirs(config_dir, tmp_path / "reports"))
    assert code == EXIT_OK, out
    assert "FORCED" not in out and logs == []
    assert out.startswith("enabled BTCUSDT (paper)")


@pytest.mark.parametrize("symbol", ["BNBUSDT", "DOTUSDT", "ADAUSDT", "LINKUSDT", "ATOMUSDT"])
def test_a_tier3_asset_is_refused_even_when_forced(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path, symbol: str
) -> None:
    before = (config_dir / PAPER_FILE).read_bytes()
    code, _, err = _run(capsys, "enable", symbol, "--force", *_dirs(config_dir, tmp_path))
    assert code == EXIT_FAILED
    assert f"{symbol} is tier 3" in err and "--force does not override" in err
    assert (config_dir / PAPER_FILE).read_bytes() == before


def test_enable_and_disable_report_no_change_when_there_is_none(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    before = (config_dir / PAPER_FILE).read_bytes()
    code, out, _ = _run(capsys, "enable", "ETHUSDT", *_dirs(config_dir, tmp_path))
    assert (code, out.strip()) == (EXIT_OK, "ETHUSDT is already enabled (paper); nothing changed")
    code, out, _ = _run(capsys, "disable", "SOLUSDT", *_dirs(config_dir, tmp_path))
    assert (code, out.strip()) == (EXIT_OK, "SOLUSDT is not enabled; nothing changed")
    assert (config_dir / PAPER_FILE).read_bytes() == before


def test_disable_turns_an_asset_off_and_mentions_its_open_position(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    journal = Journal()
    journal.open("ETHUSDT", 1_700_006_400_000)
    journal.write(tmp_path / "reports")
    code, out, _ = _run(capsys, "disable", "ETHUSDT", *_dirs(config_dir, tmp_path / "reports"))
    assert code == EXIT_OK
    assert "disabled ETHUSDT" in out and "exit-only" in out
    assert load_config(config_dir).trading_symbols() == []


def test_enable_with_a_mode_sets_it(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    with capture_logs():
        code, _, _ = _run(
            capsys, "enable", "XRPUSDT", "--mode", "paper", "--force", *_dirs(config_dir, tmp_path)
        )
    assert code == EXIT_OK
    assert load_config(config_dir).paper.enabled_assets["XRPUSDT"].mode == "paper"


def test_unknown_symbols_bad_configs_and_damaged_journals_exit_with_their_codes(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    code, _, err = _run(capsys, "enable", "FOOUSDT", *_dirs(config_dir, tmp_path))
    assert code == EXIT_CONFIG and "unknown symbol 'FOOUSDT'" in err
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "trades.jsonl").write_text('{"seq": 1}\n{"seq": 2}\n')
    code, _, err = _run(capsys, "status", *_dirs(config_dir, reports))
    assert code == EXIT_JOURNAL_DAMAGED and "journal damaged" in err
    (config_dir / PAPER_FILE).write_text("{")
    code, _, err = _run(capsys, "status", *_dirs(config_dir, reports))
    assert code == EXIT_CONFIG and "config rejected" in err and PAPER_FILE in err


def test_risk_json_gives_the_engine_figures(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    _stable_eth_reports(tmp_path / "reports")
    code, out, _ = _run(capsys, "risk", "--json", *_dirs(config_dir, tmp_path / "reports"))
    assert code == EXIT_OK
    risk = json.loads(out)
    assert risk["portfolio"]["enabled_assets"] == ["ETHUSDT"]
    assert risk["portfolio"]["weighted_edge_bps"] == pytest.approx(1.6)
    assert list(risk["assets"]) == load_config(config_dir).paper.activation_order
    eth = risk["assets"]["ETHUSDT"]
    assert eth["expected_trades_source"] == "signals"
    assert set(eth["components"]) == {"exposure", "volatility", "drawdown", "edge"}
    code, out, _ = _run(capsys, "risk", *_dirs(config_dir, tmp_path / "reports"))
    assert code == EXIT_OK and "Chloe risk engine" in out and "weighted edge 1.60 bps" in out


def test_register_adds_every_command_to_a_parser_like_chloes() -> None:
    parser = argparse.ArgumentParser(prog="chloe")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run")
    register(sub)
    for argv in (
        ["status", "--json"],
        ["panel"],
        ["enable", "BTCUSDT", "--mode", "observation", "--force"],
        ["disable", "BTCUSDT"],
        ["risk", "--json"],
        ["report", "--html", "out.html"],
        ["ack"],
        ["ack", "BTCUSDT", "--note", "disk replaced"],
    ):
        args = parser.parse_args(argv)
        assert args.command == argv[0] and callable(args.handler)


def _events(reports: Path) -> list[dict[str, Any]]:
    path = reports / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_forced_enable_is_recorded_in_events_and_shown_by_status_and_the_report(
    capsys: pytest.CaptureFixture[str],
    config_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUDO_USER", "alice")
    reports = tmp_path / "reports"
    with capture_logs():
        code, _, _ = _run(capsys, "enable", "BTCUSDT", "--force", *_dirs(config_dir, reports))
    assert code == EXIT_OK
    (record,) = _events(reports)
    me = pwd.getpwuid(os.getuid()).pw_name
    assert (record["event"], record["level"], record["symbol"], record["mode"]) == (
        "asset_enabled",
        "warning",
        "BTCUSDT",
        "paper",
    )
    assert (record["forced"], record["user"], record["sudo_user"]) == (True, me, "alice")
    stamp = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 3600
    overridden = [(b["code"], b["symbol"]) for b in record["overridden"]]
    assert ("trades_below_min", "ETHUSDT") in overridden

    status = _status(capsys, config_dir, reports)
    (forced,) = status["rollout"]["forced_enables"]
    assert (forced["symbol"], forced["user"], forced["timestamp"]) == (
        "BTCUSDT",
        me,
        record["timestamp"],
    )
    assert forced["overridden"] == record["overridden"]
    _, text, _ = _run(capsys, "status", *_dirs(config_dir, reports))
    line = f"forced enable: BTCUSDT (paper) by {me} (sudo from alice) at {record['timestamp']}"
    assert line in text and "over ETHUSDT trades_below_min" in text
    html = tmp_path / "report.html"
    assert main(["report", "--html", str(html), *_dirs(config_dir, reports)]) == EXIT_OK
    capsys.readouterr()
    assert line in html.read_text()


def test_an_enable_that_cannot_be_recorded_changes_nothing(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    before = (config_dir / PAPER_FILE).read_bytes()
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "events.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")  # never followed
    code, _, err = _run(capsys, "enable", "BTCUSDT", "--force", *_dirs(config_dir, reports))
    assert code == EXIT_FAILED
    assert "cannot record the change" in err and "nothing changed" in err
    assert (config_dir / PAPER_FILE).read_bytes() == before


def test_a_gated_enable_is_recorded_too_without_overrides(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    _stable_eth_reports(tmp_path / "reports")
    code, _, _ = _run(capsys, "enable", "BTCUSDT", *_dirs(config_dir, tmp_path / "reports"))
    assert code == EXIT_OK
    (record,) = _events(tmp_path / "reports")
    assert (record["event"], record["level"], record["forced"], record["overridden"]) == (
        "asset_enabled",
        "info",
        False,
        [],
    )
    assert _status(capsys, config_dir, tmp_path / "reports")["rollout"]["forced_enables"] == []


def test_ack_records_the_acknowledgement_and_earlier_errors_stop_blocking(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    _stable_eth_reports(reports)
    errors = [
        {"level": "critical", "event": "write_failed", "file": "signals.jsonl"},
        {"level": "error", "event": "task_failed", "task": "strategy:ETHUSDT"},
    ]
    write_jsonl(reports / "events.jsonl", errors)
    status = _status(capsys, config_dir, reports)
    assert status["portfolio"]["critical_errors"] == 1
    assert status["assets"]["ETHUSDT"]["critical_errors"] == 1
    assert "critical_errors" in [b["code"] for b in status["rollout"]["blocked_by"]]

    code, out, _ = _run(capsys, "ack", "ETHUSDT", "--note", "fixed", *_dirs(config_dir, reports))
    assert code == EXIT_OK and "acknowledged 1 error events (ETHUSDT 1)" in out
    status = _status(capsys, config_dir, reports)
    assert status["assets"]["ETHUSDT"]["critical_errors"] == 0
    assert status["portfolio"]["critical_errors"] == 1
    assert status["rollout"]["next_can_enable"]

    code, out, _ = _run(capsys, "ack", *_dirs(config_dir, reports))
    assert code == EXIT_OK and "(portfolio 1)" in out
    assert _status(capsys, config_dir, reports)["portfolio"]["critical_errors"] == 0
    acks = [e for e in _events(reports) if e["event"] == "errors_acknowledged"]
    assert [(a["symbol"], a["acknowledged"], a["note"]) for a in acks] == [
        ("ETHUSDT", {"ETHUSDT": 1}, "fixed"),
        (None, {"portfolio": 1}, None),
    ]
    assert all(a["user"] == pwd.getpwuid(os.getuid()).pw_name for a in acks)
    code, out, _ = _run(capsys, "ack", *_dirs(config_dir, reports))
    assert code == EXIT_OK and out.startswith("no error events to acknowledge")
    assert len(_events(reports)) == 4


def test_an_enable_starts_the_assets_error_window(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    _stable_eth_reports(reports)
    write_jsonl(reports / "events.jsonl", [{"level": "error", "event": "x", "symbol": "BTCUSDT"}])
    assert _status(capsys, config_dir, reports)["assets"]["BTCUSDT"]["critical_errors"] == 1
    code, _, _ = _run(capsys, "enable", "BTCUSDT", *_dirs(config_dir, reports))
    assert code == EXIT_OK
    assert _status(capsys, config_dir, reports)["assets"]["BTCUSDT"]["critical_errors"] == 0
