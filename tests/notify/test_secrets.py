"""Where the apprise URLs come from, and every way that source can be wrong: each refusal names
the source and the problem and never quotes a URL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine_alpha.config.config_loader import ConfigError
from engine_alpha.notify.secrets import NOTIFY_FILE, URLS_ENV, load_targets, source_given
from tests.notify_receiver import TOKEN

URL = f"tgram://{TOKEN}/12345"


def _write(config_dir: Path, text: str, mode: int = 0o600) -> Path:
    path = config_dir / NOTIFY_FILE
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_the_environment_wins_and_splits_on_spaces_and_commas(tmp_path: Path) -> None:
    _write(tmp_path, '{"urls": ["json://127.0.0.1/file"]}')
    env = {URLS_ENV: f" {URL},json://127.0.0.1:9/x  ntfy://topic "}
    targets, origin = load_targets(tmp_path, env)
    assert origin == URLS_ENV
    assert [t.name for t in targets] == ["tgram#1", "json#2", "ntfy#3"]
    assert targets[0].url == URL and TOKEN not in repr(targets)


def test_a_0600_file_is_read_and_no_source_means_no_targets(tmp_path: Path) -> None:
    assert load_targets(tmp_path, {}) == ([], str(tmp_path / NOTIFY_FILE))
    _write(tmp_path, f'{{"urls": ["{URL}"]}}')
    targets, origin = load_targets(tmp_path, {})
    assert [t.url for t in targets] == [URL] and origin.endswith(NOTIFY_FILE)


def test_a_systemd_credential_wins_over_the_config_dirs_file(tmp_path: Path) -> None:
    config_dir, credentials = tmp_path / "config", tmp_path / "credentials"
    config_dir.mkdir()
    credentials.mkdir()
    _write(config_dir, '{"urls": ["json://127.0.0.1/config"]}')
    _write(credentials, f'{{"urls": ["{URL}"]}}', 0o400)
    targets, origin = load_targets(config_dir, {"CREDENTIALS_DIRECTORY": str(credentials)})
    assert [t.url for t in targets] == [URL] and origin == str(credentials / NOTIFY_FILE)
    # a credentials directory without the file: the config directory's
    empty = tmp_path / "empty"
    empty.mkdir()
    targets, _ = load_targets(config_dir, {"CREDENTIALS_DIRECTORY": str(empty)})
    assert [t.url for t in targets] == ["json://127.0.0.1/config"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_file_other_users_can_read_is_refused_with_the_fix(tmp_path: Path, mode: int) -> None:
    path = _write(tmp_path, f'{{"urls": ["{URL}"]}}', mode)
    with pytest.raises(ConfigError) as caught:
        load_targets(tmp_path, {})
    text = str(caught.value)
    assert str(path) in text and f"{mode:04o}" in text and "chmod 600" in text
    assert TOKEN not in text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f'{{"urls": ["{URL}"', "invalid JSON"),
        (f'{{"urls": "{URL}"}}', "expected a list of apprise URLs"),
        (f'{{"urls": ["{URL}"], "token": "{TOKEN}"}}', "token: unknown field"),
        (f'{{"urls": ["{TOKEN}"]}}', "URL #1 has no scheme"),
        (f'{{"urls": ["{URL}", ""]}}', "expected a list of apprise URLs"),
        (f'{{"urls": ["{URL}"], "urls": []}}', "duplicate key"),
    ],
)
def test_a_bad_file_is_named_with_its_problem_and_no_secret(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_targets(tmp_path, {})
    assert str(path) in str(caught.value) and problem in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_a_directory_in_place_of_the_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / NOTIFY_FILE).mkdir()
    with pytest.raises(ConfigError, match="not a regular file"):
        load_targets(tmp_path, {})


@pytest.mark.parametrize(
    ("env_urls", "file_at", "given"),
    [
        ("", None, False),
        ("   ", None, False),
        ("json://h/p", None, True),
        ("", "config", True),
        ("", "credentials", True),
        ("", "dangling link", True),  # given, so the start refuses it by name
    ],
)
def test_a_source_is_seen_without_reading_it(
    tmp_path: Path, env_urls: str, file_at: str | None, given: bool
) -> None:
    config_dir, credentials = tmp_path / "config", tmp_path / "credentials"
    config_dir.mkdir()
    credentials.mkdir()
    if file_at == "config":
        (config_dir / NOTIFY_FILE).write_text("not even JSON")
    elif file_at == "credentials":
        (credentials / NOTIFY_FILE).write_text("{}")
    elif file_at == "dangling link":
        (config_dir / NOTIFY_FILE).symlink_to(tmp_path / "gone.json")
    env = {URLS_ENV: env_urls, "CREDENTIALS_DIRECTORY": str(credentials)}
    assert source_given(config_dir, env) is given
