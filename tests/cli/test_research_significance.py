"""`chloe research` reports its tests: BY q-values recomputed here from the p-values it wrote,
the cells called an edge, the search tests, and walk-forward folds that tile the tail."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.cli.research import main
from tests.cli.test_research import ASSETS, SAMPLE


def _research(config_dir: Path, reports: Path, *extra: str) -> int:
    args = ["--config-dir", str(config_dir), "--reports-dir", str(reports), "--data", str(SAMPLE)]
    return main([*args, "--assets", *ASSETS, *extra])


def _by_by_hand(p: dict[str, float]) -> dict[str, float]:
    """Benjamini-Yekutieli adjusted p-values from the definition: q_(i) = min over j >= i of
    min(1, m c(m) p_(j) / j)."""
    m = len(p)
    c = sum(1.0 / i for i in range(1, m + 1))
    ranked = sorted(p, key=lambda k: p[k])
    out: dict[str, float] = {}
    running = 1.0
    for j in range(m, 0, -1):
        key = ranked[j - 1]
        running = min(running, 1.0, m * c * p[key] / j)
        out[key] = running
    return out


def test_edge_json_holds_q_values_edges_search_tests_and_the_folds(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    code = _research(config_dir, reports, "--walk-forward", "4", "--scheme", "rolling")
    assert code == 0
    out = capsys.readouterr().out
    assert "walk-forward" in out and "SPA" in out
    for symbol in ASSETS:
        edge: dict[str, Any] = json.loads((reports / "research" / symbol / "edge.json").read_text())
        params = edge["params"]
        assert params["walk_forward"] == {"folds": 4, "scheme": "rolling"}
        assert params["alpha"] == 0.05 and params["bootstrap"]["replicates"] == 1000
        ins = edge["halves"]["in_sample"]
        min_samples = max(params["min_samples"], 10)
        p = {
            name: cell["forward"]["p_value"]
            for name, cell in ins["cells"].items()
            if cell["forward"]["samples"] >= min_samples
        }
        q = {name: cell["forward"].get("q_value") for name, cell in ins["cells"].items()}
        assert {k for k, v in q.items() if v is not None} == set(p)
        for name, expected in _by_by_hand(p).items():
            assert q[name] == pytest.approx(expected, rel=1e-12)
        called = sorted(
            name
            for name, cell in ins["cells"].items()
            if name in p and q[name] <= 0.05 and cell["forward"]["edge_bps"] > 0
        )
        assert sorted(edge["edges"]) == called
        for cell in ins["cells"].values():
            fwd = cell["forward"]
            if "ci95_block_bps" in fwd:
                low, high = fwd["ci95_block_bps"]
                assert low <= fwd["edge_bps"] <= high and 0.0 <= fwd["p_value"] <= 1.0
        assert set(edge["search"]) >= {"focus_regime", "best_cell"}
        for test in edge["search"].values():
            assert 0.0 <= test["spa_p"] <= 1.0
        wf = edge["walk_forward"]
        folds = wf["folds"]
        assert [f["fold"] for f in folds] == [0, 1, 2, 3]
        assert all(a["test_end"] == b["test_start"] for a, b in itertools.pairwise(folds))
        assert all(f["train_bars"] == folds[0]["train_bars"] for f in folds)  # rolling
        pooled = [f["focus_test"] for f in folds if f["focus_test"] and f["focus_test"]["samples"]]
        n = sum(t["samples"] for t in pooled)
        assert wf["pooled_focus_oos"]["samples"] == n
        if n:
            mean = sum(t["edge_bps"] * t["samples"] for t in pooled) / n
            assert wf["pooled_focus_oos"]["edge_bps"] == pytest.approx(mean)
        if edge["proposal"]["tier"] < 3:
            assert wf["holds"] and edge["search"]["focus_regime"]["spa_p"] <= 0.05


def test_more_folds_than_the_data_holds_is_a_problem_for_the_asset(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _research(config_dir, tmp_path / "reports", "--walk-forward", "9000") == 1
    out = capsys.readouterr()
    assert "walk-forward fold" in out.out and "window without bars" in out.out
    summary = json.loads((tmp_path / "reports" / "research" / "summary.json").read_text())
    assert set(summary["not_researched"]) == set(ASSETS)
    assert summary["assets"] == {}
