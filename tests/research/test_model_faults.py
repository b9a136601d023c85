"""Research on a model that breaks its contract: that asset is reported, named, the rest run."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.market.bars import Bar
from engine_alpha.market.csv_bars import read_bars
from engine_alpha.research.analysis import ResearchSettings
from engine_alpha.research.pipeline import run_research
from engine_alpha.signals.breakout import BreakoutModel
from engine_alpha.signals.catalog import ChosenModel, chosen
from engine_alpha.signals.decision import BarDecision

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "ohlcv"
FAULT_AT = 700  # the accepted bar (0-based) where the model goes wrong


class _Faulty:
    """The breakout until bar FAULT_AT, then the fault named by `kind`."""

    def __init__(self, kind: str) -> None:
        self.kind, self.inner, self.seen = kind, BreakoutModel(), 0

    @property
    def warmup_bars(self) -> int:
        return self.inner.warmup_bars

    def update(self, bar: Bar) -> BarDecision:
        decision = self.inner.update(bar)
        self.seen += 1
        if self.seen - 1 < FAULT_AT:
            return decision
        if self.kind == "raise":
            raise RuntimeError("boom")
        if self.kind == "confidence":
            return BarDecision(bar.ts_ms, bar.close, 1.0, "chop", "long", 1.5, 9)
        if self.kind == "nan":
            return BarDecision(bar.ts_ms, bar.close, 1.0, "chop", "long", float("nan"), 9)
        return dataclasses.replace(decision, regime="sideways")

    def snapshot(self) -> Any:
        return None

    def restore(self, state: Any) -> None:
        return None


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("raise", "raised RuntimeError('boom')"),
        ("confidence", "confidence 1.5 not in [0, 1]"),
        ("nan", "confidence nan not in [0, 1]"),
        ("regime", "unknown regime 'sideways'"),
    ],
)
def test_a_broken_model_is_reported_with_the_bar_and_the_other_assets_still_run(
    kind: str, problem: str
) -> None:
    faulty = ChosenModel("faulty", {"name": "faulty", "params": {}}, lambda: _Faulty(kind))
    run = run_research(
        SAMPLE,
        ["ETHUSDT", "BTCUSDT"],
        "1h",
        ResearchSettings(),
        models={"BTCUSDT": faulty},
    )
    assert list(run.results) == ["ETHUSDT"]
    bars = list(read_bars(SAMPLE / "BTCUSDT-1h.csv", on_refusal=lambda _r: None))
    when = datetime.fromtimestamp(bars[FAULT_AT].ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
    assert run.problems == {
        "BTCUSDT": f"signal model 'faulty' failed on BTCUSDT at bar {when} UTC: {problem}"
    }
    assert run.models["ETHUSDT"].identity == chosen(None).identity
