"""The Elasticsearch news sink's Prometheus series, on the process's registry (`series.Metrics`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class EsMetrics:
    """Bulk requests, bulk failures by kind, retries and the redelivered documents skipped."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry or CollectorRegistry()
        self.es_bulk_requests = Counter("finmon_es_bulk_requests", "bulk requests sent to Elasticsearch", registry=r)
        self.es_bulk_errors = Counter(
            "finmon_es_bulk_errors",
            "bulk failures: documents rejected for good, retriable documents, unavailable cluster",
            ["kind"],
            registry=r,
        )
        self.es_retries = Counter("finmon_es_retries", "bulk retries after a backoff", registry=r)
        self.es_duplicates = Counter(
            "finmon_es_duplicates_skipped", "documents already indexed (redeliveries, replays)", registry=r
        )
