"""Every Prometheus series finmon exposes, in one registry per process (no global registry).

Adapters (the worker, the scraper) take a `Metrics` and count; the Elasticsearch sink and the alert service
take their parts, `Metrics.es` and `Metrics.alerts` (their own series: `monitor.store.metrics`,
`alerts.metrics`). `monitor.app.metrics_server` serves the registry with /healthz.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from alerts.alert_metrics import AlertMetrics
from monitor.store.metrics import EsMetrics

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


class ScrapeCollector(Collector):
    """`finmon_scrape_*` series from the scraper's thread-safe stats."""

    def __init__(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        stats = self.snapshot()
        counts = stats.get("counts", {})
        events = CounterMetricFamily("finmon_scrape_items", "feed entries by what happened to them", labels=["kind"])
        for kind in ("entries", "emitted", "duplicates", "linked", "invalid_entries", "bodies"):
            events.add_metric([kind], float(counts.get(kind, 0)))
        yield events
        polls = CounterMetricFamily("finmon_scrape_polls", "feed polls", labels=["outcome"])
        failures = int(counts.get("failures", 0))
        polls.add_metric(["ok"], float(int(counts.get("polls", 0)) - failures))
        polls.add_metric(["failed"], float(failures))
        yield polls
        documents_out = CounterMetricFamily("finmon_scrape_documents_out", "news items sent to news.raw")
        documents_out.add_metric([], float(counts.get("emitted", 0)))
        yield documents_out
        yield from feed_families(stats.get("feeds", {}))


def feed_families(feeds: dict[str, dict[str, Any]]) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
    """Per feed: polls by outcome (a deadline overrun counts as failed) and the time of the last good poll."""
    polls = CounterMetricFamily("finmon_scrape_feed_polls", "polls of each feed by outcome", labels=["feed", "outcome"])
    last_ok = GaugeMetricFamily(
        "finmon_scrape_feed_last_success_timestamp_seconds",
        "wall-clock time of each feed's last successful poll (absent until one succeeds)",
        labels=["feed"],
    )
    for name, status in sorted(feeds.items()):
        failures = int(status.get("failures", 0))
        polls.add_metric([name, "ok"], float(int(status.get("polls", 0)) - failures))
        polls.add_metric([name, "failed"], float(failures))
        if status.get("last_ok"):
            last_ok.add_metric([name], datetime.fromisoformat(status["last_ok"]).timestamp())
    yield polls
    yield last_ok
