"""`chloe research` on the configured model, on a named one (`--model`, `--param`), and two
models side by side; every figure checked against the model run over the bars from outside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.cli.research import main
from engine_alpha.config.config_loader import PROFILER_FILE
from engine_alpha.config.models import StrategyProfiler
from engine_alpha.config.signal_models import installed
from engine_alpha.market.csv_bars import read_bars
from engine_alpha.signals.catalog import plugin
from tests.conftest import EditConfig

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "ohlcv"
ASSETS = ["ETHUSDT", "BTCUSDT"]


def _run(config_dir: Path, reports: Path, *extra: str, assets: list[str] = ASSETS) -> int:
    args = ["--config-dir", str(config_dir), "--reports-dir", str(reports), "--data", str(SAMPLE)]
    return main([*args, "--assets", *assets, *extra])


def _edge(reports: Path, symbol: str, *under: str) -> dict[str, Any]:
    path = reports.joinpath("research", *under, symbol, "edge.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _signal_cells(name: str, params: dict[str, Any], symbol: str) -> dict[str, int]:
    """The model run over the sample bars by hand: signals per `regime|bucket` cell."""
    model = plugin(name).create(params)
    cells: dict[str, int] = {}
    for bar in read_bars(SAMPLE / f"{symbol}-1h.csv", on_refusal=lambda _r: None):
        d = model.update(bar)
        if d.direction is not None and d.regime is not None:
            key = f"{d.regime}|{d.bucket}"
            cells[key] = cells.get(key, 0) + 1
    return cells


def _defaults(name: str) -> dict[str, Any]:
    params: dict[str, Any] = json.loads(plugin(name).params().model_dump_json())
    return params


def test_by_default_each_asset_is_researched_on_the_model_its_profile_names(
    config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> None:
    def choose(data: dict[str, Any]) -> None:
        data["assets"]["BTCUSDT"]["signal_model"] = {
            "name": "mean_reversion",
            "params": {"entry_z": 2.5},
        }

    edit_config(PROFILER_FILE, choose)
    reports = tmp_path / "reports"
    assert _run(config_dir, reports) == 0
    btc, eth = _edge(reports, "BTCUSDT"), _edge(reports, "ETHUSDT")
    mr_params = {**_defaults("mean_reversion"), "entry_z": 2.5}
    assert btc["model"] == {"name": "mean_reversion", "params": mr_params}
    assert btc["signal_distribution"]["model"] == btc["model"]
    assert btc["signal_distribution"]["cells"] == _signal_cells(
        "mean_reversion", mr_params, "BTCUSDT"
    )
    assert eth["model"] == {"name": "breakout", "params": _defaults("breakout")}
    assert eth["signal_distribution"]["cells"] == _signal_cells("breakout", {}, "ETHUSDT")
    summary = json.loads((reports / "research" / "summary.json").read_text())
    assert summary["assets"]["BTCUSDT"]["model"] == btc["model"]


def test_model_and_params_on_the_command_line_apply_to_every_asset(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    code = _run(
        config_dir,
        reports,
        "--model",
        "breakout",
        "--param",
        "channel_bars=48",
        "--param",
        "regime.trend_atr=2.0",
        "--param",
        "fade_in_chop=false",
    )
    assert code == 0
    params = _defaults("breakout")
    params.update(channel_bars=48, fade_in_chop=False)
    params["regime"]["trend_atr"] = 2.0
    for symbol in ASSETS:
        edge = _edge(reports, symbol)
        assert edge["model"] == {"name": "breakout", "params": params}
        assert edge["signal_distribution"]["cells"] == _signal_cells("breakout", params, symbol)
    assert "model breakout" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--model", "no_such_model"], "unknown signal model 'no_such_model' (installed: "),
        (["--model", "breakout", "--param", "channel_bars=0"], "channel_bars"),
        (["--model", "breakout", "--param", "no_such=1"], "params.no_such"),
        (["--model", "mean_reversion", "--param", "entry_z=oops"], "params.entry_z"),
    ],
)
def test_an_unknown_model_or_a_bad_parameter_exits_2_naming_it(
    config_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    says: str,
) -> None:
    assert _run(config_dir, tmp_path / "reports", *extra) == 2
    err = capsys.readouterr().err
    assert says in err and f"--model {extra[1]}" in err
    if "installed" in says:
        assert all(name in err for name in installed())
    assert not (tmp_path / "reports" / "research").exists()


def test_a_param_without_a_model_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--param", "channel_bars=48"])
    assert exc.value.code == 2
    assert "--param needs a --model before it" in capsys.readouterr().err


def test_two_models_side_by_side_on_the_same_assets_and_split(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    code = _run(
        config_dir,
        reports,
        "--model",
        "breakout",
        "--model",
        "mean_reversion",
        "--model",
        "mean_reversion",
        "--param",
        "entry_z=3",
        "--split",
        "2023-10-01",
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "Models side by side" in out
    # the operator's research files are not replaced by a comparison
    assert not (reports / "research" / "summary.json").exists()
    compare = reports / "research" / "compare"
    comparison = json.loads((compare / "comparison.json").read_text())
    assert list(comparison["models"]) == ["breakout", "mean_reversion", "mean_reversion-2"]
    assert comparison["models"]["mean_reversion-2"]["params"]["entry_z"] == 3
    for label, name in [
        ("breakout", "breakout"),
        ("mean_reversion", "mean_reversion"),
        ("mean_reversion-2", "mean_reversion"),
    ]:
        params = comparison["models"][label]["params"]
        for symbol in ASSETS:
            edge = _edge(reports, symbol, "compare", label)
            assert edge["model"] == comparison["models"][label]
            assert edge["data"]["out_of_sample_from_utc"] == "2023-10-01T00:00:00Z"
            assert edge["signal_distribution"]["cells"] == _signal_cells(name, params, symbol)
            side = comparison["assets"][symbol][label]
            assert side["proposal"]["tier"] == edge["proposal"]["tier"]
            summary = json.loads((compare / label / "summary.json").read_text())
            for half in ("in_sample", "out_of_sample", "all"):
                assert side[half] == summary["assets"][symbol][half]
    mr = _edge(reports, "ETHUSDT", "compare", "mean_reversion")["signal_distribution"]
    mr3 = _edge(reports, "ETHUSDT", "compare", "mean_reversion-2")["signal_distribution"]
    assert mr["signals"] > mr3["signals"]  # a wider stretch to enter: fewer signals


def test_comparing_refuses_to_propose_profiles(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["--model", "breakout", "--model", "mean_reversion"]
    code = _run(config_dir, tmp_path / "r", *extra, "--propose-profiles", str(tmp_path / "p.json"))
    assert code == 2
    assert "proposing profiles needs one model" in capsys.readouterr().err
    assert not (tmp_path / "p.json").exists()


def test_a_proposal_names_the_researched_model_and_the_daemon_accepts_it(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proposal = tmp_path / "proposed.json"
    extra = ["--model", "mean_reversion", "--param", "entry_z=2.5"]
    code = _run(config_dir, tmp_path / "r", *extra, "--propose-profiles", str(proposal))
    assert code == 0
    capsys.readouterr()
    proposed = json.loads(proposal.read_text())
    for symbol in ASSETS:
        assert proposed["assets"][symbol]["signal_model"] == {
            "name": "mean_reversion",
            "params": {"entry_z": 2.5},
        }
    not_researched = set(proposed["assets"]) - set(ASSETS)
    assert all("signal_model" not in proposed["assets"][s] for s in not_researched)
    # the profiler model accepts it: what research measured is what the asset would run
    loaded = StrategyProfiler.model_validate(proposed).assets["ETHUSDT"].signal_model
    assert loaded is not None and loaded.name == "mean_reversion"
    assert loaded.params == {"entry_z": 2.5}


def test_researching_the_default_model_proposes_no_signal_model_field(
    config_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proposal = tmp_path / "proposed.json"
    assert _run(config_dir, tmp_path / "r", "--propose-profiles", str(proposal)) == 0
    capsys.readouterr()
    proposed = json.loads(proposal.read_text())
    assert all("signal_model" not in body for body in proposed["assets"].values())
