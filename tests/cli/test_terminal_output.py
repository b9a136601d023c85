"""What a person sees of `chloe run --replay` on a terminal and in a pipe (real ptys)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import SAMPLE_DATA
from tests.daemon_runs import REPO
from tests.terminal import run_on_terminal

SUMMARY_TITLE = "Chloe run summary"


def _replay(reports: Path, *extra: str) -> list[str]:
    return ["run", "--replay", "--reports-dir", str(reports), *extra]


def test_the_readme_says_when_the_summary_table_prints() -> None:
    readme = (REPO / "README.md").read_text()
    assert "--summary always|never|auto" in readme.replace("\\|", "|")
    promise = readme[readme.index("The first prints") : readme.index("`.ci/run` runs")]
    assert re.search(r"when stderr is a terminal", promise)
    assert "`auto` (the default) prints it on a terminal only" in promise


def test_the_summary_prints_on_a_terminal_and_not_into_a_pipe_unless_asked(
    tmp_path: Path,
) -> None:
    on_tty = run_on_terminal(_replay(tmp_path / "a"))
    assert on_tty.returncode == 0
    assert SUMMARY_TITLE in on_tty.stderr
    piped = run_on_terminal(_replay(tmp_path / "b"), stdout_tty=False, stderr_tty=False)
    assert piped.returncode == 0
    assert SUMMARY_TITLE not in piped.stderr
    forced = run_on_terminal(
        _replay(tmp_path / "c", "--summary", "always"), stdout_tty=False, stderr_tty=False
    )
    assert SUMMARY_TITLE in forced.stderr
    never = run_on_terminal(_replay(tmp_path / "d", "--summary", "never"))
    assert SUMMARY_TITLE not in never.stderr


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_console_on_a_terminal_shows_times_money_and_no_none_fields(tmp_path: Path) -> None:
    piped = run_on_terminal(_replay(tmp_path / "json"), stdout_tty=False, stderr_tty=False)
    fills = [e for e in map(json.loads, piped.stdout.splitlines()) if e["event"] == "fill"]
    assert fills and any(f["pnl_usd"] is None for f in fills)  # JSON keeps every field...
    assert any(len(repr(f["notional_usd"]).split(".")[1]) > 2 for f in fills)  # ...and digit
    shown = run_on_terminal(_replay(tmp_path / "tty"), stderr_tty=False)
    assert shown.returncode == 0
    lines = [ANSI.sub("", line) for line in shown.stdout.splitlines()]
    fill_lines = [line for line in lines if " fill " in line]
    assert len(fill_lines) == len(fills)
    for fill, line in zip(fills, fill_lines, strict=True):
        fields = dict(re.findall(r"(\w+)=(\S+)", line))
        assert fields["bar_ts"] == _iso(fill["bar_ts"])
        assert fields["notional_usd"] == f"{fill['notional_usd']:.2f}"
        if fill["pnl_usd"] is None:
            assert "pnl_usd" not in fields
        else:
            assert fields["pnl_usd"] == f"{fill['pnl_usd']:.2f}"
    assert not [line for line in lines if "=None" in line]
    assert not re.search(r"_ts=\d{13}", "\n".join(lines))


def _bar_times_in_sample() -> int:
    """Distinct bar times over the sample's CSVs: what a replay of it steps through."""
    stamps: set[str] = set()
    for path in SAMPLE_DATA.glob("*-1h.csv"):
        stamps.update(line.split(",", 1)[0] for line in path.read_text().splitlines()[1:])
    return len(stamps)


def test_the_replay_progress_shows_done_of_total_percent_and_eta(tmp_path: Path) -> None:
    total = _bar_times_in_sample()
    shown = run_on_terminal(_replay(tmp_path / "r"), stdout_tty=False)
    assert shown.returncode == 0
    eta = r"ETA\s+(\d+:\d\d:\d\d|-:--:--)"
    frames = re.findall(rf"(\d+)/(\d+) bar times\s+(\d+)%\s+{eta}", ANSI.sub("", shown.stderr))
    assert frames
    assert {int(t) for _, t, _, _ in frames} == {total}
    for done, _, pct, _ in frames:
        assert pct == f"{100 * int(done) / total:.0f}"
    assert (str(total), str(total), "100") in [f[:3] for f in frames]
    assert all(json.loads(line) for line in shown.stdout.splitlines())  # the JSON log untouched


def test_research_shows_assets_done_of_total_with_an_eta(tmp_path: Path) -> None:
    args = ["research", "--reports-dir", str(tmp_path / "r"), "--assets", "ETHUSDT", "BTCUSDT"]
    shown = run_on_terminal(args, stdout_tty=False)
    assert shown.returncode == 0
    frames = re.findall(r"(\d+)/2 assets\s+(\d+)%\s+ETA\s+\S+", ANSI.sub("", shown.stderr))
    assert ("2", "100") in frames


def test_no_progress_is_written_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    piped = run_on_terminal(_replay(tmp_path / "r"), stdout_tty=False, stderr_tty=False)
    assert "bar times" not in piped.stderr and "ETA" not in piped.stderr
    assert all(json.loads(line) for line in piped.stdout.splitlines())
    args = ["research", "--reports-dir", str(tmp_path / "q"), "--assets", "ETHUSDT"]
    research = run_on_terminal(args, stdout_tty=False, stderr_tty=False)
    assert research.returncode == 0 and "ETA" not in research.stderr
