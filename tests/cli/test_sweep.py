"""`chloe research sweep`: its files, its progress, its verdict recomputed from its own
per-asset scores, bad grids refused by name, and the profile proposed from the best point."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.cli.research import main
from engine_alpha.config.config_loader import PROFILER_FILE
from engine_alpha.core.formatting import fmt_signed
from engine_alpha.research.html import read_sweep, research_section_html
from engine_alpha.signals.breakout import BreakoutParams
from tests.cli.test_research import SAMPLE
from tests.terminal import run_on_terminal

ASSETS = ["ETHUSDT", "BTCUSDT", "ADAUSDT"]
GRID = {"channel_bars": [12, 36], "fade_in_chop": [True, False]}


def _sweep(config_dir: Path, reports: Path, grid: Path, *extra: str) -> int:
    return main(
        [
            "sweep", "--model", "breakout", "--grid", str(grid), "--config-dir",
            str(config_dir), "--reports-dir", str(reports), "--data", str(SAMPLE),
            "--assets", *ASSETS, "--walk-forward", "3", "--id", "s1", *extra,
        ]
    )  # fmt: skip


def _grid(tmp_path: Path, grid: Any) -> Path:
    path = tmp_path / "grid.json"
    path.write_text(grid if isinstance(grid, str) else json.dumps(grid))
    return path


def test_a_sweep_writes_its_grid_every_score_and_a_verdict_recomputable_from_them(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    assert _sweep(config_dir, reports, _grid(tmp_path, GRID)) == 0
    out = capsys.readouterr().out
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert [x["event"] for x in lines] == ["sweep_point_done"] * 4
    assert sorted(x["point"] for x in lines) == [0, 1, 2, 3]
    assert "PBO" in out and "deflated Sharpe" in out

    folder = reports / "research" / "sweeps" / "s1"
    grid = json.loads((folder / "grid.json").read_text())
    assert grid["grid"] == GRID and grid["walk_forward"] == {"folds": 3, "scheme": "anchored"}
    assert grid["points"] == [
        {"channel_bars": c, "fade_in_chop": f} for c in (12, 36) for f in (True, False)
    ]
    points = json.loads((folder / "points.json").read_text())
    summary = json.loads((folder / "summary.json").read_text())
    # Each point's score is the sample-weighted mean of its assets' pooled walk-forward edges.
    scores = {}
    for point in points:
        per_asset = point["assets"].values()
        n = sum(a["wf_samples"] for a in per_asset)
        total = sum(a["wf_edge_bps"] * a["wf_samples"] for a in per_asset if a["wf_samples"])
        scores[point["index"]] = (total / n if n else math.nan, n)
        listed = summary["points"][point["index"]]
        assert listed["wf_samples"] == n
        assert listed["wf_edge_bps"] == pytest.approx(scores[point["index"]][0])
        assert listed["trades"] == sum(a["wf_trades"] for a in per_asset)
    eligible = {i: s for i, (s, n) in scores.items() if n >= 30 and not math.isnan(s)}
    assert summary["best"]["index"] == max(eligible, key=lambda i: eligible[i])
    assert 0.0 <= summary["pbo"]["pbo"] <= 1.0 and summary["pbo"]["combinations"] == 12_870
    assert 0.0 <= summary["deflated_sharpe"]["dsr"] <= 1.0
    assert summary["deflated_sharpe"]["trials"] == 4


@pytest.mark.parametrize(
    ("grid", "named"),
    [
        ("{not json", "invalid JSON"),
        ([12, 24], "a grid is a JSON object"),
        ({"channel_bars": []}, "channel_bars: a grid lists one or more values"),
        ({"no_such_knob": [1]}, "no_such_knob"),
        ({"channel_bars": [24, "wide"]}, "point 1"),
    ],
)
def test_a_bad_grid_exits_2_naming_the_file_and_the_problem(
    config_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    grid: Any,
    named: str,
) -> None:
    path = _grid(tmp_path, grid)
    assert _sweep(config_dir, tmp_path / "reports", path) == 2
    err = capsys.readouterr().err
    assert str(path) in err and named in err
    assert not (tmp_path / "reports" / "research" / "sweeps").exists()


def test_an_unknown_model_exits_2_listing_the_installed_ones(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["sweep", "--model", "nope", "--grid", str(_grid(tmp_path, GRID)),
         "--config-dir", str(config_dir), "--reports-dir", str(tmp_path / "r")]
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "nope" in err and "breakout" in err and "mean_reversion" in err


def test_the_best_point_is_researched_and_proposed_never_over_the_operators_file(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (config_dir / PROFILER_FILE).read_text()
    proposal = tmp_path / "proposed.json"
    grid = _grid(tmp_path, GRID)
    assert _sweep(config_dir, tmp_path / "reports", grid, "--propose-profiles", str(proposal)) == 0
    summary = json.loads((tmp_path / "reports/research/sweeps/s1/summary.json").read_text())
    best = summary["best"]["params"]
    defaults = BreakoutParams().model_dump()
    changed = {k: v for k, v in best.items() if defaults[k] != v}
    proposed = json.loads(proposal.read_text())["assets"]
    for symbol in ASSETS:
        assert proposed[symbol]["signal_model"] == {"name": "breakout", "params": changed}
    edge = json.loads((tmp_path / "reports/research/ETHUSDT/edge.json").read_text())
    assert edge["model"]["params"] == {**defaults, **best}
    assert edge["params"]["walk_forward"] == {"folds": 3, "scheme": "anchored"}
    assert (config_dir / PROFILER_FILE).read_text() == before


@pytest.mark.slow  # a subprocess on a pseudo-terminal
def test_on_a_terminal_the_sweep_shows_a_progress_bar_instead_of_json_lines(
    config_dir: Path, tmp_path: Path
) -> None:
    shown = run_on_terminal(
        ["research", "sweep", "--model", "breakout", "--grid", str(_grid(tmp_path, GRID)),
         "--config-dir", str(config_dir), "--reports-dir", str(tmp_path / "r"),
         "--data", str(SAMPLE), "--assets", "ETHUSDT", "--walk-forward", "2"]
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "sweep" in shown.stderr and "ETA" in shown.stderr
    assert "sweep_point_done" not in shown.stdout and "PBO" in shown.stdout


def test_the_html_heat_map_shows_each_cells_best_edge_over_the_other_parameters(
    config_dir: Path, tmp_path: Path
) -> None:
    grid = {"channel_bars": [12, 36], "atr_bars": [10, 14], "fade_in_chop": [True, False]}
    assert _sweep(config_dir, tmp_path / "reports", _grid(tmp_path, grid)) == 0
    summary = json.loads((tmp_path / "reports/research/sweeps/s1/summary.json").read_text())
    page = research_section_html(None, read_sweep(tmp_path / "reports"))
    table = re.search(r'<table class="panel sweep">(.*?)</table>', page, re.S)
    assert table is not None and "fade_in_chop" in page and "s1" in page
    header, *rows = re.findall(r"<tr><th>(.*?)</th>(.*?)</tr>", table.group(1))
    assert header[0] == "channel_bars \\ atr_bars" and [r[0] for r in rows] == ["12", "36"]
    for channel, cells in rows:
        shown = re.findall(r'<td class="r" style="background:[^"]+">(.*?)</td>', cells)
        for atr, text in zip([10, 14], shown, strict=True):
            edges = [
                p["wf_edge_bps"]
                for p in summary["points"]
                if p["params"]["channel_bars"] == int(channel) and p["params"]["atr_bars"] == atr
            ]
            assert text == fmt_signed(max(edges))
