"""`ops.compare` on hand-made runs: each cause it can tell, from the files alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.core.formatting import fmt_ts
from engine_alpha.ops.compare import CompareError, RunFiles, compare_runs

HOUR = 3_600_000
T0 = 1_688_169_600_000  # 2023-07-01 00:00 UTC
HEADER = "timestamp_ms,open,high,low,close,volume"


def _fill(bar: int, price: float, action: str = "open") -> dict[str, Any]:
    ts = T0 + bar * HOUR
    return {
        "seq": bar,
        "fill_id": f"ETHUSDT-{ts}-{action}",
        "symbol": "ETHUSDT",
        "bar_ts": ts,
        "timeframe": "1h",
        "action": action,
        "price": price,
        "signal_bar_ts": ts - HOUR,
        "wall_ts": f"run-{bar}",
    }


def _run(root: Path, fills: list[dict[str, Any]], last_bar: int, rows: dict[int, str]) -> RunFiles:
    reports, data = root / "reports", root / "data"
    reports.mkdir(parents=True)
    data.mkdir()
    (reports / "trades.jsonl").write_text("".join(json.dumps(f) + "\n" for f in fills))
    status = {"last_bar_ts": T0 + last_bar * HOUR, "config": {"paper": {}, "profiler": {}}}
    (reports / "daemon_status.json").write_text(json.dumps(status))
    lines = [HEADER] + [rows[i] for i in sorted(rows)]
    (data / "ETHUSDT-1h.csv").write_text("\n".join(lines) + "\n")
    return RunFiles(reports, data)


def _rows(n: int) -> dict[int, str]:
    return {i: f"{T0 + i * HOUR},100.0,101.0,99.0,100.5,10.0" for i in range(n)}


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        (lambda rows: rows.pop(5), "bar {t5} UTC missing in B"),
        (
            lambda rows: rows.__setitem__(5, f"{T0 + 5 * HOUR},100.0,99.0,101.0,100.5,10.0"),
            "bar {t5} UTC refused in B (",
        ),
        (
            lambda rows: rows.__setitem__(5, f"{T0 + 5 * HOUR},100.0,101.0,99.0,100.7,10.0"),
            "bar {t5} UTC differs: close 100.5 (A) vs 100.7 (B)",
        ),
    ],
)
def test_the_first_bar_that_differs_up_to_the_fill_is_named(
    tmp_path: Path, change: Any, cause: str
) -> None:
    a = _run(tmp_path / "a", [_fill(3, 100.0), _fill(8, 100.0)], 20, _rows(21))
    rows_b = _rows(21)
    change(rows_b)
    b = _run(tmp_path / "b", [_fill(3, 100.0), _fill(8, 100.2)], 20, rows_b)
    result = compare_runs(a, b, HOUR)
    assert result.matched == 1 and len(result.differences) == 1
    (diff,) = result.differences
    assert diff.kind == "differs" and diff.fields == {"price": (100.0, 100.2)}
    assert diff.cause.startswith(cause.format(t5=fmt_ts(T0 + 5 * HOUR)))


def test_a_config_difference_comes_first_and_seq_and_wall_time_are_not_differences(
    tmp_path: Path,
) -> None:
    a = _run(tmp_path / "a", [_fill(3, 100.0)], 20, _rows(21))
    fill = {**_fill(3, 101.0), "seq": 99, "wall_ts": "later"}
    b = _run(tmp_path / "b", [fill], 20, _rows(21))
    status = json.loads((b.reports / "daemon_status.json").read_text())
    status["config"] = {"paper": {"execution": {"slippage_bps": 3.0}}, "profiler": {}}
    (b.reports / "daemon_status.json").write_text(json.dumps(status))
    result = compare_runs(a, b, HOUR)
    assert result.config_differences == ["paper.execution"]
    (diff,) = result.differences
    assert set(diff.fields) == {"price"} and diff.cause == "config differs: paper.execution"


def test_a_run_without_a_journal_is_refused_by_name(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", [], 1, _rows(2))
    with pytest.raises(CompareError, match=r"trades\.jsonl: no such file"):
        compare_runs(a, RunFiles(tmp_path / "nothing"), HOUR)
