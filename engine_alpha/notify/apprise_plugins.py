"""Load only the apprise plugins that the operator's URLs name (in apprise's child process).

`NotificationManager.load_modules()` imports all of apprise's ~190 plugin modules (0.35-0.4 s of
CPU, 60% of what the child uses), while one URL needs one. A plugin module states its schemas
in `protocol` / `secure_protocol` class attributes, so the module source says which one to
import. apprise loads the modules named in a folder listing (`load_modules(path, name)`), so
the child lists only those in an empty temporary folder of blank files. A schema no module
states that way (apprise's desktop and Kodi plugins build theirs), a URL the loaded plugins
cannot use, or any error on the way, falls back to loading every plugin: it only costs time.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["instantiate_all", "plugin_modules", "scheme_of"]

_PROTOCOL = re.compile(rb"""\b(?:secure_)?protocol\s*=\s*(\([^)]*\)|\[[^\]]*\]|"[^"]*"|'[^']*')""")
_QUOTED = re.compile(rb"""["']([^"']*)["']""")
_PLUGINS_PACKAGE = "apprise.plugins"
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


def scheme_of(url: str) -> str | None:
    """The URL's scheme (`tgram`, `json`), or None when it has none."""
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def plugin_modules(root: Path, schemas: Iterable[str]) -> set[str] | None:
    """The entries of apprise's plugins folder `root` (`name.py` or a package folder) whose
    source assigns one of `schemas` to `protocol` or `secure_protocol`; None when a schema is
    in none of them."""
    wanted = {s.lower().encode() for s in schemas}
    quoted = [b'"%s"' % w for w in wanted] + [b"'%s'" % w for w in wanted]
    found: set[str] = set()
    named: set[bytes] = set()
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(("_", "base")):
            continue
        if entry.suffix == ".py":
            sources = [entry]
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            sources = sorted(entry.glob("*.py"))
        else:
            continue
        for source in sources:
            text = source.read_bytes()
            if not any(q in text for q in quoted):  # the regular expression is the slow part
                continue
            for assigned in _PROTOCOL.finditer(text):
                hits = wanted.intersection(q.lower() for q in _QUOTED.findall(assigned.group(1)))
                if hits:
                    found.add(entry.name)
                    named |= hits
    return found if named == wanted else None


def instantiate_all(apprise: Any, urls: Sequence[str]) -> list[Any]:
    """Each URL's apprise plugin instance (None: apprise cannot use it), loading the plugins the
    URLs name, and every plugin only when those do not serve them all. The plugin itself, whose
    notify() sends on the caller's thread (Apprise.notify() would hand sends to a pool)."""
    manager = apprise.NotificationManager()  # apprise's one manager
    with contextlib.suppress(Exception):  # any doubt: the full load below decides
        _load_named(apprise, manager, urls)
    services = [apprise.Apprise.instantiate(url) for url in urls]
    if any(s is None for s in services):
        manager.load_modules()  # the default folder: every plugin not loaded yet
        services = [
            s or apprise.Apprise.instantiate(url) for s, url in zip(services, urls, strict=True)
        ]
    return services


def _load_named(apprise: Any, manager: Any, urls: Sequence[str]) -> None:
    """Load the plugin modules that state the URLs' schemas (nothing when one is unknown)."""
    schemas = {scheme_of(u) for u in urls}
    if None in schemas or manager:
        return
    root = Path(apprise.__file__).parent / "plugins"
    names = plugin_modules(root, [s for s in schemas if s is not None])
    if not names:
        return
    with tempfile.TemporaryDirectory(prefix="chloe-apprise-") as listing:
        for name in names:
            (Path(listing) / name).touch()  # a folder or a file: only the name is read
        manager.load_modules(path=listing, name=_PLUGINS_PACKAGE)
