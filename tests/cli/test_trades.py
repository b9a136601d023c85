"""`chloe trades` on a real replay's journal: its PF is pf_local.json's, its CSV has the
documented columns and types, `chloe status --json` carries the same figures, and the HTML
report marks every fill on its asset's price chart."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.cli.trades import CSV_COLUMNS
from tests.daemon_runs import REPO, child_env

pytestmark = pytest.mark.slow  # a replay of every asset (quick set: -m 'not slow')


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(config dir, reports dir) of a replay of the bundled sample with every asset enabled."""
    import shutil

    from tests.conftest import MARKETS_FILE, SAMPLE_DATA, SHIPPED_CONFIG

    root = tmp_path_factory.mktemp("trades")
    config = root / "config"
    shutil.copytree(SHIPPED_CONFIG, config)
    paper = config / "multi_asset_paper_config.json"
    data = json.loads(paper.read_text())
    data["feed"].update(data_dir=str(SAMPLE_DATA), markets_file=str(MARKETS_FILE))
    for asset in data["enabled_assets"].values():
        asset["enabled"] = True
    paper.write_text(json.dumps(data))
    reports = root / "reports"
    _chloe("run", "--replay", "--config-dir", str(config), "--reports-dir", str(reports))
    return config, reports


def _chloe(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "engine_alpha", *args],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=REPO,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _dirs(replay: tuple[Path, Path]) -> list[str]:
    return ["--config-dir", str(replay[0]), "--reports-dir", str(replay[1])]


def _journal(reports: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (reports / "trades.jsonl").read_text().splitlines()]


def test_each_assets_profit_factor_and_counts_are_pf_locals(replay: tuple[Path, Path]) -> None:
    doc = json.loads(_chloe("trades", "--json", *_dirs(replay)))
    pf_local = json.loads((replay[1] / "pf_local.json").read_text())
    traded = [s for s, a in pf_local["assets"].items() if a["trades"]]
    assert len(traded) >= 3
    for symbol in traded:
        mine, theirs = doc["assets"][symbol], pf_local["assets"][symbol]
        assert mine["trades"] == theirs["trades"] and mine["wins"] == theirs["wins"]
        assert mine["profit_factor"] == theirs["pf"]
        assert mine["net_pnl_usd"] == pytest.approx(theirs["net_pnl_usd"], abs=1e-9)
    assert doc["portfolio"]["profit_factor"] == pf_local["portfolio"]["pf"]
    closes = [x for x in _journal(replay[1]) if x["action"] == "close"]
    assert len(doc["round_trips"]) == len(closes)
    assert doc["open_positions"] == pf_local["portfolio"]["open_positions"]


def test_the_csv_has_the_documented_columns_and_types(
    replay: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "trips.csv"
    _chloe("trades", "--csv", str(out), *_dirs(replay))
    with out.open(newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == list(CSV_COLUMNS)
        rows = list(reader)
    assert rows
    for row in rows:
        for name, kind in CSV_COLUMNS.items():
            value = row[name]
            if kind.startswith("datetime"):
                assert datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
            elif kind == "int":
                int(value)
            elif kind == "float":
                float(value)
            elif kind.startswith("float (empty"):
                assert value == "" or float(value) == float(value)
            else:
                assert value
    # The sample has every bar, so every excursion is there.
    assert all(r["mae_bps"] != "" for r in rows)
    # And as a trader reads it: pandas, with the dates parsed as docs/trades.md says.
    import pandas as pd
    from pandas.api import types

    frame = pd.read_csv(out, parse_dates=["entry_time", "exit_time", "signal_time"])
    assert list(frame.columns) == list(CSV_COLUMNS) and len(frame) == len(rows)
    for name, kind in CSV_COLUMNS.items():
        column = frame[name]
        if kind.startswith("datetime"):
            assert types.is_datetime64_any_dtype(column) and str(column.dt.tz) == "UTC", name
        elif kind == "int":
            assert types.is_integer_dtype(column), name
        elif kind.startswith("float"):
            assert types.is_float_dtype(column), name
        else:
            assert types.is_string_dtype(column) or types.is_object_dtype(column), name
    assert frame["pnl_usd"].sum() == pytest.approx(sum(float(r["pnl_usd"]) for r in rows))


def test_filters_open_positions_and_the_status_key(replay: tuple[Path, Path]) -> None:
    journal = _journal(replay[1])
    doc = json.loads(_chloe("trades", "--json", "--symbol", "ethusdt", *_dirs(replay)))
    assert {r["symbol"] for r in doc["round_trips"]} == {"ETHUSDT"}
    eth_closes = [x for x in journal if x["symbol"] == "ETHUSDT" and x["action"] == "close"]
    assert len(doc["round_trips"]) == len(eth_closes)
    since = "2023-11-01"
    late = json.loads(_chloe("trades", "--json", "--since", since, *_dirs(replay)))
    cutoff = datetime.fromisoformat(since + "T00:00:00+00:00")
    assert late["round_trips"] and all(
        datetime.fromisoformat(r["entry_time"].replace("Z", "+00:00")) >= cutoff
        for r in late["round_trips"]
    )
    opened = {x["trade_id"] for x in journal if x["action"] == "open"}
    closed = {x["trade_id"] for x in journal if x["action"] == "close"}
    still = json.loads(_chloe("trades", "--json", "--open", *_dirs(replay)))
    assert {r["trade_id"] for r in still["round_trips"]} == opened - closed
    status = json.loads(_chloe("status", "--json", *_dirs(replay)))
    everything = json.loads(_chloe("trades", "--json", *_dirs(replay)))
    assert status["trades"]["portfolio"] == everything["portfolio"]
    assert status["trades"]["assets"] == everything["assets"]


def test_the_html_report_marks_every_fill_on_its_assets_price_chart(
    replay: tuple[Path, Path], tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    _chloe("report", "--html", str(page), *_dirs(replay))
    html = page.read_text()
    journal = _journal(replay[1])
    symbols = {x["symbol"] for x in journal}
    for symbol in symbols:
        chart = re.search(rf'<div class="price" data-symbol="{symbol}">(.*?)</svg></div>', html)
        assert chart is not None, symbol
        marks = re.findall(r'class="marker (entry|exit) ([a-z]+)"', chart.group(1))
        fills = [x for x in journal if x["symbol"] == symbol]
        assert len(marks) == len(fills)
        assert sorted(m[1] for m in marks if m[0] == "entry") == sorted(
            x["direction"] for x in fills if x["action"] == "open"
        )
        assert sorted(m[1] for m in marks if m[0] == "exit") == sorted(
            x["reason"] for x in fills if x["action"] == "close"
        )
        points = re.search(r'<path d="M([^"]*)" fill="none" stroke="#475569"', chart.group(1))
        assert points is not None and 100 < points.group(1).count("L") + 1 <= 600
