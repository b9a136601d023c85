"""The gates read beside the daemon, in a child process that follows the reports as they grow.

A reading of the rollout gates needs the whole journal, signal log and event log. Read in the
daemon, each reading parsed all of them again on the daemon's interpreter (and the last one, at
stop, was most of what notifications added to a replay). The child (core/child_process.py)
follows the three files every POLL_S (ops/reports_tail.py: only what was appended), so a
reading costs the last lines and the gate arithmetic (`rollout_of`, the one `chloe status`
uses), on another core. The config travels pickled (the daemon's own object, a reload's new
one too); the state comes back the same way: parent and child are the same installation.

    python -m engine_alpha.daemon.gate_reader   (started by GateReader, not by hand)
"""

from __future__ import annotations

import base64
import contextlib
import pickle
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.core.child_process import ChildProcess, serve
from engine_alpha.ops.gates import RolloutState

__all__ = ["POLL_S", "GateReader"]

POLL_S = 0.2
"""How often the child reads what the reports gained (seconds)."""


def _pack(value: object) -> str:
    return base64.b64encode(pickle.dumps(value)).decode("ascii")


def _unpack(text: str) -> Any:
    return pickle.loads(base64.b64decode(text))  # our own child's (or parent's) bytes


class GateReader:
    """The parent's handle: started at once (its imports overlap the daemon's run); `read`
    blocks until the child answers (call it off the event loop)."""

    def __init__(self, config: ChloeConfig, reports_dir: Path) -> None:
        self._child = ChildProcess(__name__)
        self._child.tell({"op": "start", "reports_dir": str(reports_dir), "config": _pack(config)})

    def reconfigure(self, config: ChloeConfig) -> None:
        """A reload: the next readings use `config`."""
        self._child.tell({"op": "config", "config": _pack(config)})

    def read(self, timeout_s: float) -> RolloutState:
        """The gates as the reports stand now; ChildGoneError when the child cannot say."""
        state = _unpack(self._child.ask({"op": "read"}, timeout_s)["state"])
        if not isinstance(state, RolloutState):
            raise TypeError(f"the gate reader answered a {type(state).__name__}")
        return state

    def close(self) -> None:
        self._child.close()


def _start() -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """Import the gate arithmetic, then follow the reports until the first request says where."""
    from engine_alpha.daemon.startup_gates import rollout_of
    from engine_alpha.ops.reports_tail import ReportsTail

    lock = threading.Lock()
    held: dict[str, Any] = {}

    def follow() -> None:
        while True:
            time.sleep(POLL_S)
            with lock:
                tail = held.get("tail")
                if tail is not None:
                    with contextlib.suppress(Exception):  # the next reading reports it
                        tail.advance()

    threading.Thread(target=follow, name="follow", daemon=True).start()

    def handle(request: dict[str, Any]) -> dict[str, Any] | None:
        with lock:
            if request["op"] in ("start", "config"):
                held["config"] = _unpack(request["config"])
                if request["op"] == "start":
                    held["tail"] = ReportsTail(Path(request["reports_dir"]))
                return None
            tail = held["tail"]
            tail.advance()
            return {"state": _pack(rollout_of(held["config"], tail.snapshot))}

    return handle


if __name__ == "__main__":
    serve(_start)
