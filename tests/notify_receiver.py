"""A loopback HTTP receiver for apprise's `json://` scheme: records what arrives, or answers
500, or stalls, as a test asks."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """Start with `with Receiver() as r:`; `r.url` is the apprise URL, `r.messages` what came."""

    def __init__(self, mode: str = "ok", stall_s: float = 30.0) -> None:
        self.mode = mode
        self.stall_s = stall_s
        self.messages: list[dict[str, Any]] = []
        self.requests = 0
        self.paths: list[str] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with owner._lock:
                    owner.requests += 1
                    owner.paths.append(self.path)
                if owner.mode == "stall":
                    time.sleep(owner.stall_s)
                if owner.mode == "500":
                    self.send_response(500)
                    self.end_headers()
                    return
                with owner._lock:
                    owner.messages.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The apprise URL of this receiver (its path carries a fake secret token)."""
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook/{TOKEN}"

    def by_event(self, title_prefix: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.messages if m["title"].startswith(title_prefix)]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


TOKEN = "s3cr3t-T0KEN-4f9a1c"
