"""`chloe status` reads the reports while the daemon appends to them, without a hiccup."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine_alpha.config.config_loader import load_config
from engine_alpha.dashboard.multi_asset_panel import gather, status_dict
from tests.conftest import REPO
from tests.dashboard.conftest import PHASE_2_1, copy_config


def test_status_during_a_replay_sees_a_growing_consistent_journal(tmp_path: Path) -> None:
    config_dir = copy_config(tmp_path / "config", *PHASE_2_1)
    config = load_config(config_dir)
    reports = tmp_path / "reports"
    cmd = [sys.executable, "-m", "engine_alpha", "run", "--replay", "--summary=never"]
    cmd += ["--config-dir", str(config_dir), "--reports-dir", str(reports)]
    daemon = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    fills_seen: list[int] = []
    try:
        while daemon.poll() is None:
            status = status_dict(gather(config, reports, bars={}))
            fills_seen.append(status["journal_fills"])
            trades = sum(row["trades"] for row in status["assets"].values())
            assert trades == status["portfolio"]["trades"]
    finally:
        _, err = daemon.communicate(timeout=120)
    assert daemon.returncode == 0, err
    assert fills_seen == sorted(fills_seen)
    assert len(set(fills_seen)) > 2, fills_seen
    final = status_dict(gather(config, reports, bars={}))
    assert final["journal_fills"] >= fills_seen[-1]
