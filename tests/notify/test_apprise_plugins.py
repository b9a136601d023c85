"""Loading only the plugins the URLs name: each schema apprise serves is found in the module
that serves it (or the full load takes over), and a child that loaded one plugin sends with it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import apprise

from engine_alpha.notify.apprise_plugins import plugin_modules, scheme_of

ROOT = Path(apprise.__file__).parent / "plugins"


def _entry(module: str) -> str:
    """The plugins folder entry of an `apprise.plugins.x[.y]` module: `x.py` or the folder."""
    name = module.split(".")[2]
    return name if (ROOT / name).is_dir() else f"{name}.py"


def test_every_schema_apprise_serves_is_found_in_its_module_or_falls_back_to_all() -> None:
    schemas: set[str] = set()
    for service in apprise.Apprise().details()["schemas"]:
        for declared in (service["protocols"], service["secure_protocols"]):
            schemas.update([declared] if isinstance(declared, str) else declared or ())
    manager = apprise.NotificationManager()
    found = 0
    for schema in sorted(schemas):
        serving = _entry(manager[schema].__module__)
        named = plugin_modules(ROOT, [schema])
        assert named is None or serving in named, schema
        found += named is not None
    assert found >= 0.95 * len(schemas)  # the fallback stays the exception (Kodi, desktop)
    both = plugin_modules(ROOT, ["json", "tgram"])
    assert both is not None and {"custom_json.py", "telegram.py"} <= both
    assert plugin_modules(ROOT, ["json", "nosuch"]) is None


def test_the_schema_of_a_url() -> None:
    assert scheme_of("TGram://bot/chat") == "tgram"
    assert scheme_of("json://host/path") == "json"
    assert scheme_of("no schema here") is None
    assert scheme_of("://host") is None


_CHILD = """
import json, sys
import apprise
from engine_alpha.notify.apprise_plugins import instantiate_all
urls = json.loads(sys.argv[1])
services = instantiate_all(apprise, urls)
plugins = [m.split(".") for m in sys.modules if m.startswith("apprise.plugins.")]
loaded = sorted({p[2] for p in plugins if not p[2].startswith(("base", "_"))})
print(json.dumps({"usable": [s is not None for s in services], "loaded": loaded}))
"""


def _instantiate(urls: list[str]) -> dict[str, list[object]]:
    """`instantiate_all` in a fresh interpreter (apprise's manager is one per process)."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(urls)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, list[object]] = json.loads(done.stdout)
    return result


def test_a_url_loads_its_plugin_alone_and_an_unknown_schema_loads_them_all() -> None:
    one = _instantiate(["json://127.0.0.1:9/hook", "tgram://123456789:abcdefg_hijklmnop/1234/"])
    assert one["usable"] == [True, True]
    assert one["loaded"] == ["custom_json", "telegram"]
    kodi = _instantiate(["kodi://localhost", "json://127.0.0.1:9/hook"])
    assert kodi["usable"] == [True, True]  # Kodi builds its schemas: found by the full load
    assert len(kodi["loaded"]) > 100
    bad = _instantiate(["nosuch://x", "json://127.0.0.1:9/hook"])
    assert bad["usable"] == [False, True]
