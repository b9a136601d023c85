"""One real replay with five assets enabled, shared by the dashboard tests (read-only)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine_alpha.config.config_loader import PAPER_FILE
from tests.conftest import MARKETS_FILE, REPO, SAMPLE_DATA, SHIPPED_CONFIG

PHASE_2_1 = ("BTCUSDT", "MATICUSDT", "AVAXUSDT", "DOGEUSDT")


@dataclass(frozen=True)
class Replay:
    """Where a finished replay left its config and reports."""

    config_dir: Path
    reports: Path


def copy_config(target: Path, *enable: str) -> Path:
    """The shipped config with absolute data paths and `enable` switched on."""
    shutil.copytree(SHIPPED_CONFIG, target)
    path = target / PAPER_FILE
    data = json.loads(path.read_text())
    data["feed"]["data_dir"] = str(SAMPLE_DATA)
    data["feed"]["markets_file"] = str(MARKETS_FILE)
    for symbol in enable:
        data["enabled_assets"][symbol]["enabled"] = True
    path.write_text(json.dumps(data, indent=2) + "\n")
    return target


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Replay:
    """`chloe run --replay` over the bundled sample with ETH and the phase 2.1 assets."""
    root = tmp_path_factory.mktemp("replay")
    config_dir = copy_config(root / "config", *PHASE_2_1)
    reports = root / "reports"
    cmd = [sys.executable, "-m", "engine_alpha", "run", "--replay", "--summary=never"]
    cmd += ["--config-dir", str(config_dir), "--reports-dir", str(reports)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr
    return Replay(config_dir, reports)
