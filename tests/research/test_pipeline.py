"""Research end to end on bar series with a known answer, and one implementation with the daemon."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import structlog
from structlog.testing import capture_logs

from engine_alpha.config.models import REGIMES
from engine_alpha.market.replay import ReplayFeed
from engine_alpha.research.analysis import AssetResult, ResearchSettings, analyse
from engine_alpha.research.collect import collect_bars, collect_file
from engine_alpha.research.edge import cell_key
from engine_alpha.research.pipeline import research_asset, run_research
from engine_alpha.signals.decision import BarDecision
from engine_alpha.strategy.task import StrategyTask
from tests.research.series import HOUR_MS, planted_walk, random_walk, write_csv

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "ohlcv"
SETTINGS = ResearchSettings()


def _research(tmp_path: Path, bars: list, symbol: str = "TESTUSDT") -> AssetResult:
    write_csv(tmp_path / f"{symbol}-1h.csv", bars)
    result = research_asset(tmp_path, symbol, "1h", SETTINGS, 1e-8)
    assert isinstance(result, AssetResult)
    return result


@pytest.mark.parametrize("drift", [0.004, -0.004])
def test_a_planted_edge_in_one_cell_is_found_with_its_sign_and_size(
    tmp_path: Path, drift: float
) -> None:
    bars = planted_walk(
        20_000, seed=2, regime="high_vol", buckets=frozenset({9}), drift=drift, horizon=4
    )
    result = _research(tmp_path, bars)
    planted = cell_key(REGIMES.index("high_vol"), 9)
    expected = ((1.0 + drift) ** 4 - 1.0) * 10_000 - 24.0  # +137.0 or -182.9 bps, net
    found = result.halves["all"].cells[planted]
    assert found.samples >= 60
    assert found.mean == pytest.approx(expected, abs=3.0)
    assert np.sign(found.ci_low) == np.sign(found.ci_high) == np.sign(drift)
    if drift > 0:
        assert result.selection.best_cell == planted
        assert result.halves["in_sample"].cells[planted].mean > 100.0
        assert result.halves["out_of_sample"].cells[planted].mean > 100.0
        assert result.halves["all"].trades.cells[planted].mean > 100.0


def test_on_random_walks_gross_edges_hold_zero_and_net_edges_sit_near_minus_the_cost() -> None:
    nets, trades, inside, cells = [], [], 0, 0
    for seed in range(2, 6):
        series = collect_bars(random_walk(20_000, seed), "TESTUSDT", HOUR_MS)
        table = analyse(series, SETTINGS, 1e-8).halves["all"]
        nets.append(table.overall.mean)
        trades.append(table.trades.overall.mean)
        for s in table.cells:
            if s.samples >= 10:
                gross = s.shifted(SETTINGS.cost_bps)
                cells += 1
                inside += gross.ci_low <= 0.0 <= gross.ci_high
    assert inside >= 0.85 * cells
    assert np.mean(nets) == pytest.approx(-24.0, abs=6.0)
    assert np.mean(trades) == pytest.approx(-24.0, abs=8.0)


async def _daemon_decisions(data_dir: Path, symbol: str) -> list[BarDecision]:
    """The daemon's path: the replay feed's validated bars through StrategyTask.decide."""
    task = StrategyTask(symbol=symbol, rules=None)
    out: list[BarDecision] = []
    with capture_logs():
        feed = ReplayFeed(data_dir, [symbol], "1h", log=structlog.get_logger())
        async for chunk in feed.chunks():
            bars = [bar for bar_time in chunk for bar in bar_time.bars]
            out.extend(d.decision for d in task.decide(bars))
    return out


async def test_research_and_the_daemon_decide_the_same_regime_and_bucket_for_every_bar(
    tmp_path: Path,
) -> None:
    bars = random_walk(3_000, seed=4)
    bad = {
        700: f"{bars[699].ts_ms},1,1,1,1,1",  # a duplicate time
        900: f"{bars[899].ts_ms + HOUR_MS // 2},1,2,0.5,1,1",  # off the hourly grid
        1200: "not,a,bar,at,all,!",  # not numbers
        1500: f"{bars[1500].ts_ms - 1},5,4,1,2,1",  # high below the body (and misaligned)
    }
    write_csv(tmp_path / "TESTUSDT-1h.csv", bars, extra_rows=bad)
    daemon = await _daemon_decisions(tmp_path, "TESTUSDT")
    research = collect_file(tmp_path / "TESTUSDT-1h.csv", "TESTUSDT", HOUR_MS)
    assert len(research.bars) == len(daemon) == len(bars)
    assert sum(research.refused.values()) == len(bad)
    assert research.ts_ms.tolist() == [d.ts_ms for d in daemon]
    regimes = [None if r < 0 else REGIMES[r] for r in research.regime.tolist()]
    assert regimes == [d.regime for d in daemon]
    assert [None if b < 0 else b for b in research.bucket.tolist()] == [d.bucket for d in daemon]
    directions = {1: "long", -1: "short", 0: None}
    assert [directions[x] for x in research.direction.tolist()] == [d.direction for d in daemon]
    assert research.signal_idx.size > 50


async def test_the_same_holds_on_the_bundled_sample(tmp_path: Path) -> None:
    daemon = await _daemon_decisions(SAMPLE, "BTCUSDT")
    research = collect_file(SAMPLE / "BTCUSDT-1h.csv", "BTCUSDT", HOUR_MS)
    assert [None if b < 0 else b for b in research.bucket.tolist()] == [d.bucket for d in daemon]
    regimes = [None if r < 0 else REGIMES[r] for r in research.regime.tolist()]
    assert regimes == [d.regime for d in daemon]


def test_a_missing_file_is_reported_and_the_other_assets_still_run(tmp_path: Path) -> None:
    write_csv(tmp_path / "TESTUSDT-1h.csv", random_walk(1_500, seed=3))
    run = run_research(tmp_path, ["NOPEUSDT", "TESTUSDT"], "1h", SETTINGS)
    assert list(run.results) == ["TESTUSDT"]
    assert "NOPEUSDT-1h.csv" in run.problems["NOPEUSDT"]
