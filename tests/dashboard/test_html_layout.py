"""The HTML report as a person sees it in Chromium: no table wider than a 1400 px window, heat maps
per asset with their values in the cells and a colour legend, charts with gridlines, several time
labels, labelled axes and one drawdown scale across assets."""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.cli.operator import main
from engine_alpha.cli.research import main as research_main
from engine_alpha.core.exit_codes import EXIT_OK
from tests.conftest import SAMPLE_DATA
from tests.dashboard.conftest import Replay
from tests.dashboard.test_html_report import _browser

MEASURE = """<script>(function () {
  var root = document.documentElement, out = {viewport: root.clientWidth, tables: []};
  document.querySelectorAll("table").forEach(function (t) {
    var box = t.getBoundingClientRect();
    out.tables.push({name: t.className, right: box.right, scroll: t.scrollWidth,
                     client: t.clientWidth, cells: t.querySelectorAll("td").length});
  });
  out.page = root.scrollWidth;
  var pre = document.createElement("pre"); pre.id = "measured";
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
})();</script>"""


@pytest.fixture(scope="module")
def report(replay: Replay, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the shared replay plus research on every asset (on a copy of the reports)."""
    root = tmp_path_factory.mktemp("report")
    reports = root / "reports"
    shutil.copytree(replay.reports, reports)
    dirs = ["--config-dir", str(replay.config_dir), "--reports-dir", str(reports)]
    assert research_main([*dirs, "--data", str(SAMPLE_DATA)]) == 0
    grid = root / "grid.json"
    grid.write_text(json.dumps({"channel_bars": [12, 24, 36], "fade_in_chop": [True, False]}))
    sweep = ["sweep", "--model", "breakout", "--grid", str(grid), "--walk-forward", "2"]
    assert research_main([*sweep, *dirs, "--data", str(SAMPLE_DATA), "--assets", "ETHUSDT"]) == 0
    out = root / "report.html"
    assert main(["report", "--html", str(out), *dirs]) == EXIT_OK
    return out


def _measure(report: Path, tmp_path: Path, width: int) -> dict[str, Any]:
    page = tmp_path / f"measure-{width}.html"
    page.write_text(report.read_text().replace("</body>", MEASURE + "</body>"))
    dumped = _browser(tmp_path, f"--window-size={width},1000", "--dump-dom", page.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    found = re.search(r'<pre id="measured">(.*?)</pre>', dumped.stdout, re.S)
    assert found, dumped.stdout[-2000:]
    measured: dict[str, Any] = json.loads(html_lib.unescape(found.group(1)))
    return measured


@pytest.mark.parametrize("width", [1400, 1920])
def test_no_table_is_wider_than_the_window(report: Path, tmp_path: Path, width: int) -> None:
    measured = _measure(report, tmp_path, width)
    assert width - 40 <= measured["viewport"] <= width
    names = [t["name"] for t in measured["tables"]]
    assert names == ["panel", "panel trades", "panel research", "panel sweep"]
    for table in measured["tables"]:
        assert table["cells"] > 0
        assert table["right"] <= measured["viewport"], table
        assert table["scroll"] <= table["client"], table
    assert measured["page"] <= measured["viewport"]


def _svgs(text: str, cls: str) -> list[str]:
    return re.findall(rf'<svg class="{cls}".*?</svg>', text, re.S)


def _journal_cells(reports: Path) -> dict[str, dict[str, tuple[int, list[float]]]]:
    """Per map (PORTFOLIO and each asset): taken trades and closed net bps per regime|bucket."""
    cells: dict[str, dict[str, tuple[int, list[float]]]] = defaultdict(dict)
    for raw in (reports / "trades.jsonl").read_text().splitlines():
        line = json.loads(raw)
        key = f"{line['regime']}|{line['bucket']}"
        for name in ("PORTFOLIO", line["symbol"]):
            n, bps = cells[name].get(key, (0, []))
            if line["action"] == "open":
                n += 1
            else:
                bps = [*bps, line["pnl_bps"]]
            cells[name][key] = (n, bps)
    return cells


def test_each_asset_has_a_heat_map_with_its_values_in_the_cells(
    replay: Replay, tmp_path: Path
) -> None:
    text = _report_of(replay, tmp_path)
    maps = re.findall(r'<div class="pair" data-heat="([A-Z]+)">(.*?)</div>', text, re.S)
    expected = _journal_cells(replay.reports)
    assert maps and maps[0][0] == "PORTFOLIO"
    assert sorted(name for name, _ in maps) == sorted(expected)
    means = []
    for name, svg in maps:
        for key, count, mean in re.findall(
            r'<g data-cell="([a-z_]+\|\d)">.*?class="hval">(\d*)</text>'
            r'<text[^>]*class="hbps">([^<]*)</text>',
            svg,
            re.S,
        ):
            n, bps = expected[name].get(key, (0, []))
            assert count == (str(n) if n else ""), (name, key)
            want = f"{sum(bps) / len(bps):+.0f}" if bps else ""
            assert mean == want, (name, key)
            if bps:
                means.append(abs(sum(bps) / len(bps)))
    legend = _svgs(text, "heat-legend")
    assert len(legend) == 1
    assert f"+{max(means):.1f} bps" in legend[0] and f"-{max(means):.1f} bps" in legend[0]


def _report_of(replay: Replay, tmp_path: Path) -> str:
    out = tmp_path / "report.html"
    dirs = ["--config-dir", str(replay.config_dir), "--reports-dir", str(replay.reports)]
    assert main(["report", "--html", str(out), *dirs]) == EXIT_OK
    return out.read_text()


def test_charts_have_gridlines_time_labels_axes_and_one_drawdown_scale(
    replay: Replay, tmp_path: Path
) -> None:
    text = _report_of(replay, tmp_path)
    charts = _svgs(text, "chart")
    assert charts
    for svg in charts:
        assert len(re.findall(r'class="xlab"', svg)) >= 4
        assert len(re.findall(r'class="grid"', svg)) >= 6
        assert "bar time (UTC)" in svg
    drawdowns = [svg for svg in charts if "drawdown (%)" in svg]
    scales = {tuple(re.findall(r'class="ylab">([^<]*)<', svg)) for svg in drawdowns}
    assert len(scales) == 1  # the same value axis on every drawdown chart
    top = max(float(v.replace(",", "")) for v in next(iter(scales)))
    status = json.loads(re.search(r'id="chloe-status">(.*?)</script>', text, re.S).group(1))
    worst = max(row["max_drawdown_pct"] for row in status["assets"].values())
    assert top >= worst
    assert all("drawdown %" in svg for svg in drawdowns)
    assert all("equity USD" in svg for svg in charts if "equity (USD)" in svg)


def test_the_subtitle_names_the_reports_directory_once(
    replay: Replay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(replay.reports, tmp_path / "reports")
    monkeypatch.chdir(tmp_path)
    dirs = ["--config-dir", str(replay.config_dir), "--reports-dir", "reports"]
    assert main(["report", "--html", "out.html", *dirs]) == EXIT_OK
    text = (tmp_path / "out.html").read_text()
    assert "reports reports" not in text
    assert "reports directory reports;" in text
