"""What a person sees of `chloe run --replay` on a terminal and in a pipe (real ptys)."""

from __future__ import annotations

import re
from pathlib import Path

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
