"""`chloe research` on the bundled sample: reports, tables, and profiles written only when asked."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.cli.research import main, register, run_command
from engine_alpha.config.config_loader import PROFILER_FILE, load_config
from engine_alpha.research.split import Split
from tests.research.series import random_walk, write_csv

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "ohlcv"
ASSETS = ["ETHUSDT", "BTCUSDT", "ADAUSDT"]


def _run(config_dir: Path, reports: Path, *extra: str) -> int:
    args = ["--config-dir", str(config_dir), "--reports-dir", str(reports), "--data", str(SAMPLE)]
    return main([*args, "--assets", *ASSETS, *extra])


def test_register_adds_research_with_its_handler() -> None:
    parser = argparse.ArgumentParser(prog="chloe")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["research", "--horizon", "6", "--split", "2023-10-01"])
    assert args.handler is run_command
    assert args.horizon == 6 and args.split.cutoff_ms is not None
    assert isinstance(args.split, Split)


def test_a_bad_split_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--split", "1.5"])
    assert "split" in capsys.readouterr().err


def test_it_writes_edge_and_summary_reports_and_prints_the_table(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profiler_before = (config_dir / PROFILER_FILE).read_text()
    assert _run(config_dir, tmp_path / "reports", "--cells") == 0
    out = capsys.readouterr().out
    assert "Edge per asset" in out and "BTCUSDT" in out
    summary = json.loads((tmp_path / "reports" / "research" / "summary.json").read_text())
    assert list(summary["assets"]) == ASSETS
    assert summary["params"]["round_trip_cost_bps"] == 24.0
    btc = summary["assets"]["BTCUSDT"]
    assert btc["current"]["tier"] == 1 and btc["proposal"]["tier"] in (1, 2, 3)
    edge: dict[str, Any] = json.loads(
        (tmp_path / "reports" / "research" / "BTCUSDT" / "edge.json").read_text()
    )
    assert edge["data"]["bars"] == 4_387
    assert set(edge["halves"]) == {"in_sample", "out_of_sample", "all"}
    ins = edge["halves"]["in_sample"]
    for cell in ins["cells"].values():
        fwd = cell["forward"]
        if fwd["edge_bps"] is not None:
            assert fwd["gross_edge_bps"] == pytest.approx(fwd["edge_bps"] + 24.0, abs=0.02)
    assert (config_dir / PROFILER_FILE).read_text() == profiler_before


def test_a_proposal_is_written_to_its_own_file_and_diffed(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (config_dir / PROFILER_FILE).read_text()
    proposal = tmp_path / "proposed.json"
    assert _run(config_dir, tmp_path / "reports", "--propose-profiles", str(proposal)) == 0
    assert "Proposed changes to" in capsys.readouterr().out
    proposed = json.loads(proposal.read_text())
    assert set(proposed["assets"]) == set(json.loads(before)["assets"])
    assert (config_dir / PROFILER_FILE).read_text() == before


def test_the_operator_file_is_never_the_proposal_target(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = str(config_dir / PROFILER_FILE)
    assert _run(config_dir, tmp_path / "reports", "--propose-profiles", target) == 2
    assert "--write-profiles" in capsys.readouterr().err


def test_write_profiles_refuses_a_proposal_the_daemon_would_reject(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (config_dir / PROFILER_FILE).read_text()
    (tmp_path / "data").mkdir()
    write_csv(tmp_path / "data" / "ETHUSDT-1h.csv", random_walk(8_000, seed=3))
    args = ["--config-dir", str(config_dir), "--reports-dir", str(tmp_path / "reports")]
    code = main(
        [*args, "--data", str(tmp_path / "data"), "--assets", "ETHUSDT", "--write-profiles"]
    )
    assert code == 2  # ETH is enabled, and a random walk makes it tier 3
    assert "enabled_assets.ETHUSDT.enabled: ETHUSDT is tier 3" in capsys.readouterr().err
    assert (config_dir / PROFILER_FILE).read_text() == before


def test_write_profiles_replaces_the_config_with_a_valid_one(
    config_dir: Path, tmp_path: Path, edit_config: Any
) -> None:
    edit_config(
        "multi_asset_paper_config.json",
        lambda d: d["enabled_assets"]["ETHUSDT"].update(enabled=False),
    )
    assert _run(config_dir, tmp_path / "reports", "--write-profiles") == 0
    summary = json.loads((tmp_path / "reports" / "research" / "summary.json").read_text())
    profiles = load_config(config_dir).profiler.assets
    for symbol in ASSETS:
        assert profiles[symbol].tier == summary["assets"][symbol]["proposal"]["tier"]


def test_a_broken_config_exits_2_with_its_message(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (config_dir / PROFILER_FILE).write_text("{not json")
    assert _run(config_dir, tmp_path / "reports") == 2
    assert "invalid JSON" in capsys.readouterr().err


def test_the_html_section_shows_one_row_per_researched_asset(
    config_dir: Path, tmp_path: Path
) -> None:
    from engine_alpha.research.html import read_summary, research_section_html

    assert "No research yet" in research_section_html(read_summary(tmp_path / "reports"))
    assert _run(config_dir, tmp_path / "reports") == 0
    html = research_section_html(read_summary(tmp_path / "reports"))
    assert html.startswith("<h2>Research</h2>")
    assert [f'data-symbol="{s}"' in html for s in ASSETS] == [True] * len(ASSETS)
    assert html.count("<tr") == len(ASSETS) + 1
