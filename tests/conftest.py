"""Shared fixtures: the repo's shipped config copied into a temp dir, ready to be edited."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.daemon_runs import REPO, RunResult, child_env, chloe_command
from tests.plugin_packages import install_all

# Property tests judge behaviour, not speed: the machine may be busy (2 cores, CI beside other
# jobs), so no per-example deadline and no "generation is slow" health check.
settings.register_profile(
    "chloe", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("chloe")


def pytest_configure(config: pytest.Config) -> None:
    """Install the local model packages first, so tests parametrised by model see them."""
    install_all()


SHIPPED_CONFIG = REPO / "config"
SAMPLE_DATA = REPO / "data" / "ohlcv"
MARKETS_FILE = REPO / "data" / "binance" / "exchangeInfo.json"
FULL_DATA = REPO.parent / "shared" / "data" / "ohlcv"

EditConfig = Callable[[str, Callable[[dict[str, Any]], None]], Path]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the shipped config whose data paths point at the repo's bundled sample."""
    target = tmp_path / "config"
    shutil.copytree(SHIPPED_CONFIG, target)
    paper = target / "multi_asset_paper_config.json"
    data = json.loads(paper.read_text())
    data["feed"]["data_dir"] = str(SAMPLE_DATA)
    data["feed"]["markets_file"] = str(MARKETS_FILE)
    paper.write_text(json.dumps(data, indent=2))
    return target


@pytest.fixture
def edit_config(config_dir: Path) -> EditConfig:
    """Edit one config file in place with a function over its parsed JSON."""

    def edit(file_name: str, change: Callable[[dict[str, Any]], None]) -> Path:
        path = config_dir / file_name
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data, indent=2))
        return path

    return edit


@pytest.fixture
def run_chloe() -> Callable[..., RunResult]:
    """Run the daemon to completion and collect its outputs."""

    def run(
        config_dir: Path,
        reports: Path,
        *extra: str,
        timeout: float = 120,
        extra_path: Path | None = None,
    ) -> RunResult:
        proc = subprocess.run(
            chloe_command(config_dir, reports, *extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_env(extra_path),
            cwd=REPO,
            check=False,
        )
        return RunResult(proc.returncode, proc.stdout, proc.stderr, reports)

    return run
