"""One registry per process (no global registry) with every finmon series: the worker's here, the parts'
in their own modules.

Adapters (the worker, the scraper) take a `Metrics` and count; the Elasticsearch sink and the alert service
take their parts, `Metrics.es` and `Metrics.alerts` (`es_series`, `alert_series`). `monitor.telemetry.endpoint`
serves the registry with /healthz.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from monitor.telemetry.alert_series import AlertMetrics
from monitor.telemetry.es_series import EsMetrics
from monitor.telemetry.scrape_series import ScrapeCollector

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The counters, histograms and gauges of one finmon process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.documents_in = Counter("finmon_worker_documents_in", "raw messages consumed by the worker", registry=r)
        self.documents_out = Counter(
            "finmon_worker_documents_out", "news items scored and indexed by the worker", registry=r
        )
        self.dead_letters = Counter(
            "finmon_worker_dead_letters", "messages sent to the dead-letter topic", ["stage"], registry=r
        )
        self.batch_size = Histogram(
            "finmon_worker_batch_size", "messages per worker batch", buckets=BATCH_BUCKETS, registry=r
        )
        self.scoring_seconds = Histogram(
            "finmon_scoring_seconds", "model time per batch (both heads)", buckets=LATENCY_BUCKETS, registry=r
        )
        self.consumer_lag = Gauge(
            "finmon_worker_consumer_lag", "messages waiting in this worker's partitions (last reading)", registry=r
        )
        self.last_batch = Gauge(
            "finmon_worker_last_batch_timestamp_seconds", "wall-clock time the last batch finished", registry=r
        )
        self.es = EsMetrics(r)
        self.alerts = AlertMetrics(r)
        self.up = Gauge("finmon_up", "1 while the process runs", ["component"], registry=r)
        self.healthy = Gauge(
            "finmon_healthy", "1 while /healthz answers 200 (read at scrape time)", ["component"], registry=r
        )

    def observe_scrape(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        """Expose a scraper's own counters (read at scrape time from `ScrapeStats.snapshot`)."""
        self.registry.register(ScrapeCollector(snapshot))
