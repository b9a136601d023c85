"""A profile's `signal_model`: absent means today's breakout, a bad one is refused by name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import PROFILER_FILE, ConfigError, load_config
from engine_alpha.config.signal_models import installed
from engine_alpha.signals.breakout import BreakoutModel, BreakoutParams
from engine_alpha.signals.catalog import identity, model_factory
from tests.conftest import EditConfig


def _set(symbol: str, choice: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        data["assets"][symbol]["signal_model"] = choice

    return change


def test_an_absent_model_is_the_breakout_with_its_defaults(config_dir: Path) -> None:
    config = load_config(config_dir)
    assert all(p.signal_model is None for p in config.profiler.assets.values())
    model = model_factory(None)()
    assert isinstance(model, BreakoutModel) and model.params == BreakoutParams()
    assert identity(None) == {"name": "breakout", "params": BreakoutParams().model_dump()}


def test_named_parameters_override_only_themselves(
    config_dir: Path, edit_config: EditConfig
) -> None:
    edit_config(
        PROFILER_FILE, _set("ETHUSDT", {"name": "breakout", "params": {"channel_bars": 48}})
    )
    loaded = load_config(config_dir).profiler.assets["ETHUSDT"].signal_model
    model = model_factory(loaded)()
    assert isinstance(model, BreakoutModel)
    assert model.params == BreakoutParams(channel_bars=48)
    assert identity(loaded)["params"]["atr_bars"] == BreakoutParams().atr_bars


def test_an_unknown_model_exits_2_naming_the_file_the_field_and_the_installed_models(
    config_dir: Path, edit_config: EditConfig
) -> None:
    edit_config(PROFILER_FILE, _set("ETHUSDT", {"name": "no_such_model"}))
    proc = subprocess.run(
        [sys.executable, "-m", "engine_alpha", "config", "check", "--config-dir", str(config_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert PROFILER_FILE in proc.stderr
    assert "assets.ETHUSDT.signal_model" in proc.stderr
    assert "unknown signal model 'no_such_model'" in proc.stderr
    assert f"(installed: {', '.join(installed())})" in proc.stderr


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"channel_bars": "24"}, "params.channel_bars"),
        ({"channel_bars": 0}, "channel_bars"),
        ({"no_such_knob": 1}, "params.no_such_knob"),
        ({"regime": {"vol_fast_bars": 300}}, "vol_fast_bars < vol_slow_bars"),
        ({"warmup_bars": 10}, "warmup_bars"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(
    config_dir: Path, edit_config: EditConfig, params: dict[str, Any], named: str
) -> None:
    edit_config(PROFILER_FILE, _set("BTCUSDT", {"name": "breakout", "params": params}))
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    message = str(info.value)
    assert "assets.BTCUSDT.signal_model" in message and named in message


def test_the_shipped_schema_documents_each_built_in_models_parameters() -> None:
    schema = json.loads(
        (Path(__file__).resolve().parents[2] / "config" / "schema" / PROFILER_FILE)
        .with_suffix(".schema.json")
        .read_text()
    )
    alternatives = schema["$defs"]["SignalModelChoice"]["oneOf"]
    by_name = {alt["properties"]["name"]["const"]: alt for alt in alternatives}
    params = by_name["breakout"]["properties"]["params"]["properties"]
    assert params["channel_bars"]["default"] == BreakoutParams().channel_bars
    assert set(params) == set(BreakoutParams.model_fields)
