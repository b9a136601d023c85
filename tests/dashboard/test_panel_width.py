"""`chloe status` and `chloe panel` fit a 100- or 120-column terminal: no cell is cut, every value
of every asset's row is on the screen, and the profile's regime is labelled as its focus regime."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from rich.console import Console

from engine_alpha.config.config_loader import load_config
from engine_alpha.dashboard.multi_asset_panel import (
    COLUMNS,
    gather,
    panel_renderable,
    portfolio_cells,
    status_dict,
    table_cells,
)
from tests.dashboard.conftest import Replay
from tests.terminal import run_on_terminal

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _render(status: dict[str, Any], width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(panel_renderable(status))
    return out.getvalue()


def _rows(text: str, names: list[str]) -> dict[str, str]:
    """Each row's text: its lines in both tables, with the lines a wrapped cell continues on."""
    rows: dict[str, list[str]] = {name: [] for name in names}
    current: str | None = None
    for line in text.splitlines():
        first = line.split()[0] if line.split() else ""
        if first in rows:
            current = first
            rows[first].append(line)
        elif current is not None and line.startswith("            ") and line.strip():
            rows[current].append(line)
        else:
            current = None
    return {name: "\n".join(lines) for name, lines in rows.items()}


def _assert_every_value_shown(text: str, status: dict[str, Any], width: int) -> None:
    assert "…" not in text and "..." not in text
    assert max(len(line) for line in text.splitlines()) <= width
    cells = {s: table_cells(row) for s, row in status["assets"].items()}
    cells["PORTFOLIO"] = portfolio_cells(status["portfolio"])
    rows = _rows(text, list(cells))
    for name, values in cells.items():
        tokens = rows[name].split()
        assert len(values) == len(COLUMNS)
        for column, value in zip(COLUMNS, values, strict=True):
            for word in value.split():
                assert word in tokens, (name, column, value, rows[name])


@pytest.mark.parametrize("width", [100, 120])
def test_the_panel_fits_the_terminal_without_cutting_a_cell(replay: Replay, width: int) -> None:
    status = status_dict(gather(load_config(replay.config_dir), replay.reports))
    text = _render(status, width)
    _assert_every_value_shown(text, status, width)
    assert "focus" in text and "regime" in text
    header = next(line for line in text.splitlines() if "focus" in line)
    assert "market" in header  # the market's regime beside the profile's
    assert any(row["market_regime"] for row in status["assets"].values())


def test_chloe_status_on_a_100_column_terminal(replay: Replay) -> None:
    dirs = ["--config-dir", str(replay.config_dir), "--reports-dir", str(replay.reports)]
    shown = run_on_terminal(["status", *dirs], columns=100)
    assert shown.returncode == 0, shown.stderr
    text = ANSI.sub("", shown.stdout).replace("\r\n", "\n")
    status = status_dict(gather(load_config(replay.config_dir), replay.reports))
    _assert_every_value_shown(text, status, 100)


def test_each_blocked_asset_says_what_blocks_it(replay: Replay) -> None:
    status = status_dict(gather(load_config(replay.config_dir), replay.reports))
    text = " ".join(_render(status, 100).split())
    by_codes: dict[str, list[str]] = {}
    for symbol, row in status["assets"].items():
        if row["gate"] == "not_stable":
            codes = ", ".join(b["code"] for b in row["failing"])
            by_codes.setdefault(codes, []).append(symbol)
    assert by_codes
    for codes, symbols in by_codes.items():
        assert f"{', '.join(symbols)} blocked by {codes}" in text
