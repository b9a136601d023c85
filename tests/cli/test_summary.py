"""The run summary shows the same per-asset figures as pf_local.json, on the same equity base."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine_alpha.config.config_loader import PAPER_FILE
from tests.conftest import EditConfig
from tests.daemon_runs import RunResult


def _drawdown_pct(pnls: list[float], equity: float) -> float:
    """Largest fall from a running peak of equity + cumulative PnL, in % of that peak."""
    value = peak = equity
    worst = 0.0
    for pnl in pnls:
        value += pnl
        peak = max(peak, value)
        worst = max(worst, (peak - value) / peak * 100.0)
    return worst


def _summary_row(stderr: str, symbol: str) -> list[str]:
    row = next(line for line in stderr.splitlines() if f" {symbol} " in line)
    return [cell.strip() for cell in row.strip().strip("│┃|").split("│")]


def test_an_asset_no_longer_listed_is_summarised_on_the_portfolio_equity_like_pf_local(
    run_chloe: Callable[..., RunResult], config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    first = run_chloe(config_dir, reports)
    assert first.returncode == 0, first.stderr
    pnls = [line["pnl_usd"] for line in first.journal() if line["action"] == "close"]
    assert pnls and all(line["symbol"] == "ETHUSDT" for line in first.journal())

    def unlist_eth(d: dict[str, Any]) -> None:
        del d["enabled_assets"]["ETHUSDT"]
        d["research_only_assets"]["ETHUSDT"] = {"collect_data": True, "reason": "parked"}
        d["activation_order"].remove("ETHUSDT")
        d["enabled_assets"]["BTCUSDT"]["enabled"] = True

    edit_config(PAPER_FILE, unlist_eth)
    again = run_chloe(config_dir, reports, "--summary=always")
    assert again.returncode == 0, again.stderr
    expected = _drawdown_pct(pnls, 10_000.0)
    written = again.pf_local()["assets"]["ETHUSDT"]["max_drawdown_pct"]
    assert abs(written - expected) < 1e-9
    row = _summary_row(again.stderr, "ETHUSDT")
    assert f"{expected:.2f}" in row
