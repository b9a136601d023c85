"""The research figures read the same in `chloe research` and in the HTML report: one formatter,
applied to full-precision values (never a 2-decimal figure rounded again)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from engine_alpha.cli.research import main
from engine_alpha.research.html import read_summary, research_section_html

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "ohlcv"
# Rounded to two decimals first, a figure like -17.6548 would read -17.6 in one place and -17.7
# in another; every surface formats the full-precision value once.
ASSETS = ["MATICUSDT", "SOLUSDT", "ETHUSDT", "LINKUSDT"]


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.head: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self._row = []
            symbol = dict(attrs).get("data-symbol")
            if symbol:
                self.rows[symbol] = self._row
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None and not self.head:
            self.head = self._row

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _terminal_rows(printed: str) -> dict[str, list[str]]:
    """Rows of the rich table by asset; a cell rich wrapped onto more lines is joined back."""
    rows: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in printed.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0] in ASSETS:
            current = rows[cells[0]] = cells
        elif cells and not cells[0] and current is not None:
            current[:] = [f"{a} {b}".strip() for a, b in zip(current, cells, strict=True)]
        else:
            current = None
    return rows


def test_the_html_and_the_terminal_show_the_same_research_figures(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    args = ["--config-dir", str(config_dir), "--reports-dir", str(reports), "--data", str(SAMPLE)]
    assert main([*args, "--assets", *ASSETS]) == 0
    terminal = _terminal_rows(capsys.readouterr().out)
    assert list(terminal) == ASSETS
    page = _Rows()
    page.feed(research_section_html(read_summary(reports)))
    col = {name.split(" [")[0]: i for i, name in enumerate(page.head)}
    for symbol in ASSETS:
        html, term = page.rows[symbol], terminal[symbol]
        assert html[col["IS edge"]] == term[3], symbol
        assert html[col["OOS edge"]] == term[4], symbol
        assert html[col["trades IS / OOS"]] == term[7], symbol
    summary = json.loads((reports / "research" / "summary.json").read_text())["assets"]
    for symbol in ASSETS:  # one rounding, from the full-precision figure the file keeps
        full = summary[symbol]["in_sample"]["asset_edge"]["edge_bps"]
        if full is not None:
            assert terminal[symbol][3].startswith(f"{full:+.1f} "), (symbol, full)


def test_the_research_files_keep_full_precision(config_dir: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    args = ["--config-dir", str(config_dir), "--reports-dir", str(reports), "--data", str(SAMPLE)]
    assert main([*args, "--assets", "MATICUSDT"]) == 0
    summary = json.loads((reports / "research" / "summary.json").read_text())
    edge = summary["assets"]["MATICUSDT"]["in_sample"]["asset_edge"]["edge_bps"]
    assert edge != round(edge, 2)
