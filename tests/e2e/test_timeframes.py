"""Any timeframe: the daemon replays 4h bars (resampled here from the bundled 1h sample) and 15m
bars (generated here) through the same pipeline and the same journal checks as 1h, and at 15m
the daily caps reset at 00:00 UTC, not 24 hours after a fill."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import PAPER_FILE, PROFILER_FILE, load_config
from engine_alpha.core.units import DAY_MS
from engine_alpha.ops.journal_audit import audit_journal
from tests.conftest import SAMPLE_DATA, EditConfig
from tests.daemon_runs import RunResult
from tests.e2e.test_replay_daemon import _assert_report_matches_journal

pytestmark = pytest.mark.slow  # end-to-end: subprocess daemons (quick set: -m 'not slow')

HEADER = "timestamp_ms,open,high,low,close,volume"
MINUTE_MS = 60_000
REGIMES = ["trend_up", "trend_down", "high_vol", "chop"]


def _resample(source: Path, target: Path, minutes: int) -> None:
    """Each bundled 1h file as `minutes` bars: first open, highest high, lowest low, last
    close, summed volume, per aligned window (the exchange's own candles)."""
    target.mkdir(parents=True)
    span = minutes * MINUTE_MS
    for csv in sorted(source.glob("*-1h.csv")):
        merged: dict[int, list[float]] = {}
        for row in csv.read_text().splitlines()[1:]:
            ts, o, h, lo, c, v = row.split(",")
            start = int(ts) - int(ts) % span
            bar = merged.get(start)
            if bar is None:
                merged[start] = [float(o), float(h), float(lo), float(c), float(v)]
            else:
                bar[1], bar[2] = max(bar[1], float(h)), min(bar[2], float(lo))
                bar[3], bar[4] = float(c), bar[4] + float(v)
        lines = [HEADER] + [",".join([str(t), *map(repr, b)]) for t, b in sorted(merged.items())]
        (target / csv.name.replace("-1h", f"-{minutes // 60}h")).write_text("\n".join(lines) + "\n")


def _generate_15m(target: Path, days: int) -> None:
    """A 15m random walk per bundled symbol, starting at its first 1h close, over `days`."""
    target.mkdir(parents=True)
    start = 1_688_169_600_000  # 2023-07-01 00:00 UTC
    for n, csv in enumerate(sorted(SAMPLE_DATA.glob("*-1h.csv"))):
        rng = random.Random(n)
        price = float(csv.read_text().splitlines()[1].split(",")[4])
        lines = [HEADER]
        for i in range(days * 96):
            scale = 0.002 if (i // 400) % 2 == 0 else 0.006
            close = price * (1.0 + rng.gauss(0.0, scale))
            high = max(price, close) * (1.0 + abs(rng.gauss(0.0, scale / 2)))
            low = min(price, close) * (1.0 - abs(rng.gauss(0.0, scale / 2)))
            volume = rng.uniform(10.0, 1_000.0)
            lines.append(
                f"{start + i * 15 * MINUTE_MS},{price!r},{high!r},{low!r},{close!r},{volume!r}"
            )
            price = close
        (target / csv.name.replace("-1h", "-15m")).write_text("\n".join(lines) + "\n")


def _use(edit_config: EditConfig, data: Path, timeframe: str) -> None:
    edit_config(
        PAPER_FILE,
        lambda d: d["feed"].update(source="replay", data_dir=str(data), timeframe=timeframe),
    )


def _loose_eth(edit_config: EditConfig) -> None:
    """ETHUSDT takes a signal in every regime and bucket, so caps, not filters, decide."""

    def change(d: dict[str, Any]) -> None:
        profile = d["assets"]["ETHUSDT"]
        profile["regime_filters"] = {"enabled_regimes": REGIMES}
        profile["confidence_filters"] = {
            "min_conf": None,
            "preferred_buckets": [],
            "avoid_buckets": [],
        }
        profile["allowed_cells"] = []
        profile["directional_bias"] = None

    edit_config(PROFILER_FILE, change)


def _sound(result: RunResult, config_dir: Path) -> list[dict[str, Any]]:
    assert result.returncode == 0, result.stderr
    journal = result.journal()
    assert audit_journal(journal, load_config(config_dir)) == []
    _assert_report_matches_journal(result, config_dir)
    return journal


@pytest.mark.parametrize("timeframe", ["4h", "15m"])
def test_a_replay_at_another_timeframe_passes_the_same_journal_checks(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    edit_config: EditConfig,
    tmp_path: Path,
    timeframe: str,
) -> None:
    data = tmp_path / "data"
    if timeframe == "4h":
        _resample(SAMPLE_DATA, data, 240)
    else:
        _generate_15m(data, days=30)
    _use(edit_config, data, timeframe)
    _loose_eth(edit_config)
    journal = _sound(run_chloe(config_dir, tmp_path / "reports"), config_dir)
    assert len(journal) >= 10
    step = {"4h": 240, "15m": 15}[timeframe] * MINUTE_MS
    assert all(line["bar_ts"] % step == 0 and line["timeframe"] == timeframe for line in journal)
    # The holding period is counted in bars of this timeframe: a timeout exits max_hold_bars
    # bars after the entry bar's open.
    hold = load_config(config_dir).paper.execution.max_hold_bars
    for line in journal:
        if line["action"] == "open":
            assert line["expires_bar_ts"] == line["bar_ts"] + (hold - 1) * step


def test_at_15m_the_daily_cap_resets_at_midnight_utc(
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    edit_config: EditConfig,
    tmp_path: Path,
) -> None:
    _generate_15m(tmp_path / "data", days=30)
    _use(edit_config, tmp_path / "data", "15m")
    _loose_eth(edit_config)
    edit_config(
        PAPER_FILE,
        lambda d: d["enabled_assets"]["ETHUSDT"].update(
            max_notional_per_trade_usd=500, max_daily_notional_usd=500
        ),
    )
    result = run_chloe(config_dir, tmp_path / "reports")
    journal = _sound(result, config_dir)
    opens = [line for line in journal if line["action"] == "open"]
    per_day: dict[int, float] = defaultdict(float)
    for line in opens:
        per_day[line["bar_ts"] // DAY_MS] += line["notional_usd"]
    assert len(per_day) >= 10 and max(per_day.values()) <= 500.0
    refused = [s for s in result.signals() if s["reason"] == "daily_cap"]
    assert refused, "the cap must bite for the test to mean anything"
    # The cap frees at 00:00 UTC: a day's first open can come less than 24 h after the last
    # open of the day before (a rolling 24-hour window would refuse it).
    gaps = [
        b["bar_ts"] - a["bar_ts"]
        for a, b in itertools.pairwise(opens)
        if b["bar_ts"] // DAY_MS == a["bar_ts"] // DAY_MS + 1
    ]
    assert gaps and min(gaps) < DAY_MS
    # And the refusals all fall on days whose cap was already used.
    for signal in refused:
        assert per_day.get(signal["bar_ts"] // DAY_MS, 0.0) > 0.0
