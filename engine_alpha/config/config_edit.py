"""Atomic edits of `multi_asset_paper_config.json`: key order and 2-space formatting kept.

An edit is validated with the real loader (both files, cross-checked) before it replaces the
file: temp file in the same directory, fsync, the original's mode and owner, `os.replace`,
fsync of the directory. A reader sees the old file or the new one, never a half-written one.
Concurrent editors are serialised with `flock` on the file (re-checked after each rename).
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine_alpha.config.config_loader import (
    PAPER_FILE,
    PROFILER_FILE,
    ChloeConfig,
    ConfigError,
    load_config,
)
from engine_alpha.core.atomic_files import replace_atomic

__all__ = ["EditResult", "edit_paper_config", "render_json", "set_asset_state"]

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class EditResult:
    """What an edit did: the file, whether it changed, and the validated config it holds now."""

    path: Path
    changed: bool
    reformatted: bool
    config: ChloeConfig


def render_json(data: Any, *, trailing_newline: bool = True) -> str:
    """The config files' formatting: 2-space indent, keys in their order, non-ASCII kept."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return text + "\n" if trailing_newline else text


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[int]:
    """An fd of `path` holding an exclusive flock, re-opened if the file was replaced meanwhile."""
    while True:
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


def _read_fd(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8")


def _validate(config_dir: Path, text: str) -> ChloeConfig:
    """Load `text` as the paper config beside the real profiler, with the loader's messages."""
    real = config_dir / PAPER_FILE
    with tempfile.TemporaryDirectory(prefix="chloe-config-check-") as tmp:
        tmp_dir = Path(tmp)
        (tmp_dir / PAPER_FILE).write_text(text, encoding="utf-8")
        (tmp_dir / PROFILER_FILE).symlink_to((config_dir / PROFILER_FILE).resolve())
        try:
            config = load_config(tmp_dir)
        except ConfigError as exc:
            message = str(exc).replace(str(tmp_dir / PAPER_FILE), str(real))
            raise ConfigError(message.replace(str(tmp_dir), str(config_dir))) from None
    return ChloeConfig(profiler=config.profiler, paper=config.paper, config_dir=config_dir)


def _replace(path: Path, text: str, like: os.stat_result) -> None:
    """Write `text` to a temp file beside `path` with its mode and owner, then rename over it."""
    replace_atomic(
        path,
        text.encode("utf-8"),
        mode=like.st_mode & 0o7777,
        owner=(like.st_uid, like.st_gid),
    )


def _parse(path: Path, text: str) -> JsonObject:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: (top level): must be a JSON object")
    return data


def edit_paper_config(config_dir: Path, change: Callable[[JsonObject], None]) -> EditResult:
    """Apply `change` to the parsed paper config; validate; replace the file atomically.

    Raises ConfigError (file, field path, problem) when the file or the edited result is invalid;
    the file is then left untouched.
    """
    path = config_dir / PAPER_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    with _locked(path) as fd:
        text = _read_fd(fd)
        data = _parse(path, text)
        edited = copy.deepcopy(data)
        change(edited)
        trailing = text.endswith("\n")
        new_text = render_json(edited, trailing_newline=trailing)
        config = _validate(config_dir, new_text)
        changed = new_text != text
        if changed:
            _replace(path, new_text, os.fstat(fd))
    return EditResult(
        path=path,
        changed=changed,
        reformatted=render_json(data, trailing_newline=trailing) != text,
        config=config,
    )


def set_asset_state(
    config_dir: Path, symbol: str, *, enabled: bool, mode: str | None = None
) -> EditResult:
    """Set `enabled_assets.<symbol>.enabled` (and `mode` when given), nothing else."""

    def change(data: JsonObject) -> None:
        assets = data.get("enabled_assets")
        if not isinstance(assets, dict) or not isinstance(assets.get(symbol), dict):
            raise ConfigError(
                f"{config_dir / PAPER_FILE}: enabled_assets.{symbol}: not in enabled_assets"
            )
        assets[symbol]["enabled"] = enabled
        if mode is not None:
            assets[symbol]["mode"] = mode

    return edit_paper_config(config_dir, change)
