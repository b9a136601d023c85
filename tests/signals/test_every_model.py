"""Every installed signal model (built-in or from an outside package) passes the reusable checks
of `engine_alpha.testing.signal_models`, on random walks and on the bundled real sample; and those
checks do fail on models that look ahead, are nondeterministic, forget state or break the contract.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.market.bars import Bar
from engine_alpha.signals.catalog import installed_plugins
from engine_alpha.signals.decision import BarDecision, bucket_of
from engine_alpha.signals.protocol import ModelPlugin
from engine_alpha.testing.signal_models import (
    assert_deterministic,
    assert_keeps_contract,
    assert_model_sound,
    assert_no_look_ahead,
    assert_snapshot_continues,
    assert_warms_up,
    run_model,
)
from tests.signals.series import random_walk

REPO = Path(__file__).resolve().parents[2]
PLUGINS = installed_plugins()


def _sample(symbol: str) -> list[Bar]:
    with (REPO / "data" / "ohlcv" / f"{symbol}-1h.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    return [Bar(symbol, int(r[0]), *(float(x) for x in r[1:6])) for r in rows]


def test_the_built_in_models_are_among_the_installed() -> None:
    assert {"breakout", "mean_reversion"} <= {p.name for p in PLUGINS}


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
@pytest.mark.parametrize("seed", [0, 1])
def test_every_model_is_sound_on_random_walks(plugin: ModelPlugin[Any], seed: int) -> None:
    bars = random_walk(1_200, seed)
    assert_model_sound(plugin.create, bars)
    assert any(d.direction is not None for d in run_model(plugin.create, bars))


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
def test_every_model_is_sound_on_the_real_sample(plugin: ModelPlugin[Any]) -> None:
    assert_model_sound(plugin.create, _sample("ETHUSDT"))


# Toy models that each break one rule, to show the checks catch it.


class _Toy:
    """Signals on every bar after a 5-bar warm-up; subclasses break one rule each."""

    warmup_bars = 5

    def __init__(self) -> None:
        self.n = 0

    def confidence(self, bar: Bar) -> float:
        return (self.n % 10) / 10.0

    def update(self, bar: Bar) -> BarDecision:
        self.n += 1
        if self.n <= self.warmup_bars:
            return BarDecision(bar.ts_ms, bar.close, 1.0, None, None, None, None)
        c = self.confidence(bar)
        return BarDecision(bar.ts_ms, bar.close, 1.0, "chop", "long", c, bucket_of(c))

    def snapshot(self) -> Any:
        return {"n": self.n}

    def restore(self, state: Any) -> None:
        self.n = state["n"]


def _leaky_factory() -> Any:
    """Scales by the highest close any model of this factory has seen: a statistic fitted on
    the whole data set, the classic look-ahead."""
    seen: list[float] = []

    class Leaky(_Toy):
        def confidence(self, bar: Bar) -> float:
            seen.append(bar.close)
            return bar.close / max(seen)

    return Leaky


class _Noisy(_Toy):
    def confidence(self, bar: Bar) -> float:
        return random.random()


class _Forgetful(_Toy):
    def snapshot(self) -> Any:
        return {}

    def restore(self, state: Any) -> None:
        pass


class _WildConfidence(_Toy):
    def confidence(self, bar: Bar) -> float:
        return 1.5 if self.n == 40 else 0.5


class _EarlyRegime(_Toy):
    def update(self, bar: Bar) -> BarDecision:
        d = super().update(bar)
        d.regime = "chop"
        return d


BARS = random_walk(120, seed=3)


def test_the_toys_base_passes_every_check() -> None:
    assert_model_sound(_Toy, BARS)


def test_a_look_ahead_model_fails_the_no_look_ahead_check() -> None:
    with pytest.raises(AssertionError, match=r"look-ahead: .* at bar \d+ \(ts_ms \d+\)"):
        assert_no_look_ahead(_leaky_factory(), BARS)


def test_a_changed_future_is_caught_even_when_prefixes_agree() -> None:
    tape: dict[int, float] = {}

    class Peeking(_Toy):
        def confidence(self, bar: Bar) -> float:
            # remembers the largest close ever seen at each bar time, across runs
            tape[bar.ts_ms] = max(tape.get(bar.ts_ms, 0.0), bar.close)
            return min(1.0, tape.get(bar.ts_ms + 3_600_000, 0.0) / bar.close / 2.0)

    with pytest.raises(AssertionError, match="look-ahead"):
        assert_no_look_ahead(Peeking, BARS, cuts=[60])


def test_a_nondeterministic_model_fails_the_determinism_check() -> None:
    with pytest.raises(AssertionError, match=r"not deterministic: .* at bar 5 "):
        assert_deterministic(_Noisy, BARS)


def test_a_model_that_forgets_its_state_fails_the_snapshot_check() -> None:
    with pytest.raises(
        AssertionError, match=r"restored after 50 bars, the model differs at bar 50"
    ):
        assert_snapshot_continues(_Forgetful, BARS, 50)


def test_a_snapshot_that_is_not_json_fails_the_snapshot_check() -> None:
    class Unsaveable(_Toy):
        def snapshot(self) -> Any:
            return {"n": self.n, "bars": {1, 2}}

    with pytest.raises(AssertionError, match="not JSON data"):
        assert_snapshot_continues(Unsaveable, BARS, 10)


def test_a_confidence_outside_0_1_fails_the_contract_check() -> None:
    with pytest.raises(AssertionError, match=r"contract broken at bar 39 .*1.5 not in \[0, 1\]"):
        assert_keeps_contract(_WildConfidence, BARS)


def test_a_regime_during_warm_up_fails_the_warm_up_check() -> None:
    with pytest.raises(AssertionError, match=r"warming up \(5 bars\) yet bar 0 "):
        assert_warms_up(_EarlyRegime, BARS)
