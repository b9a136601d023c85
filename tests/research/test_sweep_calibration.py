"""Sweep calibration: on random walks the search is called what it is (PBO about 1/2 or above
on average, deflated Sharpe not significant); with an edge planted behind one parameter region
of a model, the sweep picks that region, its PBO is near 0 and its deflated Sharpe significant.

The walks are generated, written as bar files, and swept through `chloe research sweep` itself
on four assets of 8,000 bars (the full-size run is bench/calibration.py's job)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.cli.research import main
from engine_alpha.market.bars import Bar
from engine_alpha.signals.catalog import plugin
from tests.research.series import planted_walk, random_walk, write_csv

pytestmark = pytest.mark.slow  # six sweeps of 8 points x 4 assets (quick set: -m 'not slow')

ASSETS = ["ETHUSDT", "BTCUSDT", "ADAUSDT", "SOLUSDT"]
BARS = 8_000
GRID = {"entry_z": [1.5, 2.0, 2.5, 3.0], "ema_bars": [24, 48]}
PLANTED = {"entry_z": 2.0, "ema_bars": 48}  # mean_reversion's defaults: what the planter runs


def _as(symbol: str, bars: list[Bar]) -> list[Bar]:
    return [Bar(symbol, b.ts_ms, b.open, b.high, b.low, b.close, b.volume) for b in bars]


def _sweep(config_dir: Path, root: Path, walks: dict[str, list[Bar]]) -> dict[str, Any]:
    data = root / "data"
    data.mkdir(parents=True)
    for symbol, bars in walks.items():
        write_csv(data / f"{symbol}-1h.csv", _as(symbol, bars))
    grid = root / "grid.json"
    grid.write_text(json.dumps(GRID))
    code = main(
        ["sweep", "--model", "mean_reversion", "--grid", str(grid), "--data", str(data),
         "--config-dir", str(config_dir), "--reports-dir", str(root / "reports"),
         "--assets", *ASSETS, "--id", "s", "--workers", "2"]
    )  # fmt: skip
    assert code == 0
    summary: dict[str, Any] = json.loads(
        (root / "reports/research/sweeps/s/summary.json").read_text()
    )
    return summary


def test_on_random_walks_the_search_is_overfit_and_its_best_sharpe_is_not_significant(
    config_dir: Path, tmp_path: Path
) -> None:
    pbos = []
    for seed in range(4):
        walks = {s: random_walk(BARS, 100 * seed + i) for i, s in enumerate(ASSETS)}
        summary = _sweep(config_dir, tmp_path / f"noise-{seed}", walks)
        pbos.append(summary["pbo"]["pbo"])
        assert summary["deflated_sharpe"]["dsr"] < 0.95
    # Choosing the best of noise is a coin toss out of sample: PBO about 1/2 on average (each
    # sweep's PBO is itself noisy: 0.2 to 0.7 on these seeds).
    assert statistics.mean(pbos) > 0.35, pbos


def test_an_edge_planted_in_one_parameter_region_is_picked_with_a_low_pbo(
    config_dir: Path, tmp_path: Path
) -> None:
    planter = plugin("mean_reversion").create
    for seed in range(2):
        walks = {
            s: planted_walk(BARS, 100 * seed + i, "high_vol", frozenset(range(5, 10)), 0.004, 4,
                            model=planter)
            for i, s in enumerate(ASSETS)
        }  # fmt: skip
        summary = _sweep(config_dir, tmp_path / f"planted-{seed}", walks)
        assert summary["best"]["params"] == PLANTED
        assert summary["best"]["wf_edge_bps"] > 20.0
        assert summary["pbo"]["pbo"] < 0.1
        assert summary["deflated_sharpe"]["dsr"] > 0.95
