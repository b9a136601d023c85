"""The example model of docs/signal-models.md works as written: copied out of the page, imported,
and run through the reusable checks on a random walk and the real sample."""

from __future__ import annotations

import csv
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from engine_alpha.market.bars import Bar
from engine_alpha.testing.signal_models import assert_model_sound, run_model
from tests.signals.series import random_walk

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "signal-models.md"


def _example(tmp_path: Path) -> ModuleType:
    text = DOC.read_text()
    section = text.split("## Write a model", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section holds exactly one python block"
    path = tmp_path / "ema_cross.py"
    path.write_text(blocks[0])
    assert len(blocks[0].splitlines()) <= 50
    spec = importlib.util.spec_from_file_location("ema_cross", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _eth() -> list[Bar]:
    with (REPO / "data" / "ohlcv" / "ETHUSDT-1h.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    return [Bar("ETHUSDT", int(r[0]), *(float(x) for x in r[1:6])) for r in rows]


@pytest.mark.parametrize("series", ["walk", "eth"])
def test_the_documented_example_model_is_sound(tmp_path: Path, series: str) -> None:
    plugin = _example(tmp_path).PLUGIN
    bars = random_walk(1_000, seed=5) if series == "walk" else _eth()
    assert plugin.name == "ema_cross"
    assert_model_sound(plugin.create, bars)
    assert_model_sound(lambda: plugin.create({"fast_bars": 6, "slow_bars": 24}), bars)
    signals = [d for d in run_model(plugin.create, bars) if d.direction is not None]
    assert {d.direction for d in signals} == {"long", "short"}
