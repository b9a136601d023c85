"""apprise in a process of its own (core/child_process.py), spoken to over a pipe.

Importing apprise takes about 0.2 s of CPU and its plugins more (all ~190: 0.4 s, when a URL's
schema is not found in their sources, notify/apprise_plugins.py), and a plugin runs arbitrary
client code. In a child process that work runs on another core, beside the daemon's start
rather than inside it, and no plugin can hold the daemon's interpreter. Two requests: `load`
(the URLs: which ones apprise can use) and `send` (one message to one loaded URL: whether the
service took it). URLs travel only on the pipe, never in argv or
the environment (`CHLOE_NOTIFY_URLS` is left out of the child's).

    python -m engine_alpha.notify.apprise_process   (started by AppriseProcess, not by hand)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine_alpha.core.child_process import ChildGoneError, ChildProcess, serve

__all__ = ["AppriseProcess"]


class AppriseProcess:
    """The parent's handle: the child is started at once, so its imports overlap the caller's
    start. A child that died or hung is started again by the next `send`, which loads the same
    URLs first."""

    def __init__(self) -> None:
        self._urls: list[str] = []
        self._load_timeout_s = 0.0
        self._closed = False
        self.spawned = 0
        """Children started so far (a restart after a death counts)."""
        self._child = self._spawn()

    def _spawn(self) -> ChildProcess:
        from engine_alpha.notify.secrets import URLS_ENV

        self.spawned += 1
        return ChildProcess(__name__, env_drop=(URLS_ENV,))

    @property
    def pid(self) -> int | None:
        return self._child.pid

    def load(self, urls: Sequence[str], timeout_s: float) -> list[bool]:
        """Instantiate `urls` in the child; for each, whether apprise can use it."""
        self._urls, self._load_timeout_s = list(urls), timeout_s
        reply = self._child.ask({"op": "load", "urls": self._urls}, timeout_s)
        usable = reply.get("usable")
        if not isinstance(usable, list) or len(usable) != len(self._urls):
            raise ChildGoneError(f"unexpected answer to load: {sorted(reply)}")
        return [bool(u) for u in usable]

    def send(self, index: int, *, title: str, body: str, level: str, timeout_s: float) -> bool:
        """Send one message to loaded URL `index`; True when the service took it. A child that
        ended is started again first; one that does not answer within `timeout_s` is killed
        (ChildGoneError, so the caller counts a failed attempt)."""
        if self._closed:
            raise ChildGoneError("closed")
        if not self._child.alive:
            self._child.close()
            self._child = self._spawn()
            self.load(self._urls, self._load_timeout_s)
        request = {"op": "send", "target": index, "title": title, "body": body, "type": level}
        return bool(self._child.ask(request, timeout_s).get("sent"))

    def close(self) -> None:
        """End the child (a send still waiting for it fails)."""
        self._closed = True
        self._child.close()


def _start() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Import apprise (the slow part) before the first request; `load` loads the plugins the
    URLs need."""
    import logging

    import apprise

    from engine_alpha.notify.apprise_plugins import instantiate_all

    quiet = logging.getLogger("apprise")  # its records may quote URLs
    quiet.propagate = False
    quiet.handlers = [logging.NullHandler()]
    services: list[Any] = []

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        if request["op"] == "load":
            services[:] = instantiate_all(apprise, request["urls"])
            return {"usable": [s is not None for s in services]}
        service = services[request["target"]]
        kind = apprise.NotifyType(request["type"])
        title, body = request["title"], request["body"]
        return {"sent": bool(service.notify(body=body, title=title, notify_type=kind))}

    return handle


if __name__ == "__main__":
    serve(_start)
