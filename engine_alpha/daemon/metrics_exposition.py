"""What a scrape of the metrics endpoint reads: the daemon's figures as Prometheus metric
families, served by prometheus-client's own handler. Imported by the endpoint's thread at the
first scrape (daemon/metrics.py), never on a bar's way.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Mapping
from http.server import ThreadingHTTPServer
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, MetricsHandler
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from engine_alpha.daemon.metrics_snapshot import MetricsSnapshot

__all__ = ["FigureSource", "metrics_server"]


class FigureSource(Protocol):
    """What a scrape reads (daemon/metrics.py's DaemonMetrics)."""

    @property
    def snapshot(self) -> MetricsSnapshot: ...

    @property
    def notification_counts(self) -> Callable[[], tuple[int, int]] | None: ...

    def commit_counts(self) -> tuple[tuple[float, ...], list[int], float]: ...


def metrics_server(listener: socket.socket, owner: FigureSource) -> ThreadingHTTPServer:
    """An HTTP server on the endpoint's listening socket whose GET /metrics (any path, as
    prometheus-client's) reads `owner`'s latest figures."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_Figures(owner))
    server = ThreadingHTTPServer(
        listener.getsockname()[:2], MetricsHandler.factory(registry), bind_and_activate=False
    )
    server.socket.close()  # made unbound; the endpoint's, bound at the daemon's start, serves
    server.socket = listener
    server.daemon_threads = True
    return server


def _commit_histogram(owner: FigureSource) -> HistogramMetricFamily:
    """`chloe_journal_commit_seconds`: cumulative buckets, as Prometheus histograms are."""
    bounds, counts, total_s = owner.commit_counts()
    total, buckets = 0, []
    for bound, n in zip([*map(str, bounds), "+Inf"], counts, strict=True):
        total += n
        buckets.append((bound, total))
    return HistogramMetricFamily(
        "chloe_journal_commit_seconds",
        "Time to append and fsync one commit of fills to the journal",
        buckets=buckets,
        sum_value=total_s,
    )


class _Figures(Collector):
    """Reads the latest snapshot at scrape time."""

    def __init__(self, owner: FigureSource) -> None:
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
        yield _commit_histogram(self._owner)
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


def _labelled(family: Any, values: Mapping[str, float]) -> Any:
    for symbol, value in sorted(values.items()):
        family.add_metric([symbol], value)
    return family
