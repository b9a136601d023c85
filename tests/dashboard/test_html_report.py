"""`chloe report --html`: self-contained, rendered by headless Chromium, numbers as in status.

Chromium comes from Debian's `chromium` package; without it the browser tests skip, unless
CHLOE_REQUIRE_CHROMIUM=1 (CI) makes its absence a failure.
"""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.cli.operator import main
from engine_alpha.core.exit_codes import EXIT_OK
from engine_alpha.dashboard.multi_asset_panel import portfolio_cells, table_cells
from tests.conftest import SAMPLE_DATA
from tests.dashboard.conftest import Replay
from tests.web.cdp import chromium


def _browser(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic"]
    cmd += ["--no-first-run", "--disable-background-networking", "--disable-component-update"]
    cmd += ["--disable-sync", f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


class _Page(HTMLParser):
    """Collects the panel rows (by data-symbol), research rows, curves and the status JSON."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self.curves: list[str] = []
        self.status_json = ""
        self._row: str | None = None
        self._cell: list[str] | None = None
        self._in_status = False
        self._in_panel = False
        self.research_rows: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._in_panel = a.get("id") == "panel"
        if tag == "tr" and a.get("data-symbol") and not self._in_panel:
            self.research_rows.append(a["data-symbol"] or "")
        elif tag == "tr" and a.get("data-symbol"):
            self._row = a["data-symbol"]
            self.rows[self._row] = []
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "div" and a.get("data-curve"):
            self.curves.append(a["data-curve"] or "")
        elif tag == "script" and a.get("id") == "chloe-status":
            self._in_status = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self.rows[self._row].append("".join(self._cell))
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "script":
            self._in_status = False
        elif tag == "table":
            self._in_panel = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_status:
            self.status_json += data


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _report_and_status(
    capsys: pytest.CaptureFixture[str], config_dir: Path, reports: Path, out: Path
) -> dict[str, Any]:
    dirs = ["--config-dir", str(config_dir), "--reports-dir", str(reports)]
    assert main(["report", "--html", str(out), *dirs]) == EXIT_OK
    assert main(["status", "--json", *dirs]) == EXIT_OK
    printed = capsys.readouterr().out
    status: dict[str, Any] = json.loads(printed[printed.index("{") :])
    return status


def _assert_numbers_match(page: _Page, status: dict[str, Any]) -> None:
    assert json.loads(page.status_json) == status
    for symbol, row in status["assets"].items():
        assert page.rows[symbol] == table_cells(row), symbol
    assert page.rows["PORTFOLIO"] == portfolio_cells(status["portfolio"])


def test_the_report_is_one_self_contained_page(
    capsys: pytest.CaptureFixture[str], replay: Replay, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    status = _report_and_status(capsys, replay.config_dir, replay.reports, out)
    html = out.read_text()
    assert not re.search(
        r"https?://|<link|<img|@import|url\(|<script(?! type=\"application/json\")", html
    )
    page = _parse(html)
    _assert_numbers_match(page, status)
    traded = [s for s, row in status["assets"].items() if row["trades"]]
    assert page.curves == ["PORTFOLIO", *traded]
    heat_maps = html.count('<svg class="heat"')
    assert heat_maps == 1 + len(traded)  # the portfolio's and one per asset that traded
    price_charts = len(traded)  # the trades section: one price chart per traded asset
    assert html.count("<svg") == 2 * len(page.curves) + heat_maps + 1 + price_charts  # + legend


def test_chromium_renders_the_report_with_the_status_numbers(
    capsys: pytest.CaptureFixture[str], replay: Replay, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    status = _report_and_status(capsys, replay.config_dir, replay.reports, out)
    dumped = _browser(tmp_path, "--dump-dom", out.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    page = _parse(dumped.stdout)
    _assert_numbers_match(page, status)
    assert "Equity and drawdown" in dumped.stdout and "<svg" in dumped.stdout
    shot = tmp_path / "report.png"
    taken = _browser(tmp_path, "--window-size=1400,2200", f"--screenshot={shot}", out.as_uri())
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_the_report_of_empty_reports_renders_too(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "report.html"
    status = _report_and_status(capsys, config_dir, tmp_path / "missing", out)
    html = out.read_text()
    assert "No closed trades yet." in html
    _assert_numbers_match(_parse(html), status)
    dumped = _browser(tmp_path, "--dump-dom", out.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    _assert_numbers_match(_parse(dumped.stdout), status)


def test_the_research_section_is_included_when_research_has_run(
    capsys: pytest.CaptureFixture[str], config_dir: Path, tmp_path: Path
) -> None:
    from engine_alpha.cli.research import main as research_main

    reports = tmp_path / "reports"
    data = str(SAMPLE_DATA)
    dirs = ["--config-dir", str(config_dir), "--reports-dir", str(reports)]
    assert research_main(["--assets", "ETHUSDT", "BTCUSDT", "--data", data, *dirs]) == 0
    capsys.readouterr()
    out = tmp_path / "report.html"
    status = _report_and_status(capsys, config_dir, reports, out)
    page = _parse(out.read_text())
    assert page.research_rows == ["ETHUSDT", "BTCUSDT"]
    _assert_numbers_match(page, status)
    without = tmp_path / "empty.html"
    _report_and_status(capsys, config_dir, tmp_path / "no-reports", without)
    assert "No research yet" in without.read_text()
