"""A torn commit: the journal cut at every kind of byte offset restarts to the uninterrupted run.

A crash or power loss leaves the journal cut anywhere in its last write: inside a line, at a line
end inside one bar time's fills, at the end of a bar time. Restarting must roll back the bar
time left incomplete, execute it again, and end with the journal and the signal log that an
uninterrupted replay writes (SPEC §7).
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from tests.conftest import EditConfig
from tests.daemon_runs import RunResult
from tests.e2e.test_replay_daemon import _enable_all, _without_wall_time

pytestmark = pytest.mark.slow


def _line_ends(data: bytes) -> list[int]:
    """Offsets just after each newline."""
    ends, at = [], data.find(b"\n")
    while at >= 0:
        ends.append(at + 1)
        at = data.find(b"\n", at + 1)
    return ends


def _offset_classes(data: bytes, rng: random.Random) -> dict[str, list[int]]:
    """Cut points of each class, a few of each, drawn from the real journal."""
    lines = [orjson.loads(raw) for raw in data.splitlines()]
    ends = _line_ends(data)
    starts = [0, *ends[:-1]]
    inside = [rng.randrange(s + 1, e - 1) for s, e in zip(starts, ends, strict=True)]
    in_group = [
        ends[i] for i in range(len(lines) - 1) if lines[i + 1]["bar_ts"] == lines[i]["bar_ts"]
    ]
    group_end = [
        ends[i] for i in range(len(lines) - 1) if lines[i + 1]["bar_ts"] != lines[i]["bar_ts"]
    ]
    assert in_group and group_end, "the reference needs bar times with several fills"
    return {
        "inside a line": [inside[0], *rng.sample(inside[1:], 3)],
        "at a line end inside a bar time": rng.sample(in_group, 3),
        "at a bar time's end": rng.sample(group_end, 3),
    }


@pytest.fixture
def reference(
    run_chloe: Callable[..., RunResult], config_dir: Path, edit_config: EditConfig, tmp_path: Path
) -> RunResult:
    _enable_all(edit_config, exposure_usd=1200)
    result = run_chloe(config_dir, tmp_path / "reference")
    assert result.returncode == 0, result.stderr
    return result


def _restart_on(
    journal: bytes,
    reference: RunResult,
    run_chloe: Callable[..., RunResult],
    config_dir: Path,
    where: Path,
) -> RunResult:
    """A reports directory as the crash left it (journal `journal`, the rest as written), rerun."""
    where.mkdir()
    shutil.copy(reference.reports / "signals.jsonl", where / "signals.jsonl")
    (where / "trades.jsonl").write_bytes(journal)
    return run_chloe(config_dir, where)


def _assert_uninterrupted(result: RunResult, reference: RunResult, label: str) -> None:
    assert result.returncode == 0, f"{label}: {result.stderr}"
    assert _without_wall_time(result.journal()) == _without_wall_time(reference.journal()), label
    signals = (result.reports / "signals.jsonl").read_bytes()
    assert signals == (reference.reports / "signals.jsonl").read_bytes(), label


def test_a_cut_at_every_offset_class_restarts_to_the_uninterrupted_run(
    reference: RunResult, run_chloe: Callable[..., RunResult], config_dir: Path, tmp_path: Path
) -> None:
    data = (reference.reports / "trades.jsonl").read_bytes()
    classes = _offset_classes(data, random.Random(20261202))
    runs = 0
    for label, offsets in classes.items():
        for offset in offsets:
            runs += 1
            result = _restart_on(
                data[:offset], reference, run_chloe, config_dir, tmp_path / f"cut{runs}"
            )
            _assert_uninterrupted(result, reference, f"{label} at byte {offset}")
    assert runs == 10


def test_a_last_line_cut_short_but_ending_in_a_newline_is_rolled_back_with_its_bar_time(
    reference: RunResult, run_chloe: Callable[..., RunResult], config_dir: Path, tmp_path: Path
) -> None:
    data = (reference.reports / "trades.jsonl").read_bytes()
    lines = [orjson.loads(raw) for raw in data.splitlines()]
    ends = _line_ends(data)
    # the second line of a bar time with several fills, cut in the middle, then a newline
    i = next(i for i in range(1, len(lines)) if lines[i]["bar_ts"] == lines[i - 1]["bar_ts"])
    cut = data[: ends[i - 1] + (ends[i] - ends[i - 1]) // 2] + b"\n"
    result = _restart_on(cut, reference, run_chloe, config_dir, tmp_path / "newline")
    _assert_uninterrupted(result, reference, "cut short, newline-terminated")
    quarantined = (result.reports / "trades.jsonl.quarantine").read_bytes()
    assert quarantined.startswith(data[ends[i - 2] if i >= 2 else 0 : ends[i - 1]][:20])


def test_a_zeroed_line_inside_the_last_bar_time_is_a_torn_commit(
    reference: RunResult, run_chloe: Callable[..., RunResult], config_dir: Path, tmp_path: Path
) -> None:
    data = (reference.reports / "trades.jsonl").read_bytes()
    lines = [orjson.loads(raw) for raw in data.splitlines()]
    ends = _line_ends(data)
    starts = [0, *ends[:-1]]
    # a bar time with 3+ fills: keep it whole, zero its second-to-last line (power loss)
    last = next(
        i
        for i in range(2, len(lines))
        if lines[i]["bar_ts"] == lines[i - 1]["bar_ts"] == lines[i - 2]["bar_ts"]
        and (i + 1 == len(lines) or lines[i + 1]["bar_ts"] != lines[i]["bar_ts"])
    )
    torn = bytearray(data[: ends[last]])
    torn[starts[last - 1] : ends[last - 1]] = bytes(ends[last - 1] - starts[last - 1])
    result = _restart_on(bytes(torn), reference, run_chloe, config_dir, tmp_path / "zeroed")
    _assert_uninterrupted(result, reference, "zeroed second-to-last line")


def test_damage_before_the_last_bar_time_still_refuses_to_start(
    reference: RunResult, run_chloe: Callable[..., RunResult], config_dir: Path, tmp_path: Path
) -> None:
    data = (reference.reports / "trades.jsonl").read_bytes()
    ends = _line_ends(data)
    starts = [0, *ends[:-1]]
    damaged = bytearray(data)
    damaged[starts[10] : ends[10] - 1] = bytes(ends[10] - 1 - starts[10])
    result = _restart_on(bytes(damaged), reference, run_chloe, config_dir, tmp_path / "middle")
    assert result.returncode == 3
    assert "line 11" in result.stderr
    assert (result.reports / "trades.jsonl").read_bytes() == bytes(damaged)
