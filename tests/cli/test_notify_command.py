"""`chloe notify test`: one message to each configured target, a line per target saying
whether it arrived, and no URL or token in anything it prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.daemon_runs import child_env
from tests.notify_receiver import TOKEN, Receiver


def _notify_test(config_dir: Path, urls: str) -> subprocess.CompletedProcess[str]:
    env = {**child_env(), "CHLOE_NOTIFY_URLS": urls}
    cmd = [sys.executable, "-m", "engine_alpha", "notify", "test", "--config-dir", str(config_dir)]
    return subprocess.run(
        cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=120, check=False
    )


def test_every_target_gets_the_message_and_a_failing_one_is_named(config_dir: Path) -> None:
    with Receiver() as good, Receiver("500") as bad:
        done = _notify_test(config_dir, f"{good.url} {bad.url}")
    assert done.returncode == 1, done.stderr
    said = [line for line in done.stdout.splitlines() if not line.startswith("{")]
    assert said == ["json#1: sent", "json#2: NOT sent (see the warning above)"]
    (message,) = good.messages
    assert message["title"] == "Chloe test message" and "json#1" in message["message"]
    assert bad.requests == 1  # a test is not retried
    assert TOKEN not in done.stdout + done.stderr


def test_all_sent_is_exit_0_and_no_urls_is_exit_2(config_dir: Path) -> None:
    with Receiver() as good:
        done = _notify_test(config_dir, good.url)
    assert (done.returncode, done.stdout.strip()) == (0, "json#1: sent")
    done = _notify_test(config_dir, "")
    assert done.returncode == 2 and "no notification URLs" in done.stderr


def test_a_url_apprise_cannot_use_is_exit_2_and_named_not_quoted(config_dir: Path) -> None:
    with Receiver() as good:
        done = _notify_test(config_dir, f"{good.url} nosuch://{TOKEN}")
    assert done.returncode == 2, done.stderr
    said = [line for line in done.stdout.splitlines() if not line.startswith("{")]
    assert said == ["json#1: sent", "nosuch#2: NOT an apprise URL this installation can use"]
    assert len(good.messages) == 1
    assert TOKEN not in done.stdout + done.stderr
