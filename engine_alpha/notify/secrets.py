"""Where the apprise URLs come from: `CHLOE_NOTIFY_URLS`, or a mode-0600 `notify.json`.

The URLs carry tokens (a Telegram bot token, a webhook's secret path), so they live outside the
two config files, an error about them never quotes them, and a secrets file that other users
can read is refused: the operator learns of it at start, not after a leak.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine_alpha.config.config_loader import ConfigError, load_json
from engine_alpha.core.atomic_files import private_file_problem
from engine_alpha.notify.apprise_plugins import scheme_of

__all__ = ["NOTIFY_FILE", "URLS_ENV", "NotifyTarget", "load_targets", "source_given"]

URLS_ENV = "CHLOE_NOTIFY_URLS"
CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"  # systemd's LoadCredential= (docs/operations.md)
NOTIFY_FILE = "notify.json"
_SPLIT = re.compile(r"[\s,]+")


@dataclass(frozen=True, slots=True)
class NotifyTarget:
    """One apprise URL and the name logs use for it (`json#1`: its scheme and place, no secret)."""

    url: str
    name: str

    def __repr__(self) -> str:  # a target printed by mistake shows no token
        return f"NotifyTarget({self.name})"


def _targets(urls: list[str], origin: str) -> list[NotifyTarget]:
    targets = []
    for place, url in enumerate(urls, start=1):
        scheme = scheme_of(url)
        if scheme is None:
            raise ConfigError(
                f"{origin}: URL #{place} has no scheme (an apprise URL looks like "
                "tgram://TOKEN/CHAT_ID or json://host/path)"
            )
        targets.append(NotifyTarget(url=url, name=f"{scheme}#{place}"))
    return targets


def _from_file(path: Path) -> list[NotifyTarget]:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path}: not a regular file; the notification secrets file must be one")
    problem = private_file_problem(path, info.st_mode, "the notification URLs and their tokens")
    if problem is not None:
        raise ConfigError(problem)
    data = load_json(path)
    urls = data.get("urls") if isinstance(data, dict) else None
    extra = sorted(set(data) - {"urls"}) if isinstance(data, dict) else []
    if extra:
        raise ConfigError(f"{path}: {extra[0]}: unknown field (the file holds only 'urls')")
    if not isinstance(urls, list) or not all(isinstance(u, str) and u.strip() for u in urls):
        raise ConfigError(f'{path}: urls: expected a list of apprise URLs, {{"urls": ["..."]}}')
    return _targets([u.strip() for u in urls], str(path))


def _file_path(config_dir: Path, env: Mapping[str, str]) -> Path:
    """The secrets file to read: systemd's credential when it exists, else the config dir's."""
    credentials = env.get(CREDENTIALS_ENV)
    if credentials and (Path(credentials) / NOTIFY_FILE).exists():
        return Path(credentials) / NOTIFY_FILE
    return config_dir / NOTIFY_FILE


def source_given(config_dir: Path, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the operator gave URLs at all (the variable set, or a secrets file there),
    without reading them: a cheap look before anything is started for them."""
    env = os.environ if environ is None else environ
    return bool(env.get(URLS_ENV, "").strip()) or os.path.lexists(_file_path(config_dir, env))


def load_targets(
    config_dir: Path, environ: Mapping[str, str] | None = None
) -> tuple[list[NotifyTarget], str]:
    """The apprise URLs: `CHLOE_NOTIFY_URLS` (space or comma separated) when set, else
    `notify.json` from systemd's credentials directory (`LoadCredential=`), else
    `<config_dir>/notify.json`; none when none exists. Returns them and where they came
    from. A bad source is a ConfigError that names it and the problem, never a URL."""
    env = os.environ if environ is None else environ
    raw = env.get(URLS_ENV, "").strip()
    if raw:
        return _targets([u for u in _SPLIT.split(raw) if u], URLS_ENV), URLS_ENV
    path = _file_path(config_dir, env)
    return _from_file(path), str(path)
