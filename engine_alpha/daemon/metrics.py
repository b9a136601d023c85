"""The opt-in Prometheus endpoint (prometheus-client), on a loopback address only.

Off by default (`metrics.enabled` in the paper config), and then nothing here runs: no import,
no thread, no work per bar. On, the daemon replaces `DaemonMetrics.snapshot` with a new
immutable snapshot of its figures after each live bar's commit (at most every half second in a
replay), and the HTTP server's thread reads the latest one when Prometheus scrapes: nothing is
computed or locked on the way of a bar but the commit latency's histogram observation. The port
is bound at start; the HTTP server and prometheus-client (metrics_exposition.py) are started
and imported by the endpoint's thread when the first scrape connects, so a run nobody scrapes
pays for neither. Metric names and labels: docs/operations.md, "Metrics".
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from engine_alpha.daemon.metrics_snapshot import MetricsSnapshot

__all__ = ["DaemonMetrics"]

# Commit latency buckets, seconds: an fsync takes a millisecond or two on a disk, more on a
# busy one; a commit over a second is worth an alert.
_COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _shut(server: Any) -> None:
    """End the server's loop (returns once its poll noticed), then close its socket."""
    server.shutdown()
    server.server_close()


class DaemonMetrics:
    """The endpoint: its socket, its server once scraped, and the latest snapshot."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.snapshot = MetricsSnapshot()
        # Commit latencies counted per bucket here (a bisect and two adds per commit, no lock:
        # only the event loop writes; a scrape reads a copy).
        self._bucket_counts = [0] * (len(_COMMIT_BUCKETS) + 1)
        self._commit_sum = 0.0
        self._lock = threading.Lock()  # the endpoint's thread against stop()
        self._listener: socket.socket | None = None
        self._server: Any = None
        self._stopped = False
        self.notification_counts: Callable[[], tuple[int, int]] | None = None
        """Deliveries sent and dropped so far, read at scrape time (notifications on)."""

    def start(self) -> None:
        """Listen on host:port (OSError when the port is taken; port 0 takes a free port, which
        `port` then holds) and serve /metrics from a daemon thread, which starts the HTTP
        server when the first scrape connects."""
        family, _, _, _, address = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM
        )[0]
        listener = socket.create_server(address[:2], family=family)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(
            target=self._serve, args=(listener,), name="chloe-metrics", daemon=True
        ).start()

    def _serve(self, listener: socket.socket) -> None:
        """Wait for the first scrape, then serve it and every later one."""
        try:
            first = listener.accept()
        except OSError:
            return  # stopped before anyone scraped
        from engine_alpha.daemon.metrics_exposition import metrics_server

        with self._lock:
            if self._stopped:
                first[0].close()
                return
            server = self._server = metrics_server(listener, self)
        server.process_request(*first)
        server.serve_forever()

    def stop(self) -> None:
        """Stop serving without waiting for it: the server's loop polls for a stop only every
        half second, which the daemon's stop would otherwise wait out (0-0.5 s). Before the
        first scrape there is only the socket to close (its shutdown wakes the waiting
        thread)."""
        with self._lock:
            self._stopped = True
            server, self._server = self._server, None
            listener, self._listener = self._listener, None
        if server is not None:
            threading.Thread(target=_shut, args=(server,), name="metrics-stop", daemon=True).start()
        elif listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def observe_commit(self, seconds: float) -> None:
        """One journal commit's latency."""
        self._bucket_counts[bisect_left(_COMMIT_BUCKETS, seconds)] += 1
        self._commit_sum += seconds

    def commit_counts(self) -> tuple[tuple[float, ...], list[int], float]:
        """The buckets' upper bounds, the commits counted in each (one more: over the last
        bound) and their total time."""
        return _COMMIT_BUCKETS, list(self._bucket_counts), self._commit_sum

    @staticmethod
    def lag_s(last_bar_ts: int | None, timeframe_ms: int) -> float | None:
        """Seconds from the close of bar `last_bar_ts` to now (wall clock)."""
        if last_bar_ts is None:
            return None
        return time.time() - (last_bar_ts + timeframe_ms) / 1000.0
