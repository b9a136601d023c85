"""`chloe models`: each installed model with its origin, summary and parameters; a broken entry
point is listed with its error (exit 1), never a crash. Run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from engine_alpha.signals.breakout import BreakoutParams
from tests.daemon_runs import child_env

BROKEN_DIST = "broken-models"


def _models(*args: str, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = child_env(extra_path)
    return subprocess.run(
        [sys.executable, "-m", "engine_alpha", "models", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def _flat(params: BaseModel, prefix: str = "") -> dict[str, Any]:
    """Every parameter value of a params object by dotted name, read from the object itself."""
    out: dict[str, Any] = {}
    for name in type(params).model_fields:
        value = getattr(params, name)
        if isinstance(value, BaseModel):
            out.update(_flat(value, f"{prefix}{name}."))
        else:
            out[prefix + name] = value
    return out


def _by_name(listing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in listing["models"]}


def test_json_lists_every_model_with_its_origin_and_every_parameter_default() -> None:
    proc = _models("--json")
    assert proc.returncode == 0, proc.stderr
    models = _by_name(orjson.loads(proc.stdout))
    assert {"breakout", "momentum"} <= set(models)

    breakout = models["breakout"]
    assert breakout["distribution"] == "chloe-engine-alpha" and breakout["builtin"] is True
    assert breakout["entry_point"] == "engine_alpha.signals.breakout:PLUGIN"
    assert "Donchian" in breakout["summary"] and breakout["error"] is None
    params = {p["name"]: p for p in breakout["params"]}
    assert {k: p["default"] for k, p in params.items()} == _flat(BreakoutParams())
    assert params["channel_bars"]["type"] == "integer"
    assert params["fade_in_chop"]["type"] == "boolean"
    assert params["regime.high_vol_ratio"]["type"] == "number"

    momentum = models["momentum"]
    assert momentum["distribution"] == "chloe-example-model" and momentum["builtin"] is False
    assert momentum["entry_point"] == "chloe_example_model.momentum:PLUGIN"
    by_name = {p["name"]: p for p in momentum["params"]}
    assert by_name["roc_bars"] == {
        "name": "roc_bars",
        "type": "integer",
        "default": 12,
        "description": "bars between the two closes compared",
    }
    assert by_name["regime.vol_slow_bars"]["default"] == 240


def test_the_table_names_each_model_its_distribution_and_parameters() -> None:
    proc = _models()
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(x for x in lines if x.startswith("momentum "))
    assert "chloe-example-model 0.1.0" in header and "chloe_example_model.momentum:PLUGIN" in header
    assert any(x.startswith("breakout ") and "built in" in x for x in lines)
    assert any(x.split() == ["channel_bars", "integer", "24"] for x in lines)
    assert any(x.split()[:3] == ["min_move_atr", "number", "2.0"] for x in lines)


def _broken_distribution(site: Path) -> None:
    """An installed distribution (dist-info on the path) whose entry points cannot be used."""
    info = site / f"{BROKEN_DIST.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {BROKEN_DIST}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[engine_alpha.signal_models]\n"
        "missing = no_such_module_for_chloe:PLUGIN\n"
        "misnamed = engine_alpha.signals.breakout:PLUGIN\n"
    )


def test_a_broken_entry_point_is_listed_with_its_error_and_the_rest_still_shown(
    tmp_path: Path,
) -> None:
    _broken_distribution(tmp_path)
    proc = _models("--json", extra_path=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    models = _by_name(orjson.loads(proc.stdout))
    missing, misnamed = models["missing"], models["misnamed"]
    assert missing["distribution"] == BROKEN_DIST and missing["params"] == []
    assert "cannot be loaded" in missing["error"] and "no_such_module_for_chloe" in missing["error"]
    assert "is not a ModelPlugin named 'misnamed'" in misnamed["error"]
    assert models["breakout"]["error"] is None and models["momentum"]["error"] is None

    table = _models(extra_path=tmp_path)
    assert table.returncode == 1 and "Traceback" not in table.stderr
    assert "  error: signal model 'missing'" in table.stdout
    assert "channel_bars" in table.stdout  # the working models are still listed
