"""The opt-in Prometheus endpoint (prometheus-client), on a loopback address only.

Off by default (`metrics.enabled` in the paper config), and then nothing here runs: no import,
no thread, no work per bar. On, the daemon replaces `DaemonMetrics.snapshot` with a new
immutable snapshot of its figures after each live bar's commit (at most every half second in a
replay), and the HTTP server's thread reads the latest one when Prometheus scrapes: nothing is
computed or locked on the way of a bar but the commit latency's histogram observation. Metric
names and labels: docs/operations.md, "Metrics".
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

__all__ = ["DaemonMetrics", "MetricsSnapshot"]

# Commit latency buckets, seconds: an fsync takes a millisecond or two on a disk, more on a
# busy one; a commit over a second is worth an alert.
_COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """The daemon's figures after a commit (replaced whole, never changed in place)."""

    bars: Mapping[str, int] = field(default_factory=dict)
    refused: Mapping[str, int] = field(default_factory=dict)
    fills: Mapping[tuple[str, str], int] = field(default_factory=dict)
    journal_fills: int = 0
    exposure_usd: Mapping[str, float] = field(default_factory=dict)
    profit_factor: Mapping[str, float] = field(default_factory=dict)
    max_drawdown_pct: Mapping[str, float] = field(default_factory=dict)
    last_bar_ts: int | None = None
    feed_lag_s: float | None = None
    degraded: frozenset[str] = frozenset()
    symbols: tuple[str, ...] = ()


class _Figures(Collector):
    """Reads the latest snapshot at scrape time."""

    def __init__(self, owner: DaemonMetrics) -> None:
        self._owner = owner

    def collect(self) -> Iterator[Metric]:
        snap = self._owner.snapshot
        yield _labelled(
            CounterMetricFamily(
                "chloe_bars_processed", "Bars decided and stepped, per asset", labels=["symbol"]
            ),
            snap.bars,
        )
        yield _labelled(
            CounterMetricFamily(
                "chloe_bars_refused", "Bars refused by validation, per asset", labels=["symbol"]
            ),
            snap.refused,
        )
        fills = CounterMetricFamily(
            "chloe_fills", "Fills committed by this run, per asset and action (open, close)",
            labels=["symbol", "action"],
        )  # fmt: skip
        for (symbol, action), n in sorted(snap.fills.items()):
            fills.add_metric([symbol, action], n)
        yield fills
        yield GaugeMetricFamily(
            "chloe_journal_fills",
            "Lines in the trade journal (every run)",
            value=snap.journal_fills,
        )
        yield _labelled(
            GaugeMetricFamily(
                "chloe_open_exposure_usd", "Entry notional of the open position", labels=["symbol"]
            ),
            {s: snap.exposure_usd.get(s, 0.0) for s in snap.symbols},
        )
        yield _labelled(
            GaugeMetricFamily(
                "chloe_profit_factor",
                "Profit factor of closed trades (absent while undefined)",
                labels=["symbol"],
            ),
            snap.profit_factor,
        )
        yield _labelled(
            GaugeMetricFamily(
                "chloe_max_drawdown_pct", "Maximum drawdown of closed trades, %", labels=["symbol"]
            ),
            snap.max_drawdown_pct,
        )
        yield _labelled(
            GaugeMetricFamily(
                "chloe_feed_degraded", "1 while the asset's feed is degraded", labels=["symbol"]
            ),
            {s: 1.0 if s in snap.degraded else 0.0 for s in snap.symbols},
        )
        if snap.last_bar_ts is not None:
            yield GaugeMetricFamily(
                "chloe_last_bar_timestamp_seconds",
                "Open time of the last bar the daemon acted on (UTC epoch seconds)",
                value=snap.last_bar_ts / 1000.0,
            )
        yield self._owner.commit_histogram()
        counts = self._owner.notification_counts
        if counts is not None:
            sent, dropped = counts()
            yield CounterMetricFamily(
                "chloe_notifications_sent", "Notifications delivered (message x target)", sent
            )
            yield CounterMetricFamily(
                "chloe_notifications_dropped",
                "Notifications not delivered: queue full, retries spent or left at stop",
                dropped,
            )
        if snap.feed_lag_s is not None:
            yield GaugeMetricFamily(
                "chloe_feed_lag_seconds",
                "Live: seconds from the last bar's close to its commit",
                value=snap.feed_lag_s,
            )


def _shut(server: Any) -> None:
    """End the server's loop (returns once its poll noticed), then close its socket."""
    server.shutdown()
    server.server_close()


def _labelled(family: Any, values: Mapping[str, float]) -> Any:
    for symbol, value in sorted(values.items()):
        family.add_metric([symbol], value)
    return family


class DaemonMetrics:
    """The endpoint's registry, its server and the latest snapshot."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.snapshot = MetricsSnapshot()
        self.registry = CollectorRegistry(auto_describe=True)
        # Commit latencies counted per bucket here (a bisect and two adds per commit, no lock:
        # only the event loop writes; a scrape reads a copy).
        self._bucket_counts = [0] * (len(_COMMIT_BUCKETS) + 1)
        self._commit_sum = 0.0
        self._server: Any = None
        self.notification_counts: Callable[[], tuple[int, int]] | None = None
        """Deliveries sent and dropped so far, read at scrape time (notifications on)."""
        self.registry.register(_Figures(self))

    def start(self) -> None:
        """Serve /metrics on host:port in a daemon thread (OSError when the port is taken);
        port 0 takes a free port, which `port` then holds."""
        self._server, _ = start_http_server(self.port, addr=self.host, registry=self.registry)
        self.port = self._server.server_port

    def stop(self) -> None:
        """Stop serving without waiting for it: the server's loop polls for a stop only every
        half second, which the daemon's stop would otherwise wait out (0-0.5 s)."""
        server, self._server = self._server, None
        if server is not None:
            threading.Thread(target=_shut, args=(server,), name="metrics-stop", daemon=True).start()

    def observe_commit(self, seconds: float) -> None:
        """One journal commit's latency."""
        self._bucket_counts[bisect_left(_COMMIT_BUCKETS, seconds)] += 1
        self._commit_sum += seconds

    def commit_histogram(self) -> HistogramMetricFamily:
        """`chloe_journal_commit_seconds`: cumulative buckets, as Prometheus histograms are."""
        counts = list(self._bucket_counts)
        total, buckets = 0, []
        for bound, n in zip([*map(str, _COMMIT_BUCKETS), "+Inf"], counts, strict=True):
            total += n
            buckets.append((bound, total))
        return HistogramMetricFamily(
            "chloe_journal_commit_seconds",
            "Time to append and fsync one commit of fills to the journal",
            buckets=buckets,
            sum_value=self._commit_sum,
        )

    @staticmethod
    def lag_s(last_bar_ts: int | None, timeframe_ms: int) -> float | None:
        """Seconds from the close of bar `last_bar_ts` to now (wall clock)."""
        if last_bar_ts is None:
            return None
        return time.time() - (last_bar_ts + timeframe_ms) / 1000.0
