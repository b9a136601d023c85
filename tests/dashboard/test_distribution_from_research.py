"""The distribution gate reads what `chloe research` wrote for the asset, after a real replay."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine_alpha.cli.research_command import ResearchCommand
from engine_alpha.config.config_loader import load_config
from engine_alpha.dashboard.multi_asset_panel import gather, status_dict
from tests.dashboard.conftest import Replay

PHASE_2_1 = ("BTCUSDT", "MATICUSDT", "AVAXUSDT", "DOGEUSDT")


def test_research_gives_the_expected_shares_and_the_replay_matches_them(
    replay: Replay, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    shutil.copytree(replay.reports, reports)
    config = load_config(replay.config_dir)
    before = status_dict(gather(config, reports, bars={}))
    for symbol in ("ETHUSDT", *PHASE_2_1):
        dist = before["assets"][symbol]["distribution"]
        assert dist["unknown"].startswith("no research for this asset")
        assert dist["expected_shares"] is None and not dist["matches"]
        codes = [b["code"] for b in before["assets"][symbol]["failing"]]
        assert "distribution_unknown" in codes and "distribution_mismatch" not in codes

    command = ResearchCommand(
        config_dir=replay.config_dir,
        reports_dir=reports,
        now=lambda: datetime(2026, 12, 3, tzinfo=UTC),
        assets=["MATICUSDT"],
    )
    assert command.run() == 0
    edge = json.loads((reports / "research" / "MATICUSDT" / "edge.json").read_text())
    researched = edge["signal_distribution"]["cells"]
    logged = Counter(
        f"{s['regime']}|{s['bucket']}"
        for s in map(json.loads, (reports / "signals.jsonl").read_text().splitlines())
        if s["symbol"] == "MATICUSDT"
    )
    assert researched == dict(logged), "research counts the daemon's own signals"

    matic = status_dict(gather(config, reports, bars={}))["assets"]["MATICUSDT"]
    dist = matic["distribution"]
    assert dist["unknown"] is None and dist["research"].endswith("MATICUSDT/edge.json")
    focus = [n for cell, n in researched.items() if cell.startswith("high_vol|")]
    shares = [researched.get(f"high_vol|{b}", 0) / sum(focus) for b in range(10)]
    assert dist["expected_shares"] == pytest.approx(shares)
    assert dist["chi_square"] == pytest.approx(0.0) and dist["p_value"] == pytest.approx(1.0)
    assert "bucket_distribution_off" not in dist["failing"]
    assert "distribution_unknown" not in [b["code"] for b in matic["failing"]]
